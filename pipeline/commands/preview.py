"""``odah preview CLIP``: a PNG (or JPEG) contact sheet of a rendered clip with its 2D keypoints."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config.flags import int_range

HELP = "write a PNG (or JPEG) contact sheet of a few frames of both views with the 2D keypoints drawn"
DESCRIPTION = """\
For people who would rather look than read: picks a few frames evenly over the clip, shows the
front and side views side by side with the labelled 2D keypoints (green: visible, orange ring:
occluded) and the person-mask outline (cyan). CLIP is a clip id under <output_root>/clips/ or a
clip folder. Writes <clip>/preview.png unless --out is given.

examples:  odah preview demo                        # output/clips/demo/preview.png
           odah preview output/demo/clips/s000-walking --frames 6 --out sheet.png"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", metavar="CLIP", help="clip id (under <output_root>/clips) or a clip folder")
    p.add_argument("--frames", type=int_range(1, 1000), default=4, help="how many frames (rows), 1 to 1000")
    p.add_argument("--width", type=int_range(64, 8192), default=540,
                   help="width of each view in the sheet, pixels, 64 to 8192")
    p.add_argument("--out", metavar="FILE.png", help="where to write the sheet, .png or .jpg/.jpeg (JPEG) "
                                                     "(default: <clip>/preview.png)")


def _is_clip_id(text: str, cfg) -> bool:
    """``text`` names a rendered clip under the output root."""
    from ..errors import OdahError
    from ..layout import Layout

    try:
        return Layout(cfg.paths.output_root).clip(text).keypoints2d.is_file()
    except OdahError:  # not a valid id
        return False


def run(args, cfg) -> int:
    from ..errors import RenderError
    from ..io_utils import check_output
    from ..layout import ClipPaths, Layout
    from ..render.preview import sheet_format, write_preview

    if args.out:
        sheet_format(args.out)
        check_output(args.out, RenderError, "the preview")

    folder = ClipPaths(Path(args.clip))
    if folder.dir.is_file() and not _is_clip_id(args.clip, cfg):
        raise RenderError(f"{folder.dir}: a file, not a clip folder or clip id; give a rendered clip's folder or "
                          f"the id of a clip under {Layout(cfg.paths.output_root).root / 'clips'}")
    if folder.keypoints2d.is_file():
        paths = folder
    elif folder.dir.is_dir() and not _is_clip_id(args.clip, cfg):
        raise RenderError(f"{folder.dir}: not a clip folder (no {folder.keypoints2d.name}); give a rendered clip's "
                          f"folder or the id of a clip under {Layout(cfg.paths.output_root).root / 'clips'}")
    else:
        paths = Layout(cfg.paths.output_root).clip(args.clip)
    out = write_preview(paths, args.out, frames=args.frames, cell_width=args.width)
    print(out)
    return 0
