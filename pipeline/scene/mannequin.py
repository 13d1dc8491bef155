"""A procedural capsule mannequin: a body-like :class:`MeshSequence` with real part labels.

One tapered capsule per :data:`BODY_PARTS` entry, posed by a small forward-kinematics tree and
animated by a simple walk (or standing still). ``limb_coord`` runs along each capsule the way the
body models define it (0 proximal, 1 distal; head and neck upwards). Used where a body model is
not needed: tests, ``odah scene`` without a mesh, benchmarks on any machine. It is not a body
model; real clips use Anny or SMPL-X meshes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..body.mesh import BODY_PARTS, MeshSequence


@dataclass(frozen=True)
class _Part:
    name: str
    joint: str  # the joint at the proximal end (its frame carries the part)
    start: tuple[float, float, float]  # proximal end, rest pose, OpenSim world metres
    end: tuple[float, float, float]  # distal end
    r0: float  # radius at the proximal end
    r1: float  # radius at the distal end
    depth: float = 1.0  # cross-section scale along X (front-back)
    tip: bool = False  # limb_coord spans the whole capsule (head, hands, feet, pelvis)


# Joints: name -> (parent, rest position). Person faces +X, right side is +Z, feet on y = 0.
_JOINTS: dict[str, tuple[str | None, tuple[float, float, float]]] = {
    "pelvis": (None, (0.0, 0.95, 0.0)),
    "hip_r": ("pelvis", (0.0, 0.92, 0.09)), "hip_l": ("pelvis", (0.0, 0.92, -0.09)),
    "knee_r": ("hip_r", (0.0, 0.50, 0.09)), "knee_l": ("hip_l", (0.0, 0.50, -0.09)),
    "ankle_r": ("knee_r", (0.0, 0.09, 0.09)), "ankle_l": ("knee_l", (0.0, 0.09, -0.09)),
    "toe_r": ("ankle_r", (0.19, 0.03, 0.10)), "toe_l": ("ankle_l", (0.19, 0.03, -0.10)),
    "neck": ("pelvis", (0.0, 1.47, 0.0)),
    "head": ("neck", (0.0, 1.58, 0.0)),
    "shoulder_r": ("neck", (0.0, 1.42, 0.20)), "shoulder_l": ("neck", (0.0, 1.42, -0.20)),
    "elbow_r": ("shoulder_r", (0.0, 1.13, 0.21)), "elbow_l": ("shoulder_l", (0.0, 1.13, -0.21)),
    "wrist_r": ("elbow_r", (0.0, 0.88, 0.22)), "wrist_l": ("elbow_l", (0.0, 0.88, -0.22)),
}

_PARTS: tuple[_Part, ...] = (
    _Part("head", "head", (0.0, 1.63, 0.0), (0.0, 1.70, 0.0), 0.085, 0.09, 1.1, tip=True),
    _Part("neck", "neck", (0.0, 1.47, 0.0), (0.0, 1.58, 0.0), 0.055, 0.05),
    _Part("torso", "neck", (0.0, 1.47, 0.0), (0.0, 1.00, 0.0), 0.17, 0.15, 0.65),
    _Part("pelvis", "pelvis", (0.0, 1.03, 0.0), (0.0, 0.86, 0.0), 0.16, 0.15, 0.7, tip=True),
    _Part("upperarm_l", "shoulder_l", (0.0, 1.42, -0.20), (0.0, 1.13, -0.21), 0.05, 0.04),
    _Part("forearm_l", "elbow_l", (0.0, 1.13, -0.21), (0.0, 0.88, -0.22), 0.04, 0.032),
    _Part("hand_l", "wrist_l", (0.0, 0.86, -0.22), (0.0, 0.74, -0.22), 0.03, 0.025, 0.6, tip=True),
    _Part("upperarm_r", "shoulder_r", (0.0, 1.42, 0.20), (0.0, 1.13, 0.21), 0.05, 0.04),
    _Part("forearm_r", "elbow_r", (0.0, 1.13, 0.21), (0.0, 0.88, 0.22), 0.04, 0.032),
    _Part("hand_r", "wrist_r", (0.0, 0.86, 0.22), (0.0, 0.74, 0.22), 0.03, 0.025, 0.6, tip=True),
    _Part("thigh_l", "hip_l", (0.0, 0.92, -0.09), (0.0, 0.50, -0.09), 0.075, 0.05),
    _Part("shank_l", "knee_l", (0.0, 0.50, -0.09), (0.0, 0.09, -0.09), 0.05, 0.035),
    _Part("foot_l", "ankle_l", (-0.03, 0.05, -0.095), (0.17, 0.04, -0.10), 0.04, 0.035, tip=True),
    _Part("thigh_r", "hip_r", (0.0, 0.92, 0.09), (0.0, 0.50, 0.09), 0.075, 0.05),
    _Part("shank_r", "knee_r", (0.0, 0.50, 0.09), (0.0, 0.09, 0.09), 0.05, 0.035),
    _Part("foot_r", "ankle_r", (-0.03, 0.05, 0.095), (0.17, 0.04, 0.10), 0.04, 0.035, tip=True),
)

#: Keypoint names of :func:`mannequin` (joint centres, OpenSim world).
KEYPOINT_NAMES: tuple[str, ...] = tuple(_JOINTS)


def _capsule(part: _Part, n_around: int, n_len: int, n_cap: int):
    """Rest vertices ``(N, 3)``, faces ``(F, 3)`` and limb_coord ``(N,)`` of one capsule."""
    a, b = np.asarray(part.start, float), np.asarray(part.end, float)
    axis = b - a
    length = float(np.linalg.norm(axis))
    axis /= length
    # An orthonormal frame (u: front-back-ish, w: sideways) around the axis.
    ref = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = ref - axis * (ref @ axis)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    rings = []  # (axial offset from the start, radius)
    for i in range(1, n_cap + 1):
        ang = i / (n_cap + 1) * math.pi / 2
        rings.append((-part.r0 * math.cos(ang), part.r0 * math.sin(ang)))
    for i in range(n_len + 1):
        s = i / n_len
        rings.append((s * length, part.r0 + (part.r1 - part.r0) * s))
    for i in range(n_cap, 0, -1):
        ang = i / (n_cap + 1) * math.pi / 2
        rings.append((length + part.r1 * math.cos(ang), part.r1 * math.sin(ang)))
    phi = np.linspace(0.0, 2 * math.pi, n_around, endpoint=False)
    verts = [a - axis * part.r0]
    along = [-part.r0]
    for off, r in rings:
        ring = a + axis * off + r * (part.depth * np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * w)
        verts.extend(ring)
        along.extend([off] * n_around)
    verts.append(b + axis * part.r1)
    along.append(length + part.r1)
    verts = np.asarray(verts)
    along = np.asarray(along)
    if part.tip:
        coord = (along + part.r0) / (length + part.r0 + part.r1)
    else:
        coord = np.clip(along / length, 0.0, 1.0)
    faces = []
    n_rings = len(rings)
    for k in range(n_around):  # proximal pole fan
        faces.append((0, 1 + (k + 1) % n_around, 1 + k))
    for r in range(n_rings - 1):
        base0, base1 = 1 + r * n_around, 1 + (r + 1) * n_around
        for k in range(n_around):
            k1 = (k + 1) % n_around
            faces.append((base0 + k, base0 + k1, base1 + k1))
            faces.append((base0 + k, base1 + k1, base1 + k))
    last = 1 + (n_rings - 1) * n_around
    pole = len(verts) - 1
    for k in range(n_around):
        faces.append((pole, last + k, last + (k + 1) % n_around))
    return verts, np.asarray(faces), coord


def _rot(axis: str, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(T, 3, 3)`` about a world axis."""
    c, s = np.cos(angle), np.sin(angle)
    o, z = np.ones_like(angle), np.zeros_like(angle)
    if axis == "z":
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    elif axis == "y":
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    return np.moveaxis(np.asarray(m), (0, 1), (-2, -1))


