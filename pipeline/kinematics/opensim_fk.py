"""Reference forward kinematics through the real ``opensim`` package (parity tests, benchmarks).

Slow (a Python loop over frames); it exists to judge :class:`pipeline.kinematics.fk.Skeleton`.
OpenSim's IK tool as a reference is :func:`pipeline.kinematics.opensim_tools.run_ik_tool`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KinematicsError


@dataclass
class OpenSimFK:
    """OpenSim's answers, ground frame, metres; names in OpenSim's set order."""

    coordinate_names: list[str]
    body_names: list[str]
    joint_names: list[str]
    marker_names: list[str]
    motion_types: dict[str, str]
    body_rotations: np.ndarray  # (N, B, 3, 3)
    body_origins: np.ndarray  # (N, B, 3)
    joint_centres: np.ndarray  # (N, J, 3)
    body_coms: np.ndarray  # (N, B, 3)
    markers: np.ndarray  # (N, M, 3)
    q: np.ndarray  # (N, C) the coordinate values OpenSim used (dependents from its couplers)


def _quiet():
    import opensim as osim

    osim.Logger.setLevelString("error")
    return osim


def scale_model(model, state, scales: dict[str, np.ndarray]):
    """``Model::scale`` with per-body factors ``{body: (3,)}`` (mass distribution preserved)."""
    osim = _quiet()
    ss = osim.ScaleSet()
    for body, f in scales.items():
        sc = osim.Scale()
        sc.setSegmentName(body)
        sc.setScaleFactors(osim.Vec3(*map(float, f)))
        sc.setApply(True)
        ss.cloneAndAppend(sc)
    model.scale(state, ss, True)


def opensim_fk(
    osim_path: str | Path,
    q: np.ndarray,
    scales: dict[str, np.ndarray] | None = None,
    marker_locations: dict[str, np.ndarray] | None = None,
) -> OpenSimFK:
    """Positions from OpenSim for coordinates ``q (N, C)`` (model order, rad / m).

    ``scales`` scales the model first (``Model::scale``); ``marker_locations`` replaces marker
    locations (in their parent frames) before scaling. Locked coordinates are unlocked so the
    given values apply; coupler-dependent coordinates get OpenSim's own coupler value.
    """
    osim = _quiet()
    path = Path(osim_path)
    if not path.is_file():
        raise KinematicsError(f"{path}: model file not found")
    model = osim.Model(str(path))
    state = model.initSystem()
    if marker_locations:
        ms = model.updMarkerSet()
        for name, loc in marker_locations.items():
            ms.get(name).set_location(osim.Vec3(*map(float, loc)))
        state = model.initSystem()
    if scales:
        scale_model(model, state, scales)
    state = model.initSystem()

    cs = model.getCoordinateSet()
    bs = model.getBodySet()
    js = model.getJointSet()
    mks = model.getMarkerSet()
    C, B, J, M = cs.getSize(), bs.getSize(), js.getSize(), mks.getSize()
    mt = {1: "rotational", 2: "translational", 3: "coupled"}
    coords = [cs.get(i) for i in range(C)]
    names = [c.getName() for c in coords]
    # couplers: dependent <- scale * f(independent)
    couplers = []
    cons = model.getConstraintSet()
    for i in range(cons.getSize()):
        c = osim.CoordinateCouplerConstraint.safeDownCast(cons.get(i))
        if c is None:
            continue
        ind = c.getIndependentCoordinateNames()
        sf = osim.PropertyHelper.getValueDouble(c.getPropertyByName("scale_factor"))
        couplers.append((names.index(c.getDependentCoordinateName()),
                         [names.index(ind.get(k)) for k in range(ind.getSize())], c.getFunction(), sf))
    q = np.atleast_2d(np.asarray(q, float))
    if q.shape[1] != C:
        raise KinematicsError(f"q: expected (N, {C}) values for {path}, got {q.shape}")
    out = dict(R=np.zeros((len(q), B, 3, 3)), o=np.zeros((len(q), B, 3)), jc=np.zeros((len(q), J, 3)),
               com=np.zeros((len(q), B, 3)), mk=np.zeros((len(q), M, 3)), q=np.zeros_like(q))
    for c in coords:
        c.setLocked(state, False)
    for n, qn in enumerate(q):
        qn = qn.copy()
        for dep, ind, fn, sf in couplers:  # couplers are listed after what they depend on
            v = osim.Vector(len(ind), 0.0)
            for k, i in enumerate(ind):
                v.set(k, float(qn[i]))
            qn[dep] = sf * fn.calcValue(v)
        for c, v in zip(coords, qn):
            c.setValue(state, float(v), False)
        model.realizePosition(state)
        out["q"][n] = qn
        for b in range(B):
            body = bs.get(b)
            X = body.getTransformInGround(state)
            out["R"][n, b] = _mat(X.R())
            out["o"][n, b] = _vec(X.p())
            out["com"][n, b] = _vec(body.findStationLocationInGround(state, body.getMassCenter()))
        for j in range(J):
            out["jc"][n, j] = _vec(js.get(j).getChildFrame().getPositionInGround(state))
        for m in range(M):
            out["mk"][n, m] = _vec(mks.get(m).getLocationInGround(state))
    return OpenSimFK(
        coordinate_names=names,
        body_names=[bs.get(i).getName() for i in range(B)],
        joint_names=[js.get(i).getName() for i in range(J)],
        marker_names=[mks.get(i).getName() for i in range(M)],
        motion_types={c.getName(): mt.get(c.getMotionType(), "undefined") for c in coords},
        body_rotations=out["R"], body_origins=out["o"], joint_centres=out["jc"],
        body_coms=out["com"], markers=out["mk"], q=out["q"],
    )


def _vec(v) -> np.ndarray:
    return np.array([v.get(0), v.get(1), v.get(2)])


def _mat(R) -> np.ndarray:
    return np.array([[R.get(i, j) for j in range(3)] for i in range(3)])
