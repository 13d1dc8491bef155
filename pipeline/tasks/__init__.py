"""Luigi tasks: thin shells around the core modules, one file per stage."""
