"""Read OpenSim ``.osim`` models (4.x format) into plain dataclasses for the torch kinematics.

What is read: bodies (mass, COM, inertia), physical offset frames (in joints, bodies, ground and
the component set), joints (CustomJoint with its SpatialTransform; Pin, Slider, Universal, Ball,
Gimbal, Free, Planar and Weld joints), coordinates (default, range, clamped, locked), the
transform-axis functions (see :mod:`.functions`), CoordinateCouplerConstraints and the marker set.

What is deliberately not read, because it does not change kinematics: forces and muscles
(ForceSet), controllers, probes, contact geometry, display geometry, and components in the
ComponentSet other than PhysicalOffsetFrames. Anything kinematic the engine cannot reproduce (an
unknown joint type or function, a closed loop, another constraint type that is enforced, a
transform axis driven by several coordinates) raises :class:`KinematicsError` naming the element
and the file; nothing is skipped silently.

Files older than OpenSim 4 (``Version`` < 40000) are converted by the ``opensim`` package when it
is installed (it upgrades the file on load; we parse what it writes).

Conventions: metres, radians, OpenSim axes (Y up). Built-in joints are expressed as the equivalent
CustomJoint SpatialTransform (Simbody's mobilizers; Ball and Free use OpenSim's body-fixed XYZ
Euler angles), so the FK handles one joint kind.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import KinematicsError
from ..io_utils import read_xml
from .functions import (
    Constant,
    Function,
    LinearFunction,
    MultiplierFunction,
    PiecewiseLinearFunction,
    PolynomialFunction,
    SimmSpline,
)

ROTATIONAL, TRANSLATIONAL, COUPLED = "rotational", "translational", "coupled"
AXIS_NAMES = ("rotation1", "rotation2", "rotation3", "translation1", "translation2", "translation3")
SUPPORTED_JOINTS = (
    "CustomJoint", "PinJoint", "SliderJoint", "UniversalJoint", "BallJoint", "GimbalJoint",
    "FreeJoint", "PlanarJoint", "WeldJoint",
)
FUNCTION_TAGS = (
    "Constant", "LinearFunction", "PolynomialFunction", "SimmSpline", "NaturalCubicSpline",
    "natCubicSpline", "PiecewiseLinearFunction", "MultiplierFunction",
)


def euler_xyz_matrix(angles) -> np.ndarray:
    """Body-fixed X-Y-Z rotation (OpenSim ``orientation`` of offset frames), (3, 3)."""
    x, y, z = (float(a) for a in angles)
    cx, sx, cy, sy, cz, sz = np.cos(x), np.sin(x), np.cos(y), np.sin(y), np.cos(z), np.sin(z)
    Rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    Rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return Rx @ Ry @ Rz


@dataclass(frozen=True)
class Body:
    name: str
    mass: float  # kg
    mass_center: np.ndarray  # (3,) metres, body frame
    inertia: np.ndarray  # (6,) kg m^2: xx yy zz xy xz yz, about the COM


@dataclass(frozen=True)
class FrameChain:
    """A frame fixed to a base body: offsets ``(translation, orientation)`` from the body outward.

    OpenSim scales every offset translation elementwise by the base body's scale factors, so
    the frame's origin in the body is linear in the scale ``s``: ``origin(s) = M @ s``.
    """

    body: str  # base body name (or the ground's name)
    steps: tuple[tuple[tuple[float, float, float], tuple[float, float, float]], ...] = ()
    name: str = ""

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) orientation of the frame in its base body."""
        R = np.eye(3)
        for _, o in self.steps:
            R = R @ euler_xyz_matrix(o)
        return R

    @property
    def translation_matrix(self) -> np.ndarray:
        """(3, 3) ``M`` with ``origin_in_body(s) = M @ s`` for body scale factors ``s (3,)``."""
        R = np.eye(3)
        M = np.zeros((3, 3))
        for t, o in self.steps:
            M += R @ np.diag(t)
            R = R @ euler_xyz_matrix(o)
        return M

    @property
    def translation(self) -> np.ndarray:
        """(3,) origin in the unscaled body."""
        return self.translation_matrix @ np.ones(3)


@dataclass(frozen=True)
class TransformAxis:
    name: str  # rotation1..3, translation1..3
    coordinates: tuple[str, ...]  # () or (name,)
    axis: np.ndarray  # (3,) as written (Simbody normalises it)
    function: Function


