"""Luigi tasks: thin shells around the core modules, one file per stage."""

import os
from pathlib import Path

# Must happen before the first `import luigi`: luigi reads its config (and warns about
# autoload_range when unset) at import time.
os.environ.setdefault("LUIGI_CONFIG_PATH", str(Path(__file__).with_name("luigi.cfg")))
