"""Test helpers for render tests: a tiny reference rasteriser and tiny configs."""

from __future__ import annotations

import numpy as np


def silhouette(cam, verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: pixel centres covered by a triangle (our pixel convention: centres at integers)."""
    uv, z = cam.project(np.asarray(verts, float))
    mask = np.zeros((cam.height, cam.width), bool)
    for f in np.asarray(faces):
        if (z[f] <= 0).any():
            continue
        a, b, c = uv[f]
        x0, y0 = np.floor(np.minimum(np.minimum(a, b), c)).astype(int)
        x1, y1 = np.ceil(np.maximum(np.maximum(a, b), c)).astype(int)
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, cam.width - 1), min(y1, cam.height - 1)
        if x0 > x1 or y0 > y1:
            continue
        ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1]
        p = np.stack([xs, ys], -1).astype(float)
        v0, v1, v2 = b - a, c - a, p - a
        den = v0[0] * v1[1] - v1[0] * v0[1]
        if abs(den) < 1e-12:
            continue
        w1 = (v2[..., 0] * v1[1] - v1[0] * v2[..., 1]) / den
        w2 = (v0[0] * v2[..., 1] - v2[..., 0] * v0[1]) / den
        inside = (w1 >= 0) & (w2 >= 0) & (w1 + w2 <= 1)
        mask[y0:y1 + 1, x0:x1 + 1] |= inside
    return mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


TINY = ["render.width=128", "render.height=96", "render.samples=1", "render.fps=60", "render.preset=veryfast"]


def tiny_config(*extra: str):
    """The default config at a tiny render size (1 sample, 60 fps), plus overrides."""
    from pipeline.config import load_config

    return load_config(None, [*TINY, *extra])