@dataclass(frozen=True)
class Joint:
    name: str
    type: str  # the XML tag, e.g. CustomJoint
    parent: FrameChain  # the joint's parent frame (F) in the parent body
    child: FrameChain  # the joint's child frame (M) in the child body
    coordinates: tuple[str, ...]
    spatial_transform: tuple[TransformAxis, ...]  # 6 axes (built-in joints converted)

    @property
    def parent_body(self) -> str:
        return self.parent.body

    @property
    def child_body(self) -> str:
        return self.child.body


@dataclass(frozen=True)
class Coordinate:
    name: str
    joint: str
    motion_type: str  # 'rotational' | 'translational' | 'coupled'
    default_value: float  # rad or m
    range: tuple[float, float]
    clamped: bool
    locked: bool
    prescribed: bool = False


@dataclass(frozen=True)
class Marker:
    name: str
    body: str  # base body of the marker's parent frame
    location: np.ndarray  # (3,) metres, in the parent frame (the body, for nearly every model)
    frame: FrameChain  # the parent frame in the body (no steps when attached to the body itself)
    fixed: bool = False


@dataclass(frozen=True)
class CoordinateCouplerConstraint:
    """``q[dependent] = scale_factor * function(q[independent])`` (strictly enforced here)."""

    name: str
    dependent: str
    independent: tuple[str, ...]
    function: Function
    scale_factor: float = 1.0


@dataclass
class OsimModel:
    """A kinematic OpenSim model. Lists are in OpenSim's order (coordinates: the model's
    CoordinateSet order, i.e. joints in JointSet order, each joint's coordinates in order)."""

    name: str
    path: Path | None
    ground: str
    bodies: list[Body]
    joints: list[Joint]
    coordinates: list[Coordinate]
    markers: list[Marker]
    constraints: list[CoordinateCouplerConstraint] = field(default_factory=list)
    version: int = 40000

    @property
    def coordinate_names(self) -> list[str]:
        return [c.name for c in self.coordinates]

    @property
    def body_names(self) -> list[str]:
        return [b.name for b in self.bodies]

    @property
    def marker_names(self) -> list[str]:
        return [m.name for m in self.markers]

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    def coordinate(self, name: str) -> Coordinate:
        for c in self.coordinates:
            if c.name == name:
                return c
        raise KinematicsError(f"{self._where()}: no coordinate named {name!r}")

    def body(self, name: str) -> Body:
        for b in self.bodies:
            if b.name == name:
                return b
        raise KinematicsError(f"{self._where()}: no body named {name!r}")

    def joint(self, name: str) -> Joint:
        for j in self.joints:
            if j.name == name:
                return j
        raise KinematicsError(f"{self._where()}: no joint named {name!r}")

    def default_q(self) -> np.ndarray:
        """(C,) default coordinate values (rad / m)."""
        return np.array([c.default_value for c in self.coordinates], float)

    @property
    def dependent_coordinates(self) -> list[str]:
        return [c.dependent for c in self.constraints]

    def with_markers(self, markers: list[Marker], replace_all: bool = True) -> "OsimModel":
        """A copy with ``markers`` (replacing the marker set, or added/overriding by name)."""
        bodies = set(self.body_names) | {self.ground}
        for m in markers:
            if m.body not in bodies:
                raise KinematicsError(
                    f"{self._where()}: marker {m.name!r} is on body {m.body!r}, which the model lacks"
                )
        if replace_all:
            new = list(markers)
        else:
            byname = {m.name: m for m in markers}
            new = [byname.pop(m.name, m) for m in self.markers] + list(byname.values())
        return replace(self, markers=new)

    def _where(self) -> str:
        return str(self.path) if self.path else f"model {self.name!r}"


# ----------------------------------------------------------------------------------------------
# XML helpers


def _floats(text: str | None, n: int | None, where: str) -> np.ndarray:
    try:
        vals = [float(t) for t in (text or "").replace(",", " ").split()]
    except ValueError:
        raise KinematicsError(f"{where}: expected numbers, got {text!r}") from None
    if n is not None and len(vals) != n:
        raise KinematicsError(f"{where}: expected {n} numbers, got {text!r}")
    return np.array(vals, float)


