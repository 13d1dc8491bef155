"""Small geometric facts about a body mesh sequence: facing direction, extent over time."""

from __future__ import annotations

import math

import numpy as np

from ..body.mesh import BODY_PARTS, MeshSequence
from ..errors import SceneError

UP = np.array([0.0, 1.0, 0.0])


def _part_mask(mesh: MeshSequence, *names: str) -> np.ndarray:
    idx = [BODY_PARTS.index(n) for n in names]
    return np.isin(np.asarray(mesh.part_labels), idx)


def facing(mesh: MeshSequence) -> np.ndarray:
    """Horizontal unit facing direction per frame ``(T, 3)`` (OpenSim world).

    From the left-to-right thigh (falling back to upper arm) centroids: forward = up x right.
    """
    v = np.asarray(mesh.vertices, float)
    for left, right in (("thigh_l", "thigh_r"), ("upperarm_l", "upperarm_r"), ("foot_l", "foot_r")):
        ml, mr = _part_mask(mesh, left), _part_mask(mesh, right)
        if ml.any() and mr.any():
            lr = v[:, mr].mean(axis=1) - v[:, ml].mean(axis=1)
            lr[:, 1] = 0.0
            fwd = np.cross(UP, lr)
            n = np.linalg.norm(fwd, axis=1, keepdims=True)
            if (n > 1e-6).all():
                return fwd / n
    raise SceneError(f"mesh sequence '{mesh.name}': cannot tell which way the body faces "
                     "(no left/right thigh, upper-arm or foot vertices in part_labels)")


def heading(mesh: MeshSequence) -> float:
    """Mean facing direction over the motion, radians about +Y from +X (OpenSim world)."""
    f = facing(mesh)
    # Angle about +Y from +X: direction (cos a, 0, -sin a).
    ang = np.arctan2(-f[:, 2], f[:, 0])
    return float(math.atan2(np.sin(ang).mean(), np.cos(ang).mean()))


def direction(angle: float) -> np.ndarray:
    """Horizontal unit vector at ``angle`` radians about +Y from +X."""
    return np.array([math.cos(angle), 0.0, -math.sin(angle)])


def bounds(mesh: MeshSequence) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds ``(3,), (3,)`` of every vertex over every frame, metres."""
    v = np.asarray(mesh.vertices)
    return v.min(axis=(0, 1)).astype(float), v.max(axis=(0, 1)).astype(float)


def enclosing_points(mesh: MeshSequence, bins: int = 4) -> np.ndarray:
    """A few points ``(N, 3)`` whose convex hull contains every vertex of every frame.

    Vertices are grouped by body part and ``limb_coord`` bin; each group's per-frame axis-aligned
    box contributes its 8 corners; the convex hull of all corners keeps only its vertices. A
    camera frustum is convex, so when these points are inside it, so is the whole motion.
    """
    v = np.asarray(mesh.vertices, np.float32)
    labels = np.asarray(mesh.part_labels).astype(np.int64)
    b = np.clip((np.asarray(mesh.limb_coord) * bins).astype(np.int64), 0, bins - 1)
    group = labels * bins + b
    corners = []
    sel = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1]])
    for g in np.unique(group):
        vg = v[:, group == g]
        box = np.stack([vg.min(axis=1), vg.max(axis=1)], axis=1)  # (T, 2, 3)
        corners.append(box[:, sel, [0, 1, 2]])  # (T, 8, 3)
    pts = np.concatenate(corners, axis=1).reshape(-1, 3).astype(float)
    try:
        from scipy.spatial import ConvexHull

        return pts[ConvexHull(pts).vertices]
    except Exception:  # noqa: BLE001 - scipy missing or degenerate (flat) input: keep every corner
        return pts
