"""Test helpers: a small .osim with every supported joint type and function, written at test time.

The model is a chain ground -> b1 (Free) -> b2 (Pin) -> b3 (Universal) -> b4 (Ball) -> b5 (Gimbal)
-> b6 (Planar) -> b7 (Slider) -> b8 (Weld) -> b9 (Custom: splines, piecewise linear,
polynomial, multiplier; a coupler constraint), and a branch b1 -> b10 (Custom with a marker on an
offset frame of an offset frame). Offsets and orientations are random but seeded.
"""

from __future__ import annotations

import numpy as np


def _v(a) -> str:
    return " ".join(f"{float(x):.17g}" for x in a)


def _offset(name: str, parent: str, rng, zero: bool = False) -> str:
    t = np.zeros(3) if zero else rng.uniform(-0.2, 0.2, 3)
    o = np.zeros(3) if zero else rng.uniform(-0.6, 0.6, 3)
    return (f"<PhysicalOffsetFrame name=\"{name}\"><socket_parent>{parent}</socket_parent>"
            f"<translation>{_v(t)}</translation><orientation>{_v(o)}</orientation></PhysicalOffsetFrame>")


def _coord(name: str, lo=-1.2, hi=1.2, default=0.0, locked=False, clamped=False) -> str:
    return (f"<Coordinate name=\"{name}\"><default_value>{default}</default_value><range>{lo} {hi}</range>"
            f"<clamped>{str(clamped).lower()}</clamped><locked>{str(locked).lower()}</locked></Coordinate>")


def _joint(tag: str, name: str, parent: str, child: str, coords: list[str], rng, extra: str = "") -> str:
    pf, cf = f"{parent}_offset_{name}", f"{child}_offset_{name}"
    ppath = "/ground" if parent == "ground" else f"/bodyset/{parent}"
    return (f"<{tag} name=\"{name}\"><socket_parent_frame>{pf}</socket_parent_frame>"
            f"<socket_child_frame>{cf}</socket_child_frame><coordinates>{''.join(coords)}</coordinates>"
            f"<frames>{_offset(pf, ppath, rng)}{_offset(cf, '/bodyset/' + child, rng)}</frames>{extra}</{tag}>")


def _spatial_transform(*axes) -> str:
    """A SpatialTransform of six (coordinate, axis, function) TransformAxes: rotation1-3, translation1-3."""
    names = ("rotation1", "rotation2", "rotation3", "translation1", "translation2", "translation3")
    return "<SpatialTransform>" + "".join(
        f"<TransformAxis name=\"{name}\"><coordinates>{coord}</coordinates><axis>{_v(axis)}</axis>"
        f"{function}</TransformAxis>" for name, (coord, axis, function) in zip(names, axes, strict=True)
    ) + "</SpatialTransform>"


SPLINE = ("<SimmSpline name=\"function\"><x>-2.0944 -1.22173 -0.523599 -0.349066 -0.174533 0.159149 2.0944</x>"
          "<y>-0.0226 -0.0082 0.0010 0.0024 0.0034 0.004736 0.004</y></SimmSpline>")
SPLINE3 = "<SimmSpline name=\"function\"><x>-1 0 1.5</x><y>0.1 -0.2 0.3</y></SimmSpline>"
PWL = "<PiecewiseLinearFunction name=\"function\"><x>-1 -0.2 0.4 1</x><y>0.02 -0.01 0.03 0.05</y></PiecewiseLinearFunction>"
POLY = "<PolynomialFunction name=\"function\"><coefficients>0.3 -0.2 0.5 0.01</coefficients></PolynomialFunction>"
MULT = ("<MultiplierFunction name=\"function\"><function><SimmSpline><x>-1 0 0.5 1</x><y>0.01 0.02 0.015 0.03</y>"
        "</SimmSpline></function><scale>1.3</scale></MultiplierFunction>")
LIN = "<LinearFunction name=\"function\"><coefficients>1 0</coefficients></LinearFunction>"
LIN2 = "<LinearFunction name=\"function\"><coefficients>0.5 0.1</coefficients></LinearFunction>"
CONST = "<Constant name=\"function\"><value>0</value></Constant>"
CONSTV = "<Constant name=\"function\"><value>0.05</value></Constant>"