def _bool(text: str | None, default: bool, where: str) -> bool:
    if text is None or not text.strip():
        return default
    t = text.strip().lower()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise KinematicsError(f"{where}: expected true/false, got {text!r}")


def _child_text(el: ET.Element, tag: str) -> str | None:
    c = el.find(tag)
    return None if c is None else (c.text or "")


def _vec3(el: ET.Element, tag: str, where: str, default=(0.0, 0.0, 0.0)) -> np.ndarray:
    t = _child_text(el, tag)
    if t is None or not t.strip():
        return np.array(default, float)
    return _floats(t, 3, f"{where} <{tag}>")


def _objects(set_el: ET.Element | None) -> list[ET.Element]:
    if set_el is None:
        return []
    objs = set_el.find("objects")
    return list(objs) if objs is not None else []


def parse_function(el: ET.Element, where: str) -> Function:
    """A function element (one of :data:`FUNCTION_TAGS`) into a :mod:`.functions` object."""
    tag = el.tag
    w = f"{where} <{tag}>"
    if tag == "Constant":
        return Constant(float(_floats(_child_text(el, "value") or "0", 1, w)[0]))
    if tag == "LinearFunction":
        c = _floats(_child_text(el, "coefficients") or "1 0", 2, f"{w} <coefficients>")
        return LinearFunction(float(c[0]), float(c[1]))
    if tag == "PolynomialFunction":
        c = _floats(_child_text(el, "coefficients") or "1", None, f"{w} <coefficients>")
        return PolynomialFunction(tuple(float(v) for v in c))
    if tag in ("SimmSpline", "NaturalCubicSpline", "natCubicSpline", "PiecewiseLinearFunction"):
        x = _floats(_child_text(el, "x"), None, f"{w} <x>")
        y = _floats(_child_text(el, "y"), None, f"{w} <y>")
        if len(x) != len(y) or len(x) < 1:
            raise KinematicsError(f"{w}: <x> and <y> must have the same length >= 1 ({len(x)} vs {len(y)})")
        if np.any(np.diff(x) < 0):
            raise KinematicsError(f"{w}: <x> must be increasing")
        cls = PiecewiseLinearFunction if tag == "PiecewiseLinearFunction" else SimmSpline
        return cls(tuple(map(float, x)), tuple(map(float, y)))
    if tag == "MultiplierFunction":
        holder = el.find("function")
        inner = [c for c in (holder if holder is not None else el) if c.tag != "scale"]
        inner = [c for c in inner if c.tag in FUNCTION_TAGS or c.tag[:1].isupper()]
        if len(inner) != 1:
            raise KinematicsError(f"{w}: expected exactly one inner function")
        scale = float(_floats(_child_text(el, "scale") or "1", 1, f"{w} <scale>")[0])
        return MultiplierFunction(parse_function(inner[0], w), scale)
    raise KinematicsError(
        f"{where}: unsupported function <{tag}> (supported: {', '.join(FUNCTION_TAGS)})"
    )


def _function_child(el: ET.Element, where: str) -> Function | None:
    """The function inside a TransformAxis / coupler (any element whose tag is a function)."""
    holder = el.find("coupled_coordinates_function")
    search = holder if holder is not None else el
    for c in search:
        if c.tag in FUNCTION_TAGS:
            return parse_function(c, where)
        if c.tag in ("GCVSpline", "StepFunction", "PiecewiseConstantFunction", "Sine",
                     "MultivariatePolynomialFunction", "ExpressionBasedFunction", "FunctionSet"):
            raise KinematicsError(
                f"{where}: unsupported function <{c.tag}> (supported: {', '.join(FUNCTION_TAGS)})"
            )
    return None


# ----------------------------------------------------------------------------------------------
# The reader