def _joint_angles(t: np.ndarray, motion: str) -> dict[str, np.ndarray]:
    """Flexion angles (radians, about the mediolateral axis) per joint over time ``t`` seconds."""
    zero = np.zeros_like(t)
    if motion == "stand":
        return {"shoulder_r": zero + 0.15, "shoulder_l": zero - 0.1, "elbow_r": zero + 0.3,
                "elbow_l": zero + 0.2, "knee_r": zero - 0.05, "knee_l": zero - 0.05}
    ph = 2 * math.pi * t / 1.1
    return {
        "hip_r": 0.40 * np.sin(ph), "hip_l": -0.40 * np.sin(ph),
        "knee_r": -(0.15 + 0.45 * np.clip(np.sin(ph - 1.2), 0, None)),
        "knee_l": -(0.15 + 0.45 * np.clip(np.sin(ph - 1.2 + math.pi), 0, None)),
        "ankle_r": 0.15 * np.sin(ph - 0.5), "ankle_l": 0.15 * np.sin(ph - 0.5 + math.pi),
        "shoulder_r": -0.35 * np.sin(ph), "shoulder_l": 0.35 * np.sin(ph),
        "elbow_r": 0.35 + 0.15 * np.sin(ph), "elbow_l": 0.35 - 0.15 * np.sin(ph),
    }


