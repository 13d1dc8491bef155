"""``odah render-check``: render one tiny EEVEE image in the render environment."""

from __future__ import annotations

import argparse

HELP = "render one tiny EEVEE image in the render environment and report engine, device and time"
DESCRIPTION = """\
Proves the render environment works: runs the render interpreter (.venv-render, render.python or
render.blender) through the same launcher clips use, renders one tiny EEVEE image and reports the
engine, the device EEVEE ran on (GPU, or Mesa's llvmpipe on a CPU-only machine) and the time.
The image and the log go to <output_root>/render_check/."""


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 64x48, got {text!r}") from None
    if not (8 <= w <= 8192 and 8 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"size {text}: each side must be in [8, 8192]")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=_size, default=(64, 48), metavar="WxH", help="image size")
    p.add_argument("--samples", type=int, default=1, help="EEVEE samples")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <output_root>/render_check)")


def run(args, cfg) -> int:
    from ..layout import Layout
    from ..render.check import run_render_check

    out = args.out or Layout(cfg.paths.output_root).render_check_dir
    report = run_render_check(cfg.render, out, width=args.size[0], height=args.size[1], samples=args.samples)
    print(report.summary())
    return 0