class _Reader:
    def __init__(self, root: ET.Element, path: Path | None):
        self.path = path
        self.file = str(path) if path else "<string>"
        model = root.find("Model")
        if model is None:
            raise KinematicsError(f"{self.file}: no <Model> element under <OpenSimDocument>")
        self.model = model
        self.name = model.get("name", "model")
        ground = model.find("Ground")
        self.ground = ground.get("name", "ground") if ground is not None else "ground"
        # path -> ("body", name) | ("offset", parent_path, translation, orientation, name)
        self.frames: dict[str, tuple] = {}
        self.frames["/" + self.ground] = ("body", self.ground)
        if ground is not None:
            self._offsets_in(ground.find("components"), "/" + self.ground)

    def err(self, msg: str) -> KinematicsError:
        return KinematicsError(f"{self.file}: {msg}")

    def _set(self, tag: str) -> ET.Element | None:
        return self.model.find(tag)

    def _set_path(self, tag: str, default: str) -> str:
        el = self._set(tag)
        return "/" + (el.get("name", default) if el is not None else default)

    def _offsets_in(self, holder: ET.Element | None, owner: str):
        if holder is None:
            return
        for el in holder:
            if el.tag == "PhysicalOffsetFrame":
                self._add_offset(el, owner)
            elif el.tag in ("Frame", "OffsetFrame"):
                raise self.err(f"unsupported frame element <{el.tag}> in {owner}")

    def _add_offset(self, el: ET.Element, owner: str):
        name = el.get("name")
        if not name:
            raise self.err(f"a <PhysicalOffsetFrame> in {owner} has no name")
        where = f"<PhysicalOffsetFrame name={name!r}> in {owner}"
        parent = _child_text(el, "socket_parent")
        if parent is None:
            parent = _child_text(el, "parent_frame")  # very early 4.0 drafts
        if parent is None or not parent.strip():
            raise self.err(f"{where}: missing <socket_parent>")
        path = posixpath.join(owner, name)
        self.frames[path] = (
            "offset", parent.strip(), path,
            _vec3(el, "translation", f"{self.file}: {where}"),
            _vec3(el, "orientation", f"{self.file}: {where}"),
            name,
        )
        self._offsets_in(el.find("components"), path)

    def resolve(self, ref: str, owner: str, where: str) -> str:
        """Absolute path of the frame that ``ref`` (absolute or relative to ``owner``) names."""
        ref = ref.strip()
        if not ref:
            raise self.err(f"{where}: empty frame reference")
        cand = ref if ref.startswith("/") else posixpath.normpath(posixpath.join(owner, ref))
        if cand in self.frames:
            return cand
        # Older 4.0 files name frames relative to the owner's parent.
        if not ref.startswith("/"):
            for base in (posixpath.dirname(owner), "/"):
                c = posixpath.normpath(posixpath.join(base, ref))
                if c in self.frames:
                    return c
        # A bare name: OpenSim searches the model for a unique component of that name.
        name = posixpath.basename(ref)
        hits = [p for p in self.frames if posixpath.basename(p) == name]
        if len(hits) == 1:
            return hits[0]
        raise self.err(f"{where}: frame {ref!r} not found (known frames: {', '.join(sorted(self.frames))})")

    def chain(self, path: str, where: str, _seen=()) -> FrameChain:
        kind = self.frames[path]
        if kind[0] == "body":
            return FrameChain(kind[1], (), kind[1])
        if path in _seen:
            raise self.err(f"{where}: offset frames form a cycle at {path}")
        _, parent_ref, own, t, o, name = kind
        parent = self.resolve(parent_ref, own, f"{where} (frame {name!r})")
        base = self.chain(parent, where, _seen + (path,))
        return FrameChain(base.body, base.steps + ((tuple(map(float, t)), tuple(map(float, o))),), name)

    # -- sections

    def bodies(self) -> list[Body]:
        out = []
        bodyset = self._set_path("BodySet", "bodyset")
        for el in _objects(self._set("BodySet")):
            if el.tag != "Body":
                raise self.err(f"unsupported body element <{el.tag} name={el.get('name')!r}> in <BodySet>")
            name = el.get("name")
            if not name:
                raise self.err("a <Body> has no name")
            where = f"{self.file}: <Body name={name!r}>"
            mass = float(_floats(_child_text(el, "mass") or "0", 1, f"{where} <mass>")[0])
            inertia = _floats(_child_text(el, "inertia") or "0 0 0 0 0 0", None, f"{where} <inertia>")
            if len(inertia) == 3:
                inertia = np.concatenate([inertia, np.zeros(3)])
            if len(inertia) != 6:
                raise KinematicsError(f"{where} <inertia>: expected 6 numbers (xx yy zz xy xz yz)")
            out.append(Body(name, mass, _vec3(el, "mass_center", where), inertia))
            path = posixpath.join(bodyset, name)
            self.frames[path] = ("body", name)
            self._offsets_in(el.find("components"), path)
        if len({b.name for b in out}) != len(out):
            raise self.err("two bodies share a name")
        return out

    def component_offsets(self):
        compset = self._set("ComponentSet")
        self._offsets_in(compset.find("objects") if compset is not None else None,
                         self._set_path("ComponentSet", "componentset"))

    def joints(self) -> tuple[list[Joint], list[Coordinate]]:
        jointset = self._set_path("JointSet", "jointset")
        els = _objects(self._set("JointSet"))
        # Register every joint's offset frames first (a joint may use another joint's frame).
        for el in els:
            self._offsets_in(el.find("frames"), posixpath.join(jointset, el.get("name", "")))
        joints, coords = [], []
        for el in els:
            j, cs = self._joint(el, jointset)
            joints.append(j)
            coords.extend(cs)
        return joints, coords

    def _joint(self, el: ET.Element, jointset: str) -> tuple[Joint, list[Coordinate]]:
        name = el.get("name")
        if not name:
            raise self.err(f"a <{el.tag}> in <JointSet> has no name")
        where = f"<{el.tag} name={name!r}>"
        if el.tag not in SUPPORTED_JOINTS:
            raise self.err(f"unsupported joint type {where} (supported: {', '.join(SUPPORTED_JOINTS)})")
        own = posixpath.join(jointset, name)
        refs = []
        for sock, old in (("socket_parent_frame", "parent_body"), ("socket_child_frame", "child_body")):
            r = _child_text(el, sock)
            if r is None or not r.strip():
                raise self.err(f"{where}: missing <{sock}>")
            refs.append(r)
        parent = self.chain(self.resolve(refs[0], own, where), where)
        child = self.chain(self.resolve(refs[1], own, where), where)
        if child.body == self.ground:
            raise self.err(f"{where}: the ground as a joint's child frame (a reversed joint) is not supported")
        if parent.body == child.body:
            raise self.err(f"{where}: parent and child frames are on the same body {child.body!r}")

        cel = el.find("coordinates")
        coord_els = list(cel) if cel is not None else []
        cdefs = {}
        order = []
        for c in coord_els:
            if c.tag != "Coordinate":
                raise self.err(f"{where}: unexpected <{c.tag}> in <coordinates>")
            cname = c.get("name")
            if not cname:
                raise self.err(f"{where}: a <Coordinate> has no name")
            order.append(cname)
            cdefs[cname] = c

        if el.tag == "CustomJoint":
            st = el.find("SpatialTransform")
            if st is None:
                raise self.err(f"{where}: missing <SpatialTransform>")
            axes = []
            for an in AXIS_NAMES:
                ax = st.find(f"TransformAxis[@name='{an}']")
                axes.append(self._transform_axis(ax, an, where))
            used = []
            for ax in axes:
                for cn in ax.coordinates:
                    if cn not in used:
                        used.append(cn)
            missing = [c for c in used if c not in cdefs]
            extra = [c for c in order if c not in used]
            if missing:
                raise self.err(f"{where}: SpatialTransform uses coordinates {missing} that the joint does not define")
            if extra:
                raise self.err(f"{where}: coordinates {extra} are not used by any TransformAxis")
            order = used  # OpenSim reorders the coordinates to SpatialTransform order
            mtypes = {cn: _custom_motion_type(cn, axes) for cn in order}
        else:
            axes, mt_list, n = _builtin_transform(el.tag, order)
            if len(order) != n:
                raise self.err(f"{where}: expected {n} <Coordinate> elements, found {len(order)}")
            mtypes = dict(zip(order, mt_list))

        coords = []
        for cname in order:
            c = cdefs[cname]
            w = f"{self.file}: {where} <Coordinate name={cname!r}>"
            rng = _floats(_child_text(c, "range") or "-99999.9 99999.9", 2, f"{w} <range>")
            coords.append(Coordinate(
                name=cname, joint=name, motion_type=mtypes[cname],
                default_value=float(_floats(_child_text(c, "default_value") or "0", 1, f"{w} <default_value>")[0]),
                range=(float(rng[0]), float(rng[1])),
                clamped=_bool(_child_text(c, "clamped"), False, f"{w} <clamped>"),
                locked=_bool(_child_text(c, "locked"), False, f"{w} <locked>"),
                prescribed=_bool(_child_text(c, "prescribed"), False, f"{w} <prescribed>"),
            ))
        return Joint(name, el.tag, parent, child, tuple(order), tuple(axes)), coords

    def _transform_axis(self, ax: ET.Element | None, an: str, where: str) -> TransformAxis:
        default_axis = {"rotation1": (1, 0, 0), "rotation2": (0, 1, 0), "rotation3": (0, 0, 1),
                        "translation1": (1, 0, 0), "translation2": (0, 1, 0), "translation3": (0, 0, 1)}[an]
        if ax is None:
            return TransformAxis(an, (), np.array(default_axis, float), Constant(0.0))
        w = f"{self.file}: {where} <TransformAxis name={an!r}>"
        names = tuple((_child_text(ax, "coordinates") or "").split())
        if len(names) > 1:
            raise KinematicsError(f"{w}: several coordinates {names} drive one axis; only one is supported")
        axis = _vec3(ax, "axis", w, default_axis)
        if np.linalg.norm(axis) < 1e-12:
            raise KinematicsError(f"{w} <axis>: zero vector")
        fn = _function_child(ax, w)
        if fn is None:
            fn = LinearFunction(1.0, 0.0) if names else Constant(0.0)
        if not names and fn.n_args != 0:
            raise KinematicsError(f"{w}: a {type(fn.base()[0]).__name__} needs a coordinate, but <coordinates> is empty")
        return TransformAxis(an, names, axis, fn)

    def markers(self) -> list[Marker]:
        markerset = self._set_path("MarkerSet", "markerset")
        return [self._marker(el, markerset) for el in _objects(self._set("MarkerSet"))]

    def _marker(self, el: ET.Element, markerset: str) -> Marker:
        name = el.get("name")
        if el.tag != "Marker":
            raise self.err(f"unsupported marker element <{el.tag} name={name!r}> in <MarkerSet>")
        if not name:
            raise self.err("a <Marker> has no name")
        where = f"<Marker name={name!r}>"
        ref = _child_text(el, "socket_parent_frame")
        if ref is None:
            body = _child_text(el, "body")  # OpenSim 3.x marker sets
            if body is None or not body.strip():
                raise self.err(f"{where}: missing <socket_parent_frame>")
            ref = posixpath.join(self._set_path("BodySet", "bodyset"), body.strip())
            if body.strip() == self.ground:
                ref = "/" + self.ground
        frame = self.chain(self.resolve(ref, posixpath.join(markerset, name), where), where)
        loc = _vec3(el, "location", f"{self.file}: {where}")
        return Marker(name, frame.body, loc, frame, _bool(_child_text(el, "fixed"), False, where))

    def constraints(self, coord_names: set[str]) -> list[CoordinateCouplerConstraint]:
        out = []
        for el in _objects(self._set("ConstraintSet")):
            name = el.get("name", "")
            where = f"<{el.tag} name={name!r}>"
            enforced = _bool(_child_text(el, "isEnforced"), True, f"{self.file}: {where} <isEnforced>")
            if _child_text(el, "isDisabled") is not None:
                enforced = not _bool(_child_text(el, "isDisabled"), False, f"{self.file}: {where}")
            if not enforced:
                continue  # a disabled constraint has no effect in OpenSim either
            if el.tag != "CoordinateCouplerConstraint":
                raise self.err(f"unsupported constraint {where} (only CoordinateCouplerConstraint)")
            dep = (_child_text(el, "dependent_coordinate_name") or "").strip()
            ind = tuple((_child_text(el, "independent_coordinate_names") or "").split())
            w = f"{self.file}: {where}"
            if not dep or dep not in coord_names:
                raise KinematicsError(f"{w} <dependent_coordinate_name>: {dep!r} is not a coordinate of the model")
            if len(ind) != 1:
                raise KinematicsError(f"{w} <independent_coordinate_names>: exactly one coordinate is supported, got {ind}")
            if ind[0] not in coord_names:
                raise KinematicsError(f"{w} <independent_coordinate_names>: {ind[0]!r} is not a coordinate of the model")
            fn = _function_child(el, w)
            if fn is None:
                raise KinematicsError(f"{w}: missing <coupled_coordinates_function>")
            sf = float(_floats(_child_text(el, "scale_factor") or "1", 1, f"{w} <scale_factor>")[0])
            out.append(CoordinateCouplerConstraint(name, dep, ind, fn, sf))
        deps = [c.dependent for c in out]
        if len(set(deps)) != len(deps):
            raise self.err("a coordinate is the dependent coordinate of two CoordinateCouplerConstraints")
        return out