def mannequin(frames: int = 8, fps: float = 60.0, motion: str = "walk", speed: float = 1.2,
              heading_deg: float = 0.0, start=(0.0, 0.0), n_around: int = 16, n_len: int = 8,
              n_cap: int = 3, name: str = "mannequin") -> tuple[MeshSequence, np.ndarray, tuple[str, ...]]:
    """Build an animated mannequin.

    Args:
        frames, fps: length and rate of the motion.
        motion: "walk" (forward along the heading at ``speed`` m/s) or "stand".
        heading_deg: direction the person faces and walks, degrees about +Y from +X.
        start: (x, z) of the pelvis at frame 0, metres.
        n_around, n_len, n_cap: capsule resolution (vertices ~ 16 parts x n_around x (n_len + 2 n_cap)).

    Returns:
        (mesh, keypoints ``(T, K, 3)`` OpenSim world metres, keypoint names).
    """
    if motion not in ("walk", "stand"):
        raise ValueError(f"motion {motion!r}: expected 'walk' or 'stand'")
    t = np.arange(frames) / fps
    angles = _joint_angles(t, motion)
    heading = _rot("y", np.full_like(t, math.radians(heading_deg)))
    ang = {j: angles.get(j, np.zeros_like(t)) for j in _JOINTS}
    # Forward kinematics: world rotation and position of each joint over time.
    rot: dict[str, np.ndarray] = {}
    pos: dict[str, np.ndarray] = {}
    fwd = speed * t if motion == "walk" else np.zeros_like(t)
    bob = 0.015 * np.sin(4 * math.pi * t / 1.1) if motion == "walk" else np.zeros_like(t)
    for j, (parent, rest) in _JOINTS.items():
        local = _rot("z", ang[j])
        if parent is None:
            rot[j] = heading @ local
            root = np.stack([fwd, bob, np.zeros_like(t)], axis=-1)
            pos[j] = np.einsum("tij,tj->ti", heading, root) + rest
            pos[j][:, 0] += start[0]
            pos[j][:, 2] += start[1]
        else:
            offset = np.asarray(rest) - np.asarray(_JOINTS[parent][1])
            pos[j] = pos[parent] + np.einsum("tij,j->ti", rot[parent], offset)
            rot[j] = rot[parent] @ local
    verts, faces, labels, coords = [], [], [], []
    n0 = 0
    for part in _PARTS:
        v, f, c = _capsule(part, n_around, n_len, n_cap)
        rel = v - np.asarray(_JOINTS[part.joint][1])
        world = np.einsum("tij,vj->tvi", rot[part.joint], rel) + pos[part.joint][:, None, :]
        verts.append(world)
        faces.append(f + n0)
        labels.append(np.full(len(v), BODY_PARTS.index(part.name), np.int16))
        coords.append(c)
        n0 += len(v)
    verts = np.concatenate(verts, axis=1)
    kp = np.stack([pos[j] for j in KEYPOINT_NAMES], axis=1)
    # Keep the lowest point on the floor (y = 0) in every frame.
    lift = verts[..., 1].min(axis=1)
    verts[..., 1] -= lift[:, None]
    kp[..., 1] -= lift[:, None]
    mesh = MeshSequence(
        vertices=verts.astype(np.float32), faces=np.concatenate(faces).astype(np.int32),
        fps=float(fps), part_labels=np.concatenate(labels), limb_coord=np.concatenate(coords).astype(np.float32),
        topology="mannequin", name=name,
    ).validate()
    return mesh, kp.astype(np.float32), KEYPOINT_NAMES