def zoo_osim(seed: int = 0) -> str:
    """The text of the zoo model (OpenSim 4 format)."""
    rng = np.random.default_rng(seed)
    bodies = [f"b{i}" for i in range(1, 11)]
    body_xml = "".join(
        f"<Body name=\"{b}\"><mass>{rng.uniform(0.5, 5):.4f}</mass>"
        f"<mass_center>{_v(rng.uniform(-0.1, 0.1, 3))}</mass_center>"
        f"<inertia>0.01 0.02 0.03 0 0 0</inertia>"
        + (f"<components>{_offset('b10_extra', '..', rng)}</components>" if b == "b10" else "")
        + "</Body>"
        for b in bodies
    )
    custom9 = _spatial_transform(("c9_a", (0.1, 0.2, 0.97), LIN), ("c9_b", (1, 0, 0), SPLINE3), ("", (0, 1, 0), CONST),
                                 ("c9_a", (1, 0, 0), SPLINE), ("c9_b", (0, 1, 0), MULT), ("c9_dep", (0, 0, 1), LIN))
    custom10 = _spatial_transform(("c10_a", (0, 0, 1), POLY), ("c10_b", (0.3, 0.9, 0.1), LIN2), ("", (1, 0, 0), CONSTV),
                                  ("c10_b", (1, 0, 0), PWL), ("", (0, 1, 0), CONSTV), ("", (0, 0, 1), CONST))
    joints = [
        _joint("FreeJoint", "j1", "ground", "b1", [_coord(f"j1_{k}", default=0.1 if k == "ty" else 0.0)
                                                   for k in ("rx", "ry", "rz", "tx", "ty", "tz")], rng),
        _joint("PinJoint", "j2", "b1", "b2", [_coord("j2_rz")], rng),
        _joint("UniversalJoint", "j3", "b2", "b3", [_coord("j3_rx"), _coord("j3_ry")], rng),
        _joint("BallJoint", "j4", "b3", "b4", [_coord(f"j4_{k}") for k in ("rx", "ry", "rz")], rng),
        _joint("GimbalJoint", "j5", "b4", "b5", [_coord(f"j5_{k}") for k in ("rx", "ry", "rz")], rng),
        _joint("PlanarJoint", "j6", "b5", "b6", [_coord("j6_rz"), _coord("j6_tx", -0.3, 0.3), _coord("j6_ty", -0.3, 0.3)], rng),
        _joint("SliderJoint", "j7", "b6", "b7", [_coord("j7_tx", -0.3, 0.3, locked=True, default=0.05)], rng),
        _joint("WeldJoint", "j8", "b7", "b8", [], rng),
        _joint("CustomJoint", "j9", "b8", "b9", [_coord("c9_a"), _coord("c9_b", clamped=True), _coord("c9_dep", -0.5, 0.5)], rng, custom9),
        _joint("CustomJoint", "j10", "b1", "b10", [_coord("c10_a"), _coord("c10_b", -0.9, 0.9)], rng, custom10),
    ]
    coupler = (
        "<CoordinateCouplerConstraint name=\"couple9\"><isEnforced>true</isEnforced>"
        "<coupled_coordinates_function>"
        "<SimmSpline name=\"function\"><x>-1.2 -0.5 0 0.6 1.2</x><y>-0.05 0.01 0.02 0.04 0.03</y></SimmSpline>"
        "</coupled_coordinates_function><independent_coordinate_names>c9_a</independent_coordinate_names>"
        "<dependent_coordinate_name>c9_dep</dependent_coordinate_name><scale_factor>0.8</scale_factor>"
        "</CoordinateCouplerConstraint>"
    )
    markers = "".join(
        f"<Marker name=\"m_{b}\"><socket_parent_frame>/bodyset/{b}</socket_parent_frame>"
        f"<location>{_v(rng.uniform(-0.15, 0.15, 3))}</location><fixed>false</fixed></Marker>"
        for b in bodies
    )
    markers += (
        "<Marker name=\"m_off\"><socket_parent_frame>/bodyset/b10/b10_extra</socket_parent_frame>"
        f"<location>{_v(rng.uniform(-0.1, 0.1, 3))}</location></Marker>"
        "<Marker name=\"m_joint_frame\"><socket_parent_frame>/jointset/j3/b3_offset_j3</socket_parent_frame>"
        f"<location>{_v(rng.uniform(-0.1, 0.1, 3))}</location></Marker>"
    )
    return (
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?><OpenSimDocument Version=\"40000\"><Model name=\"zoo\">"
        "<Ground name=\"ground\" />"
        f"<BodySet name=\"bodyset\"><objects>{body_xml}</objects></BodySet>"
        f"<JointSet name=\"jointset\"><objects>{''.join(joints)}</objects></JointSet>"
        f"<ConstraintSet name=\"constraintset\"><objects>{coupler}</objects></ConstraintSet>"
        f"<MarkerSet name=\"markerset\"><objects>{markers}</objects></MarkerSet>"
        "</Model></OpenSimDocument>"
    )


def write_zoo(path, seed: int = 0):
    path.write_text(zoo_osim(seed))
    return path


def random_q(model, n: int, rng, margin: float = 0.0) -> np.ndarray:
    """(n, C) coordinates uniform inside each coordinate's range."""
    lo = np.array([c.range[0] for c in model.coordinates]) + margin
    hi = np.array([c.range[1] for c in model.coordinates]) - margin
    return rng.uniform(lo, hi, size=(n, len(lo)))



def moving_pose(model, T: int, rng, amp: float = 0.4, ramp: str | None = None) -> np.ndarray:
    """(T, C) a smooth motion: the default pose plus one sine period per coordinate (random
    amplitude up to ``amp``, random phase), the coordinate ``ramp`` also moving by 1 over the trial
    (e.g. walking 1 m along pelvis_tx); clipped 1e-3 inside the coordinate ranges."""
    q0 = model.default_q()
    t = np.linspace(0, 1, T)[:, None]
    q = q0 + rng.uniform(-amp, amp, len(q0)) * np.sin(2 * np.pi * t + rng.uniform(0, 6, len(q0)))
    if ramp is not None:
        q[:, model.coordinate_names.index(ramp)] += np.linspace(0, 1, T)
    lo = np.array([c.range[0] for c in model.coordinates]) + 1e-3
    hi = np.array([c.range[1] for c in model.coordinates]) - 1e-3
    return np.clip(q, lo, hi)