def _custom_motion_type(cname: str, axes: list[TransformAxis]) -> str:
    """``CustomJoint::constructCoordinates``: pure (slope +-1 linear) axis displacement decides."""
    mt = None
    for j, ax in enumerate(axes):
        if cname in ax.coordinates:
            f = ax.function
            if isinstance(f, LinearFunction) and f.slope in (1.0, -1.0):
                mt = ROTATIONAL if j < 3 else TRANSLATIONAL
            elif mt is None:
                mt = COUPLED
    return mt or COUPLED


def _builtin_transform(tag: str, names: list[str]):
    """SpatialTransform equivalent of a built-in joint (Simbody mobilizers), its motion types and
    the number of coordinates it needs."""
    X, Y, Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
    # (axis, index of the coordinate or None) for rotation1..3 and translation1..3
    spec = {
        "WeldJoint": ([(X, None), (Y, None), (Z, None)], [(X, None), (Y, None), (Z, None)]),
        "PinJoint": ([(Z, 0), (X, None), (Y, None)], [(X, None), (Y, None), (Z, None)]),
        "SliderJoint": ([(X, None), (Y, None), (Z, None)], [(X, 0), (Y, None), (Z, None)]),
        "UniversalJoint": ([(X, 0), (Y, 1), (Z, None)], [(X, None), (Y, None), (Z, None)]),
        "GimbalJoint": ([(X, 0), (Y, 1), (Z, 2)], [(X, None), (Y, None), (Z, None)]),
        "BallJoint": ([(X, 0), (Y, 1), (Z, 2)], [(X, None), (Y, None), (Z, None)]),
        "FreeJoint": ([(X, 0), (Y, 1), (Z, 2)], [(X, 3), (Y, 4), (Z, 5)]),
        "PlanarJoint": ([(Z, 0), (X, None), (Y, None)], [(X, 1), (Y, 2), (Z, None)]),
    }[tag]
    rots, trans = spec
    n = 1 + max([i for _, i in rots + trans if i is not None], default=-1)
    mtypes = [None] * n
    axes = []
    for k, (axis, idx) in enumerate(rots + trans):
        if idx is not None:
            mtypes[idx] = ROTATIONAL if k < 3 else TRANSLATIONAL
        coord = (names[idx],) if idx is not None and idx < len(names) else ()
        fn = LinearFunction(1.0, 0.0) if coord else Constant(0.0)
        axes.append(TransformAxis(AXIS_NAMES[k], coord, np.array(axis), fn))
    return axes, mtypes, n


