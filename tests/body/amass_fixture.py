"""A synthetic AMASS-format walking sequence, written at test time (for the stand-in models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation


def walking_poses(model_type: str, T: int, fps: float, speed: float = 1.2, cadence_hz: float = 0.9):
    """(poses (T, P), trans (T, 3)) of a simple gait: hips and knees swing in antiphase.

    The body stands up in AMASS's Z-up world (root orientation +90 deg about X) and so faces and
    walks towards world -Y; its pelvis joint is kept at height ``PELVIS_HEIGHT`` above the floor.
    """
    P = {"smplx": 165, "smplh": 156}[model_type]
    t = np.arange(T) / fps
    poses = np.zeros((T, P))
    poses[:, :3] = Rotation.from_euler("x", 90, degrees=True).as_rotvec()
    ph = 2 * np.pi * cadence_hz * t
    # SMPL body joints (1-based in the body pose block): 1 left_hip, 2 right_hip, 4 left_knee, 5 right_knee;
    # flexion is a rotation about the model's X axis (negative brings the thigh forward, +Z).
    for j, sign in ((1, 1.0), (2, -1.0)):
        poses[:, 3 * j] = -0.35 * np.sin(ph) * sign
    for j, sign in ((4, 1.0), (5, -1.0)):
        poses[:, 3 * j] = 0.6 * np.clip(np.sin(ph + 1.2) * sign, 0, None)
    trans = np.zeros((T, 3))
    trans[:, 1] = -speed * t  # world -Y
    trans[:, 2] = PELVIS_HEIGHT
    return poses, trans


#: The stand-ins' pelvis joint sits 0.98 m above their soles (see standin_smpl.py).
PELVIS_HEIGHT = 0.98


def write_amass(path: str | Path, model_type: str = "smplh", T: int = 120, fps: float = 120.0,
                gender: str = "female", fps_key: str = "mocap_framerate", n_betas: int = 16, **overrides) -> Path:
    poses, trans = walking_poses(model_type, T, fps)
    data = dict(poses=poses, trans=trans, betas=np.zeros(n_betas), gender=None if gender is None else np.array(gender), dmpls=np.zeros((T, 8)))
    data[fps_key] = np.array(fps)
    if model_type == "smplx":
        data["surface_model_type"] = np.array("smplx")
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    np.savez(path, **data)
    return Path(path)
