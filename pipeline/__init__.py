"""odah: motion capture to labelled synthetic two-view videos for markerless biomechanics."""

from pathlib import Path

__version__ = "0.1.0"

#: The checkout (or install) root: the folder that holds ``pipeline/``, ``blender_assets/`` etc.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