def osim_document(path: Path | None, text: str | None, what: str) -> tuple[ET.Element, int]:
    """The root of an OpenSim XML document (the file ``path``, or ``text``) and its version.

    Checked here, before OpenSim sees the file (its own errors on a missing version are cryptic).
    """
    if text is None:
        root = read_xml(path, KinematicsError, what)
    else:
        try:
            root = ET.fromstring(text)
        except ET.ParseError as e:
            raise KinematicsError(f"{path or '<string>'}: {what} is not valid XML ({e})") from None
    if root.tag != "OpenSimDocument":
        raise KinematicsError(f"{path or '<string>'}: not an OpenSim {what} (root element is <{root.tag}>, "
                              "expected <OpenSimDocument>)")
    where = path or "<string>"
    if root.get("Version") is None:
        raise KinematicsError(f"{where}: <OpenSimDocument> has no Version attribute (OpenSim writes e.g. "
                              '<OpenSimDocument Version="40000">); is this an OpenSim file?')
    try:
        version = int(root.get("Version"))
    except ValueError:
        raise KinematicsError(f"{where}: <OpenSimDocument> Version {root.get('Version')!r} is not an integer "
                              "(e.g. 40000)") from None
    return root, version


def load_osim(path: str | Path | None = None, *, text: str | None = None) -> OsimModel:
    """Read an ``.osim`` file (or its ``text``) into an :class:`OsimModel`.

    Raises :class:`KinematicsError` naming the file and element for anything the kinematics
    cannot reproduce.
    """
    p = Path(path) if path is not None else None
    if p is not None and text is None and not p.is_file():
        raise KinematicsError(f"{p}: model file not found")
    root, version = osim_document(p, text, "model")
    if version < 40000:
        if p is None:
            raise KinematicsError("<string>: OpenSim 3.x format (Version < 40000) is not supported")
        from .opensim_tools import upgrade_osim

        root = upgrade_osim(p, version)
    r = _Reader(root, p)
    bodies = r.bodies()
    r.component_offsets()
    joints, coords = r.joints()
    names = [c.name for c in coords]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise r.err(f"coordinate names used twice: {dup}")
    _check_tree(r, bodies, joints)
    markers = r.markers()
    constraints = r.constraints(set(names))
    model = OsimModel(r.name, p, r.ground, bodies, joints, coords, markers, constraints, version)
    _check_couplers(model)
    return model


