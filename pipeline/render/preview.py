"""A contact sheet of a rendered clip: a few frames of both views with the 2D keypoints drawn.

Visible keypoints are filled green dots, occluded ones orange rings (visibility 2 and 1 in
``keypoints2d.npz``); keypoints outside the image are left out. The person mask's outline is
traced in cyan, so a glance shows whether videos, masks and labels line up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import RenderError
from ..io_utils import atomic_path
from ..layout import VIEWS, ClipPaths

VISIBLE = (40, 220, 60)
OCCLUDED = (255, 150, 0)
OUTLINE = (0, 230, 255)
#: Sheet file extension -> Pillow format.
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def _outline(mask: np.ndarray) -> np.ndarray:
    m = mask > 127
    edge = np.zeros_like(m)
    edge[1:-1, 1:-1] = m[1:-1, 1:-1] & ~(m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:])
    return edge


def contact_sheet(paths: ClipPaths, frames: int = 4, cell_width: int = 540) -> "Image.Image":  # noqa: F821
    """The sheet as a PIL image: one row per chosen frame, columns front and side."""
    from PIL import Image, ImageDraw

    from .encode import probe_video, read_frames

    for p in (paths.video("front"), paths.video("side"), paths.keypoints2d):
        if not p.exists():
            raise RenderError(f"preview: {p} not found (render the clip first: odah render)")
    n = probe_video(paths.video("front"))["frames"]
    idx = sorted({int(round(i)) for i in np.linspace(0, n - 1, min(frames, n))})
    with np.load(paths.keypoints2d) as z:
        labels = {v: (z[v], z[f"{v}_visibility"]) for v in VIEWS}
        names = [str(x) for x in z["names"]]
    cells = {}
    for v in VIEWS:
        video = read_frames(paths.video(v), idx)
        masks = read_frames(paths.masks(v), idx, gray=True) if paths.masks(v).exists() else None
        h, w = video.shape[1:3]
        scale = cell_width / w
        for j, t in enumerate(idx):
            img = video[j].copy()
            if masks is not None:
                img[_outline(masks[j])] = OUTLINE
            im = Image.fromarray(img).resize((cell_width, int(round(h * scale))), Image.BILINEAR)
            draw = ImageDraw.Draw(im)
            xy, vis = labels[v]
            r = max(2.0, cell_width / 220)
            for k in range(len(names)):
                if vis[t, k] == 0:
                    continue
                x, y = (xy[t, k] + 0.5) * scale - 0.5  # pixel-centre convention -> resized image
                box = (x - r, y - r, x + r, y + r)
                if vis[t, k] == 2:
                    draw.ellipse(box, fill=VISIBLE, outline=(0, 0, 0))
                else:
                    draw.ellipse(box, outline=OCCLUDED, width=2)
            draw.text((6, 4), f"{v}  frame {t}", fill=(255, 255, 255))
            cells[(j, v)] = im
    ch = cells[(0, VIEWS[0])].height
    sheet = Image.new("RGB", (cell_width * len(VIEWS), ch * len(idx) + 18), (20, 20, 20))
    for (j, v), im in cells.items():
        sheet.paste(im, (VIEWS.index(v) * cell_width, j * ch))
    ImageDraw.Draw(sheet).text((6, ch * len(idx) + 3), f"{paths.dir.name}: {len(names)} keypoints; "
                               "green visible, orange ring occluded, cyan mask outline", fill=(220, 220, 220))
    return sheet


def sheet_format(path: str | Path) -> str:
    """The Pillow format a sheet is written in, from the file's extension (PNG or JPEG)."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise RenderError(f"{path}: a preview is written as .png, .jpg or .jpeg; give one of those extensions")
    return fmt


def write_preview(paths: ClipPaths, out: str | Path | None = None, frames: int = 4, cell_width: int = 540) -> Path:
    """Write the sheet to ``out`` (default ``<clip>/preview.png``) in the format its extension names."""
    out = Path(out) if out else paths.preview
    fmt = sheet_format(out)
    sheet = contact_sheet(paths, frames, cell_width)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return out
