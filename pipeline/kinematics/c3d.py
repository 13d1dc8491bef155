"""C3D marker trajectories through ezc3d, as :class:`~pipeline.kinematics.trc.MarkerData` (metres).

Points that C3D exporters list as model outputs (POINT:ANGLES, FORCES, MOMENTS, POWERS, SCALARS,
e.g. Vicon Plug-in Gait angles) are not markers and are left out. A sample whose residual is
negative (the C3D way of saying "not seen") is NaN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import MotionIOError
from ..log import get_logger
from .trc import MarkerData, check_plausible_units, unit_scale, zero_gaps_to_nan

log = get_logger("kinematics.c3d")

_NON_MARKER_GROUPS = ("ANGLES", "FORCES", "MOMENTS", "POWERS", "SCALARS", "REACTIONS")


def _param(group: dict, name: str, default=None):
    p = group.get(name)
    if p is None:
        return default
    return p.get("value", default)


def read_c3d(path: str | Path, marker_map: Mapping[str, str] | None = None, *, units: str | None = None,
             only_mapped: bool = False, check_units: bool = True) -> MarkerData:
    """Read the marker points of a C3D file.

    marker_map: {label in file: our name}; labels not in it keep their (stripped) name, or are
        dropped when ``only_mapped``. A map entry whose label is absent from the file is an error.
    units: force the length unit; default POINT:UNITS (C3D's default 'mm' when absent).
    Returns positions (T, M, 3) metres in the lab frame of the file, NaN where unseen.
    """
    path = Path(path)
    try:
        import ezc3d
    except ImportError as exc:  # pragma: no cover - ezc3d is a project dependency
        raise MotionIOError("reading C3D files needs the 'ezc3d' package (pip install ezc3d)") from exc
    if not path.is_file():
        raise MotionIOError(f"{path}: C3D file not found")
    try:
        c = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises plain RuntimeError/IOError on corrupt files
        raise MotionIOError(f"{path}: not a readable C3D file: {exc}") from exc

    point = c["parameters"].get("POINT", {})
    labels: list[str] = []
    for key in ["LABELS"] + [f"LABELS{i}" for i in range(2, 100)]:
        vals = _param(point, key)
        if vals is None:
            if key != "LABELS":
                break
            continue
        labels.extend(str(v).strip() for v in vals)
    pts = np.asarray(c["data"]["points"], dtype=np.float64)  # (4, N, T)
    n = pts.shape[1]
    if len(labels) < n:
        raise MotionIOError(f"{path}: POINT:LABELS has {len(labels)} labels for {n} points")
    labels = labels[:n]

    rate = _param(point, "RATE")
    rate = float(np.atleast_1d(rate)[0]) if rate is not None and len(np.atleast_1d(rate)) else 0.0
    if not rate > 0:
        rate = float(c["header"]["points"].get("frame_rate", 0.0))
    if not rate > 0:
        raise MotionIOError(f"{path}: POINT:RATE missing or not positive")

    file_units = _param(point, "UNITS")
    file_units = str(file_units[0]).strip() if file_units else ""
    if units is None:
        if not file_units:
            log.warning("%s: no POINT:UNITS; assuming mm (the C3D default)", path)
            file_units = "mm"
        used = file_units
    else:
        used = units
    scale = unit_scale(used, f"{path}: POINT:UNITS" if units is None else "units argument")

    non_markers = set()
    for group in _NON_MARKER_GROUPS:
        vals = _param(point, group)
        if vals:
            non_markers.update(str(v).strip() for v in np.atleast_1d(vals))
    keep = [i for i, lab in enumerate(labels) if lab and lab not in non_markers]

    marker_map = dict(marker_map or {})
    absent = [k for k in marker_map if k not in labels]
    if absent:
        raise MotionIOError(f"{path}: marker map names labels not in the file: {', '.join(absent)}"
                            f" (file has: {', '.join(labels[i] for i in keep)})")
    if only_mapped:
        keep = [i for i in keep if labels[i] in marker_map]
    names = [marker_map.get(labels[i], labels[i]) for i in keep]

    xyz = pts[:3, keep, :].transpose(2, 1, 0) * scale  # (T, M, 3)
    res = c["data"].get("meta_points", {}).get("residuals")
    if res is not None and np.size(res):
        res = np.asarray(res)[0][keep].T  # (T, M)
        xyz[res < 0] = np.nan
    xyz[~np.isfinite(xyz).all(axis=2)] = np.nan
    zero_gaps = zero_gaps_to_nan(xyz, names, path)

    first = int(c["header"]["points"].get("first_frame", 0))
    t = xyz.shape[0]
    frames = first + 1 + np.arange(t)
    out = MarkerData(names=names, positions=xyz, rate=rate, times=(first + np.arange(t)) / rate,
                     frame_numbers=frames, source=path, meta={"units": used, "zero_gaps": zero_gaps})
    if check_units:
        check_plausible_units(out, used)
    return out