def _check_tree(r: _Reader, bodies: list[Body], joints: list[Joint]):
    child_of = {}
    body_names = {b.name for b in bodies}
    for j in joints:
        for b in (j.parent.body, j.child.body):
            if b != r.ground and b not in body_names:
                raise r.err(f"joint {j.name!r} refers to unknown body {b!r}")
        if j.child.body in child_of:
            raise r.err(
                f"body {j.child.body!r} is the child of two joints ({child_of[j.child.body]!r} and "
                f"{j.name!r}): closed kinematic loops are not supported"
            )
        child_of[j.child.body] = j.name
    for b in bodies:
        if b.name not in child_of:
            raise r.err(f"body {b.name!r} is not the child of any joint (OpenSim would add a FreeJoint; add one explicitly)")
    parent = {j.child.body: j.parent.body for j in joints}
    for b in body_names:
        seen, cur = set(), b
        while cur != r.ground:
            if cur in seen:
                raise r.err(f"joints form a loop through body {b!r}")
            seen.add(cur)
            cur = parent[cur]


def _check_couplers(model: OsimModel):
    deps = {c.dependent: c for c in model.constraints}
    for c in model.constraints:
        seen, cur = {c.dependent}, c.independent[0]
        while cur in deps:
            if cur in seen:
                raise KinematicsError(f"{model._where()}: CoordinateCouplerConstraints form a cycle through {cur!r}")
            seen.add(cur)
            cur = deps[cur].independent[0]


