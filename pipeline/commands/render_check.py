"""``odah render-check``: render one tiny EEVEE image in the render environment."""

from __future__ import annotations

import argparse

from ..config.flags import int_key
from ..config.loader import check_value
from ..errors import ConfigError

HELP = "render one tiny EEVEE image in the render environment and report engine, device and time"
DESCRIPTION = """\
Proves the render environment works: runs the render interpreter (.venv-render, render.python or
render.blender) through the same launcher clips use, renders one tiny EEVEE image and reports the
engine, the device EEVEE ran on (GPU, or Mesa's llvmpipe on a CPU-only machine) and the time.
The image and the log go to <output_root>/render_check/.

examples:  odah render-check
           odah render-check --size 320x240 --samples 8 -s render.device=gpu"""


def _size(text: str) -> tuple[int, int]:
    """``WxH`` -> (width, height), each side checked as render.width / render.height."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 64x48, got {text!r}") from None
    try:
        return check_value("render.width", w), check_value("render.height", h)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=_size, default="64x48", metavar="WxH",
                   help="image size; each side in the range of config keys render.width and render.height")
    p.add_argument("--samples", type=int_key("render.samples"), default=1,
                   help="EEVEE samples, in the range of config key render.samples")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <output_root>/render_check)")


def run(args, cfg) -> int:
    from ..layout import Layout
    from ..render.check import run_render_check

    out = args.out or Layout(cfg.paths.output_root).render_check_dir
    report = run_render_check(cfg.render, out, width=args.size[0], height=args.size[1], samples=args.samples)
    print(report.summary())
    return 0
