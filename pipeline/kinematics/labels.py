"""Kinematic labels of a motion: markers, joint centres and body COMs per frame (torch FK)."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import KinematicsError
from ..log import get_logger, progress
from .fk import Skeleton


def compute_fk(model, motion, scales=None, device="cpu", batch: int = 4096, marker_offsets=None) -> dict:
    """FK labels of ``motion`` on ``model`` (an OsimModel): the arrays ``odah fk`` saves.

    Returns markers (T, M, 3), joint_centres (T, J, 3), body_coms (T, B, 3), keypoints (T, K, 3)
    (joint centres then body COMs), q (T, C), times (T,) and the names, in metres, ground frame.
    ``scales``: optional (B, 3) per-body scale factors; ``marker_offsets``: optional (M, 3) marker
    locations replacing the model's (unscaled body frames, metres; see :class:`Skeleton`).
    """
    log = get_logger("fk")
    names = model.coordinate_names
    present = [n for n in names if n in motion.names]
    if not present:
        raise KinematicsError(f"{motion._where()}: no column is a coordinate of model {model.name!r} "
                              f"(columns: {', '.join(motion.names[:10])}...)")
    # coordinates a CoordinateCouplerConstraint drives follow their independent one: not "missing"
    missing = [n for n in names if n not in motion.names and n not in model.dependent_coordinates]
    if missing:
        log.warning("%s: %d coordinates not in the motion take their default value: %s",
                    motion._where(), len(missing), ", ".join(missing))
    extra = [n for n in motion.names if n not in names]
    if extra:
        log.info("%s: columns ignored (not coordinates of the model): %s", motion._where(), ", ".join(extra))
    q = motion.reorder(names, fill={c.name: c.default_value for c in model.coordinates}).values
    if not np.isfinite(q).all():
        bad = [names[j] for j in np.flatnonzero(~np.isfinite(q).all(axis=0))]
        raise KinematicsError(f"{motion._where()}: NaN/inf values in coordinate(s) {', '.join(bad)}")
    sk = Skeleton(model, dtype=torch.float64, device=device)
    s = torch.as_tensor(scales, dtype=torch.float64, device=device) if scales is not None else None
    m = torch.as_tensor(marker_offsets, dtype=torch.float64, device=device) if marker_offsets is not None else None
    parts = {k: [] for k in ("markers", "joint_centres", "body_coms", "q")}
    starts = range(0, len(q), max(1, batch))
    with torch.inference_mode():
        for a in progress(starts, desc="fk", total=len(starts), unit="batch"):
            out = sk(torch.as_tensor(q[a:a + batch], dtype=torch.float64, device=device), scales=s, marker_offsets=m)
            for k in parts:
                parts[k].append(getattr(out, k).cpu().numpy())
    res = {k: np.concatenate(v) for k, v in parts.items()}
    res["keypoints"] = np.concatenate([res["joint_centres"], res["body_coms"]], axis=1)
    res.update(
        times=motion.times, coordinate_names=np.array(names), marker_names=np.array(model.marker_names),
        joint_names=np.array(model.joint_names), body_names=np.array(model.body_names),
        keypoint_names=np.array(sk.keypoint_names),
    )
    return res
