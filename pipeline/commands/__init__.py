"""One module per ``odah`` subcommand (see :mod:`pipeline.cli`)."""
