"""Virtual markers: a body mesh sequence + a marker layout -> marker trajectories (-> TRC).

A marker is its layout vertex pushed out along that vertex's per-frame surface normal by the
layout's offset (marker radius + skin), so markers ride on the skin as real ones do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import MarkerLayoutError
from .layouts import SAME_TOPOLOGY, Layout
from .mesh import MeshSequence


def _incident_faces(faces: np.ndarray, vertex_ids: np.ndarray) -> np.ndarray:
    """``(M, K)`` indices of the faces around each vertex, padded with -1."""
    lists = []
    for v in vertex_ids:
        lists.append(np.flatnonzero((faces == v).any(1)))
    k = max((len(x) for x in lists), default=0)
    out = np.full((len(vertex_ids), max(k, 1)), -1, np.int64)
    for i, x in enumerate(lists):
        out[i, : len(x)] = x
    return out


def marker_normals(vertices: np.ndarray, faces: np.ndarray, vertex_ids: np.ndarray) -> np.ndarray:
    """Area-weighted unit normals ``(T, M, 3)`` at ``vertex_ids`` of ``vertices (T, V, 3)``.

    Only the faces around the marker vertices are evaluated (cheap for long sequences).
    """
    faces = np.asarray(faces, np.int64)
    inc = _incident_faces(faces, vertex_ids)  # (M, K)
    if (inc[:, 0] < 0).any():
        bad = int(vertex_ids[np.argmax(inc[:, 0] < 0)])
        raise MarkerLayoutError(f"vertex {bad} of the layout is not part of any face of the mesh")
    f = faces[np.where(inc < 0, 0, inc)]  # (M, K, 3)
    v = np.asarray(vertices)  # index first, then cast: no float64 copy of the whole sequence
    v0, v1, v2 = (v[:, f[..., k]].astype(np.float64) for k in range(3))  # (T, M, K, 3)
    fn = np.cross(v1 - v0, v2 - v0)
    fn = np.where((inc < 0)[None, :, :, None], 0.0, fn)
    n = fn.sum(2)
    return n / np.clip(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12, None)


def virtual_markers(mesh: MeshSequence, layout: Layout, noise_std: float = 0.0,
                    rng: np.random.Generator | None = None, normal_offset: float | None = None):
    """Marker trajectories on a mesh sequence.

    Args:
        mesh: OpenSim-axes mesh sequence (metres).
        layout: the topology's marker layout.
        noise_std: optional Gaussian noise per coordinate (metres); needs ``rng``.
        rng: explicit numpy Generator for the noise.
        normal_offset: override every marker's offset along the normal (metres).

    Returns:
        :class:`~pipeline.kinematics.trc.MarkerData`: ``(T, M, 3)`` metres, OpenSim axes, at
        ``mesh.fps``.
    """
    from ..kinematics.trc import MarkerData

    topo = SAME_TOPOLOGY.get(mesh.topology, mesh.topology)
    if SAME_TOPOLOGY.get(layout.topology, layout.topology) != topo:
        raise MarkerLayoutError(f"{layout.path}: layout for topology {layout.topology!r} used on a "
                                f"{mesh.topology!r} mesh ({mesh.name})")
    V = mesh.num_vertices
    if layout.vertex_ids.max() >= V:
        bad = layout.names[int(np.argmax(layout.vertex_ids))]
        raise MarkerLayoutError(f"{layout.path}: marker '{bad}' field 'vertex' is beyond the mesh's {V} vertices")
    ids = layout.vertex_ids
    offsets = layout.offsets if normal_offset is None else np.full(len(ids), float(normal_offset))
    pos = np.asarray(mesh.vertices)[:, ids].astype(np.float64)
    if np.any(offsets != 0):
        pos = pos + offsets[None, :, None] * marker_normals(mesh.vertices, mesh.faces, ids)
    if noise_std and noise_std > 0:
        if rng is None:
            raise MarkerLayoutError("virtual_markers: marker noise needs an explicit numpy Generator (rng)")
        pos = pos + rng.normal(0.0, noise_std, size=pos.shape)
    return MarkerData(names=list(layout.names), positions=pos, rate=float(mesh.fps),
                      source=Path(mesh.name) if mesh.name else None,
                      meta={"layout": str(layout.path), "topology": mesh.topology})
