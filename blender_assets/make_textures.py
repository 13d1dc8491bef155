"""Generate the project's print textures (blender_assets/textures/*.png).

Each image is a small seamless greyscale tile: the renderer mixes two sampled garment colours by
its value, so one file gives endless colourways. Made by the odah project, Apache-2.0.
Deterministic: re-running rewrites identical files.

    python blender_assets/make_textures.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 128
OUT = Path(__file__).resolve().parent / "textures"


def _grid() -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE  # [0, 1) with wrap-around
    return x, y


def _wrapped_dist(x, y, cx, cy) -> np.ndarray:
    dx = np.abs(x - cx)
    dy = np.abs(y - cy)
    dx = np.minimum(dx, 1 - dx)
    dy = np.minimum(dy, 1 - dy)
    return np.hypot(dx, dy)


def dots() -> np.ndarray:
    x, y = _grid()
    d = np.full_like(x, 1.0)
    for cx, cy in [(0.25, 0.25), (0.75, 0.75)]:
        d = np.minimum(d, _wrapped_dist(x, y, cx, cy))
    return (d < 0.12).astype(float)


def zigzag() -> np.ndarray:
    x, y = _grid()
    tri = np.abs(((x * 4) % 1.0) - 0.5) * 2  # 4 teeth across
    band = (y * 4 + tri * 0.5) % 1.0
    return (band < 0.35).astype(float)


def leaves(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, y = _grid()
    img = np.zeros_like(x)
    for _ in range(14):
        cx, cy = rng.uniform(0, 1, 2)
        a, b = rng.uniform(0.05, 0.11), rng.uniform(0.02, 0.04)
        th = rng.uniform(0, np.pi)
        dx = (x - cx + 0.5) % 1.0 - 0.5
        dy = (y - cy + 0.5) % 1.0 - 0.5
        u = dx * np.cos(th) + dy * np.sin(th)
        v = -dx * np.sin(th) + dy * np.cos(th)
        img = np.maximum(img, ((u / a) ** 2 + (v / b) ** 2 < 1.0) * rng.uniform(0.6, 1.0))
    return img


def triangles() -> np.ndarray:
    x, y = _grid()
    fx, fy = (x * 4) % 1.0, (y * 4) % 1.0
    return (fy < 1.0 - np.abs(fx - 0.5) * 2).astype(float) * (((np.floor(y * 4) % 2) == 0) * 0.5 + 0.5)


def scribble(seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, y = _grid()
    acc = np.zeros_like(x)
    for k in range(1, 5):  # sum of periodic waves -> contour lines
        fx, fy = rng.integers(1, 4, 2)
        ph = rng.uniform(0, 2 * np.pi)
        acc += np.sin(2 * np.pi * (fx * x + fy * y) + ph) / k
    return (np.abs(np.sin(acc * 3.0)) < 0.3).astype(float)


PATTERNS = {"dots": dots, "zigzag": zigzag, "leaves": leaves, "triangles": triangles, "scribble": scribble}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, fn in PATTERNS.items():
        a = np.clip(fn(), 0.0, 1.0)
        Image.fromarray((a * 255).round().astype(np.uint8), mode="L").save(OUT / f"{name}.png", optimize=True)
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
