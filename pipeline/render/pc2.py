"""Point cache 2 (``.pc2``) files: per-frame vertex positions, read by Blender's MESH_CACHE modifier.

Layout (little endian): ``char[12] "POINTCACHE2\\0"``, ``int32 version (1)``, ``int32 vertices``,
``float32 start frame``, ``float32 sample rate``, ``int32 samples``, then ``samples x vertices x 3``
float32. Blender maps scene frame ``f`` to sample ``(f - modifier.frame_start - start) / rate``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import RenderError
from ..io_utils import atomic_path

_HEADER = struct.Struct("<12siiffi")
_MAGIC = b"POINTCACHE2\0"


def write_pc2(path: str | Path, frames: np.ndarray, start: float = 0.0, rate: float = 1.0) -> Path:
    """Write ``frames`` ``(T, V, 3)`` (metres, the axes the mesh object uses) atomically."""
    frames = np.ascontiguousarray(frames, dtype="<f4")
    if frames.ndim != 3 or frames.shape[2] != 3:
        raise RenderError(f"{path}: point cache frames must be (T, V, 3), got {frames.shape}")
    if not np.isfinite(frames).all():
        raise RenderError(f"{path}: point cache frames contain NaN or inf")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(_HEADER.pack(_MAGIC, 1, frames.shape[1], float(start), float(rate), frames.shape[0]))
            fh.write(frames.tobytes())
    return Path(path)


def read_pc2(path: str | Path) -> np.ndarray:
    """Read a ``.pc2`` file -> ``(T, V, 3)`` float32."""
    data = Path(path).read_bytes()
    magic, _version, nverts, _start, _rate, nframes = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise RenderError(f"{path}: not a POINTCACHE2 file")
    expected = _HEADER.size + nframes * nverts * 12
    if len(data) != expected:
        raise RenderError(f"{path}: {len(data)} bytes, expected {expected} for {nframes} x {nverts} vertices")
    return np.frombuffer(data, dtype="<f4", offset=_HEADER.size).reshape(nframes, nverts, 3)