def load_marker_set(path: str | Path, model: OsimModel | None = None) -> list[Marker]:
    """Markers from a MarkerSet XML file (OpenSim 4 ``socket_parent_frame`` or 3.x ``body``).

    Markers are attached to body frames; with ``model`` given, their bodies are checked.
    """
    p = Path(path)
    if not p.is_file():
        raise KinematicsError(f"{p}: marker set file not found")
    root, _ = osim_document(p, None, "marker set")
    ms = root if root.tag == "MarkerSet" else root.find("MarkerSet")
    if ms is None:
        raise KinematicsError(f"{p}: no <MarkerSet> element")
    out = []
    for el in _objects(ms):
        name = el.get("name")
        if el.tag != "Marker" or not name:
            raise KinematicsError(f"{p}: unexpected <{el.tag} name={name!r}> in <MarkerSet>")
        ref = _child_text(el, "socket_parent_frame")
        if ref is None:
            ref = _child_text(el, "body")
        if ref is None or not ref.strip():
            raise KinematicsError(f"{p}: <Marker name={name!r}> has no <socket_parent_frame> or <body>")
        body = posixpath.basename(ref.strip())
        if model is not None and body not in set(model.body_names) | {model.ground}:
            raise KinematicsError(f"{p}: <Marker name={name!r}> is on body {body!r}, which {model._where()} lacks")
        loc = _vec3(el, "location", f"{p}: <Marker name={name!r}>")
        out.append(Marker(name, body, loc, FrameChain(body, (), body),
                          _bool(_child_text(el, "fixed"), False, f"{p}: <Marker name={name!r}>")))
    return out
