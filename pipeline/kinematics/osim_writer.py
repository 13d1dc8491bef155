"""Write a scaled OpenSim model: an XML rewrite of the source .osim applying OpenSim's scaling rules.

The rules are those of ``Model::scale`` in opensim-core 4.x (each component scales itself by the
factors of the *base body* of the frame it is attached to; bodies without factors are untouched):

- Body: ``mass_center`` and attached geometry ``scale_factors`` by the body's factors; mass and
  inertia by ``Body::scaleInertialProperties`` (mass by |sx sy sz| unless the mass distribution is
  preserved; inertia by s^2 for uniform factors, else by the cylinder approximation), then every
  mass and inertia by one factor so the model mass equals ``mass`` when given.
- PhysicalOffsetFrame: ``translation`` by its parent frame's base body; attached geometry by its own
  base body.
- CustomJoint: translational TransformAxis functions (axes 4-6) are wrapped in a
  MultiplierFunction (or an existing one's ``scale`` is multiplied) by ``|axis| . s`` of the
  joint's parent frame's base body, except a LinearFunction with coefficients exactly (1, 0).
- Marker, Station, PathPoint, ConditionalPathPoint: ``location``; MovingPathPoint: its coordinate-
  driven x/y/z location functions wrapped in MultiplierFunctions.
- Wrap objects: ``translation``; cylinder radius/length, ellipsoid dimensions, sphere radius and
  torus radii as OpenSim does.
- CoordinateCouplerConstraint with a translational dependent coordinate: ``scale_factor``.
- Muscles, ligaments and path springs: optimal fibre and tendon slack lengths (or resting/slack
  lengths) by the ratio of the path length after/before scaling in the default pose (OpenSim's
  postScale). Path lengths are computed through the ``opensim`` package.

Joints with their own scaling rules that odah does not implement (EllipsoidJoint,
ScapulothoracicJoint, ConstantCurvatureJoint) raise KinematicsError when their parent body is
scaled, never a silent skip.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..errors import KinematicsError
from ..io_utils import atomic_path, atomic_write_text, read_document, read_xml
from ..log import get_logger
from .mot import function_element, motion_types_from_xml
from .osim import osim_document

log = get_logger("kinematics.osim_writer")

_SET_DEFAULT_NAMES = {
    "BodySet": "bodyset", "JointSet": "jointset", "MarkerSet": "markerset", "ForceSet": "forceset",
    "ConstraintSet": "constraintset", "ContactGeometrySet": "contactgeometryset",
    "ControllerSet": "controllerset", "ComponentSet": "componentset", "ProbeSet": "probeset",
    "WrapObjectSet": "wrapobjectset", "Ground": "ground",
}
_FRAME_TAGS = {"Body", "Ground", "PhysicalOffsetFrame"}
_POINT_TAGS = {"Marker", "Station", "PathPoint", "ConditionalPathPoint"}
_UNSUPPORTED_JOINTS = {"EllipsoidJoint", "ScapulothoracicJoint", "ConstantCurvatureJoint"}
_WRAP_TAGS = {"WrapCylinder", "WrapEllipsoid", "WrapSphere", "WrapTorus", "WrapCylinderObst",
              "WrapSphereObst", "WrapDoubleCylinderObst"}
_FIBER_TENDON_FORCES = {
    "Thelen2003Muscle", "Millard2012EquilibriumMuscle", "Millard2012AccelerationMuscle",
    "DeGrooteFregly2016Muscle", "MeyerFregly2016Muscle", "Delp1990Muscle_Deprecated",
    "Schutte1993Muscle_Deprecated", "Thelen2003Muscle_Deprecated",
}
_RESTING_FORCES = {"Ligament": "resting_length", "PathSpring": "resting_length",
                   "ExpressionBasedPathForce": "resting_length", "Blankevoort1991Ligament": "slack_length"}
_SIGNIFICANT = 2.220446049250313e-16 ** (7.0 / 8.0)  # SimTK::SignificantReal


# ----------------------------------------------------------------------------------------------
# number/vector text
# ----------------------------------------------------------------------------------------------

def _fmt(v: float) -> str:
    return repr(float(v))


def _vec(el: ET.Element | None, n: int, where: str) -> np.ndarray:
    if el is None or el.text is None:
        raise KinematicsError(f"{where}: missing value")
    try:
        v = np.array([float(x) for x in el.text.split()], dtype=np.float64)
    except ValueError:
        raise KinematicsError(f"{where}: {el.text.strip()!r} is not a list of numbers") from None
    if v.shape != (n,):
        raise KinematicsError(f"{where}: expected {n} numbers, got {len(v)}")
    return v


def _set_vec(el: ET.Element, v: Iterable[float]) -> None:
    el.text = " ".join(_fmt(x) for x in v)


def _set_num(el: ET.Element, v: float) -> None:
    el.text = _fmt(v)


def _scale_vec(el: ET.Element, key: str, s: np.ndarray, where: str) -> None:
    """Multiply the (3,) vector in ``el``'s child ``key``, when there is one, by ``s`` (3,)."""
    child = el.find(key)
    if child is not None:
        _set_vec(child, _vec(child, 3, f"{where} {key}") * s)


def _scale_num(el: ET.Element, key: str, f: float) -> None:
    """Multiply the number in ``el``'s child ``key``, when there is one, by ``f``."""
    child = el.find(key)
    if child is not None:
        _set_num(child, float(child.text) * f)


# ----------------------------------------------------------------------------------------------
# component tree and socket path resolution
# ----------------------------------------------------------------------------------------------

@dataclass(eq=False)
class _Comp:
    el: ET.Element
    name: str
    parent: "_Comp | None"
    children: dict[str, "_Comp"] = field(default_factory=dict)

    @property
    def path(self) -> str:
        parts = []
        c: _Comp | None = self
        while c is not None and c.parent is not None:
            parts.append(c.name)
            c = c.parent
        return "/" + "/".join(reversed(parts))


class _Model:
    """The component tree of an OpenSim 4 XML document, for resolving socket paths."""

    def __init__(self, model_el: ET.Element, source: Path):
        self.source = source
        self.root = _Comp(model_el, "", None)
        self.comp_of: dict[int, _Comp] = {id(model_el): self.root}
        self._walk(model_el, self.root)
        self.frames_by_name: dict[str, list[_Comp]] = {}
        for c in self.comp_of.values():
            if c.el.tag in _FRAME_TAGS:
                self.frames_by_name.setdefault(c.name, []).append(c)

    def _walk(self, el: ET.Element, comp: _Comp) -> None:
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = child.get("name") or _SET_DEFAULT_NAMES.get(child.tag)
            if name is not None:
                c = _Comp(child, name, comp)
                comp.children.setdefault(name, c)
                self.comp_of[id(child)] = c
                self._walk(child, c)
            else:
                self._walk(child, comp)

    def comp(self, el: ET.Element) -> _Comp:
        return self.comp_of[id(el)]

    def resolve(self, path: str, owner: _Comp, what: str) -> _Comp:
        path = (path or "").strip()
        if not path:
            raise KinematicsError(f"{self.source}: {owner.el.tag} {owner.name!r}: empty {what}")
        cur: _Comp | None = self.root if path.startswith("/") else owner
        for part in [p for p in path.split("/") if p]:
            if cur is None:
                break
            if part == "..":
                cur = cur.parent
            elif part != ".":
                cur = cur.children.get(part)
        if cur is not None:
            return cur
        # OpenSim 4.0 files sometimes name a frame rather than give its path: accept a unique name.
        last = path.rstrip("/").split("/")[-1]
        cands = self.frames_by_name.get(last, [])
        if len(cands) == 1:
            return cands[0]
        raise KinematicsError(
            f"{self.source}: {owner.el.tag} {owner.name!r}: {what} {path!r} does not name a component of the model"
        )

    def parent_frame(self, comp: _Comp, socket: str) -> _Comp:
        el = comp.el.find(socket)
        if el is None:
            raise KinematicsError(f"{self.source}: {comp.el.tag} {comp.name!r}: missing <{socket}>")
        frame = self.resolve(el.text or "", comp, f"<{socket}>")
        if frame.el.tag not in _FRAME_TAGS:
            raise KinematicsError(
                f"{self.source}: {comp.el.tag} {comp.name!r}: <{socket}> {el.text!r} is a {frame.el.tag}, "
                f"expected a Body, Ground or PhysicalOffsetFrame"
            )
        return frame

    def base_body(self, frame: _Comp, _depth: int = 0) -> str:
        if frame.el.tag in ("Body", "Ground"):
            return frame.name
        if _depth > 100:
            raise KinematicsError(f"{self.source}: frame {frame.path}: cycle in PhysicalOffsetFrame parents")
        return self.base_body(self.parent_frame(frame, "socket_parent"), _depth + 1)

    def enclosing_frame(self, comp: _Comp) -> _Comp:
        c = comp.parent
        while c is not None and c.el.tag not in _FRAME_TAGS:
            c = c.parent
        if c is None:
            raise KinematicsError(f"{self.source}: {comp.el.tag} {comp.name!r} is not inside a frame")
        return c


# ----------------------------------------------------------------------------------------------
# OpenSim's rules
# ----------------------------------------------------------------------------------------------

def _numerically_equal(a: float, b: float) -> bool:
    return abs(a - b) <= max(abs(a), abs(b), 1.0) * _SIGNIFICANT


def scale_inertia(mass: float, inertia: np.ndarray, s: np.ndarray, scale_mass: bool) -> tuple[float, np.ndarray]:
    """OpenSim's ``Body::scaleInertialProperties``.

    mass kg; inertia (3, 3) kg m^2 about the COM in body axes; s (3,) scale factors.
    Returns the new (mass, inertia).
    """
    unscaled = float(mass)
    msf = abs(float(s[0] * s[1] * s[2]))
    new_mass = unscaled * msf if scale_mass else unscaled
    I = np.array(inertia, dtype=np.float64)
    if new_mass <= 2.220446049250313e-16:
        return new_mass, I * 0.0
    if _numerically_equal(s[0], s[1]) and _numerically_equal(s[1], s[2]):
        if scale_mass:
            I = I * msf
        return new_mass, I * (s[0] * s[0])
    # unequal factors: treat the segment as a cylinder along its smallest principal moment
    if I[0, 0] <= I[1, 1]:
        axis = 0 if I[0, 0] <= I[2, 2] else 2
    elif I[1, 1] <= I[2, 2]:
        axis = 1
    else:
        axis = 2
    term = 2.0 * I[axis, axis] / unscaled
    radius = math.sqrt(term) if term >= 0.0 else 0.0
    oa = 1 if axis == 0 else 0
    term = 12.0 * (I[oa, oa] - 0.25 * unscaled * radius * radius) / unscaled
    length = math.sqrt(term) if term >= 0.0 else 0.0
    length *= s[axis]
    others = [i for i in range(3) if i != axis]
    rad_sqr = radius * s[others[0]] * radius * s[others[1]]
    out = I.copy()
    side = new_mass * ((length * length / 12.0) + 0.25 * rad_sqr)
    for i in range(3):
        out[i, i] = 0.5 * new_mass * rad_sqr if i == axis else side
    for i in range(3):
        for j in range(3):
            if i != j:
                out[i, j] = I[i, j] * s[i] * s[j] * (msf if scale_mass else 1.0)
    return new_mass, out


def _inertia_matrix(v: np.ndarray) -> np.ndarray:
    """OpenSim's <inertia> (Ixx Iyy Izz Ixy Ixz Iyz) as (3, 3)."""
    xx, yy, zz, xy, xz, yz = v
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def _inertia_vector(m: np.ndarray) -> list[float]:
    return [m[0, 0], m[1, 1], m[2, 2], m[0, 1], m[0, 2], m[1, 2]]


def _wrap_multiplier(holder: ET.Element, factor: float, named: str | None) -> None:
    """Multiply the function in ``holder`` by ``factor`` the way OpenSim does it."""
    func = function_element(holder)
    if func is None:
        return
    if func.tag == "MultiplierFunction":
        sc = func.find("scale")
        if sc is None:
            sc = ET.SubElement(func, "scale")
            sc.text = "1"
        _set_num(sc, float(sc.text) * factor)
        return
    parent = holder
    if func not in list(holder):  # inside a 3.x <function> wrapper
        parent = holder.find("function")
    idx = list(parent).index(func)
    parent.remove(func)
    inner = func
    inner.attrib.pop("name", None)
    mf = ET.Element("MultiplierFunction", {"name": named} if named else {})
    wrapper = ET.SubElement(mf, "function")
    wrapper.append(inner)
    sc = ET.SubElement(mf, "scale")
    _set_num(sc, factor)
    mf.tail = inner.tail
    parent.insert(idx, mf)


def _geometry_scale(model: _Model, frame_comp: _Comp, s: np.ndarray) -> None:
    ag = frame_comp.el.find("attached_geometry")
    if ag is None:
        return
    for geo in ag:
        sf = geo.find("scale_factors") if isinstance(geo.tag, str) else None
        if sf is not None and sf.text and sf.text.strip():
            _set_vec(sf, _vec(sf, 3, f"{model.source}: {geo.tag} {geo.get('name')!r} scale_factors") * s)


# ----------------------------------------------------------------------------------------------
# the writer
# ----------------------------------------------------------------------------------------------

def _load_xml(src: Path) -> ET.ElementTree:
    root, version = osim_document(src, None, "model")
    if root.find("Model") is None:
        raise KinematicsError(f"{src}: not an OpenSim model (expected <OpenSimDocument><Model>)")
    if version < 40000:
        from .opensim_tools import upgrade_osim

        root = upgrade_osim(src, version)
    return ET.ElementTree(root)


def _check_scales(scales: Mapping[str, Iterable[float]], body_names: set[str], src: Path) -> dict[str, np.ndarray]:
    out = {}
    for body, s in scales.items():
        v = np.asarray(s, dtype=np.float64).reshape(-1)
        if v.size == 1:
            v = np.repeat(v, 3)
        if v.shape != (3,) or not np.isfinite(v).all() or (v <= 0).any():
            raise KinematicsError(f"scale factors for {body!r}: expected 3 positive numbers, got {s!r}")
        if body not in body_names:
            raise KinematicsError(
                f"{src}: scale factors given for {body!r}, which is not a body of the model "
                f"(bodies: {', '.join(sorted(body_names))})"
            )
        out[str(body)] = v
    return out


def scale_model_xml(tree: ET.ElementTree, scales: Mapping[str, Iterable[float]], *, source: Path,
                    marker_offsets: Mapping[str, Iterable[float]] | None = None, mass: float | None = None,
                    preserve_mass_distribution: bool = False, name: str | None = None) -> _Model:
    """Apply OpenSim's scaling rules to a parsed model in place (no path-length rescaling)."""
    from .osim import euler_xyz_matrix  # here: .osim pulls in torch, which the writer needs nowhere else

    model_el = tree.getroot().find("Model")
    model = _Model(model_el, source)
    bodies = {c.name: c for c in model.comp_of.values() if c.el.tag == "Body"}
    grounds = {c.name for c in model.comp_of.values() if c.el.tag == "Ground"}
    sc = _check_scales(scales, set(bodies) | grounds, source)

    def factors(frame: _Comp) -> np.ndarray | None:
        return sc.get(model.base_body(frame))

    # marker offsets replace the unscaled locations, then scale with their body (as odah's FK)
    if marker_offsets:
        markers = {c.name: c for c in model.comp_of.values() if c.el.tag == "Marker"}
        unknown = [n for n in marker_offsets if n not in markers]
        if unknown:
            raise KinematicsError(f"{source}: marker offsets given for markers not in the model: {', '.join(unknown)}")
        for n, loc in marker_offsets.items():
            v = np.asarray(loc, dtype=np.float64).reshape(-1)
            if v.shape != (3,) or not np.isfinite(v).all():
                raise KinematicsError(f"marker offset for {n!r}: expected 3 finite numbers (metres), got {loc!r}")
            el = markers[n].el.find("location")
            if el is None:
                el = ET.SubElement(markers[n].el, "location")
            _set_vec(el, v)

    coord_types = motion_types_from_xml(model_el)
    for comp in list(model.comp_of.values()):
        el, tag = comp.el, comp.el.tag
        where = f"{source}: {tag} {comp.name!r}"
        if tag in _FRAME_TAGS:
            s = factors(comp)
            if s is not None:
                _geometry_scale(model, comp, s)
                if tag == "Body":
                    _scale_vec(el, "mass_center", s, where)
            if tag == "PhysicalOffsetFrame":
                sp = factors(model.parent_frame(comp, "socket_parent"))
                if sp is not None:
                    _scale_vec(el, "translation", sp, where)
        elif tag == "CustomJoint":
            s = factors(model.parent_frame(comp, "socket_parent_frame"))
            if s is None:
                continue
            st = el.find("SpatialTransform")
            axes = st.findall("TransformAxis") if st is not None else []
            for ax in axes[3:6]:
                func = function_element(ax)
                if func is None:
                    continue
                if func.tag == "LinearFunction":
                    co = (func.findtext("coefficients") or "").split()
                    if len(co) >= 2 and float(co[0]) == 1.0 and float(co[1]) == 0.0:
                        continue  # a translational degree of freedom: never scaled
                axis = _vec(ax.find("axis"), 3, where + f" {ax.get('name')} axis")
                _wrap_multiplier(ax, float(np.abs(axis) @ s), "function")
        elif tag in _UNSUPPORTED_JOINTS:
            if factors(model.parent_frame(comp, "socket_parent_frame")) is not None:
                raise KinematicsError(f"{where}: scaling a {tag} is not supported by odah's .osim writer")
        elif tag in _POINT_TAGS:
            s = factors(model.parent_frame(comp, "socket_parent_frame"))
            if s is not None:
                _scale_vec(el, "location", s, where)
        elif tag == "MovingPathPoint":
            s = factors(model.parent_frame(comp, "socket_parent_frame"))
            if s is None:
                continue
            for i, ax in enumerate("xyz"):
                sock = (el.findtext(f"socket_{ax}_coordinate") or "").strip()
                holder = el.find(f"{ax}_location")
                if sock and holder is not None:
                    _wrap_multiplier(holder, float(s[i]), None)
        elif tag in _WRAP_TAGS:
            s = factors(model.enclosing_frame(comp))
            if s is None:
                continue
            _scale_vec(el, "translation", s, where)
            rot_el = el.find("xyz_body_rotation")
            R = euler_xyz_matrix(_vec(rot_el, 3, where + " xyz_body_rotation")) if rot_el is not None else np.eye(3)
            local = [np.linalg.norm(R[:, i] * s) for i in range(3)]
            if tag in ("WrapCylinder",):
                _scale_num(el, "radius", 0.5 * (local[0] + local[1]))
                _scale_num(el, "length", local[2])
            elif tag == "WrapEllipsoid":
                _scale_vec(el, "dimensions", np.array(local), where)
            elif tag == "WrapSphere":
                _scale_num(el, "radius", float(s.sum() / 3.0))
            elif tag == "WrapTorus":
                _scale_num(el, "inner_radius", 0.5 * (local[0] + local[1]))
                _scale_num(el, "outer_radius", 0.5 * (local[0] + local[1]))
        elif tag == "CoordinateCouplerConstraint":
            dep = (el.findtext("dependent_coordinate_name") or "").strip()
            if coord_types.get(dep) != "translational":
                continue
            joint = next((c.parent for c in model.comp_of.values() if c.el.tag == "Coordinate" and c.name == dep), None)
            if joint is None:
                raise KinematicsError(f"{where}: dependent coordinate {dep!r} is not in the model")
            s = factors(model.parent_frame(joint, "socket_parent_frame"))
            if s is None:
                continue
            if not (s[0] == s[1] == s[2]):
                raise KinematicsError(f"{where}: non-uniform scaling of a coupler constraint on a translation "
                                      f"(as in OpenSim, not implemented)")
            e = el.find("scale_factor")
            if e is None:
                e = ET.SubElement(el, "scale_factor")
                e.text = "1"
            _set_num(e, float(e.text) * float(s[0]))

    # inertial properties after everything else, as Model::scale does
    for bname, comp in bodies.items():
        s = sc.get(bname)
        if s is None:
            continue
        m_el, i_el = comp.el.find("mass"), comp.el.find("inertia")
        where = f"{source}: Body {bname!r}"
        m = float(_vec(m_el, 1, where + " mass")[0])
        I = _inertia_matrix(_vec(i_el, 6, where + " inertia")) if i_el is not None else np.zeros((3, 3))
        new_m, new_I = scale_inertia(m, I, s, scale_mass=not preserve_mass_distribution)
        _set_num(m_el, new_m)
        if i_el is not None:
            _set_vec(i_el, _inertia_vector(new_I))

    if mass is not None and mass > 0:
        total = sum(float(c.el.findtext("mass") or 0.0) for c in bodies.values())
        if total > 0:
            f = float(mass) / total
            for comp in bodies.values():
                m_el, i_el = comp.el.find("mass"), comp.el.find("inertia")
                if m_el is not None:
                    _set_num(m_el, float(m_el.text) * f)
                if i_el is not None:
                    _set_vec(i_el, _vec(i_el, 6, f"{source}: Body {comp.name!r} inertia") * f)

    if name:
        model_el.set("name", name)
    return model


def _path_lengths(osim_path: Path) -> dict[str, float]:
    """{owner component path: geometry path length at the default pose} through opensim."""
    from .opensim_tools import opensim_session

    with opensim_session(f"path lengths of {osim_path.name}") as (opensim, _):
        m = opensim.Model(str(osim_path))
        state = m.initSystem()
        m.realizePosition(state)
        out = {}
        for comp in m.getComponentsList():
            gp = opensim.GeometryPath.safeDownCast(comp)
            if gp is not None:
                out[gp.getOwner().getAbsolutePathString()] = float(gp.getLength(state))
    return out


def _rescale_path_forces(tree: ET.ElementTree, model: _Model, pre: dict[str, float], post: dict[str, float]) -> int:
    n = 0
    for comp in model.comp_of.values():
        tag = comp.el.tag
        if tag not in _FIBER_TENDON_FORCES and tag not in _RESTING_FORCES:
            continue
        a, b = pre.get(comp.path), post.get(comp.path)
        if a is None or b is None or not a > 0.0:
            continue
        f = b / a
        keys = ("optimal_fiber_length", "tendon_slack_length") if tag in _FIBER_TENDON_FORCES else (_RESTING_FORCES[tag],)
        for key in keys:
            e = comp.el.find(key)
            if e is not None and e.text:
                _set_num(e, float(e.text) * f)
        n += 1
    return n


def write_scaled_osim(src_osim: str | Path, scales: Mapping[str, Iterable[float]], out_path: str | Path,
                      marker_offsets: Mapping[str, Iterable[float]] | None = None, mass: float | None = None,
                      preserve_mass_distribution: bool = False, name: str | None = None,
                      rescale_paths: bool | None = None) -> Path:
    """Write ``src_osim`` scaled by ``scales`` to ``out_path`` (atomically). Returns ``out_path``.

    scales: {body name: (3,) factors}; bodies not listed keep their size (as in OpenSim).
    marker_offsets: {marker: (3,) metres} marker locations in their body frames that replace the
        source model's (unscaled) locations and are then scaled with their body, the convention
        of :class:`pipeline.kinematics.fk.Skeleton` and torch scaling.
    mass: total model mass in kg after scaling (None or 0: as scaled).
    preserve_mass_distribution: do not scale body masses by volume (OpenSim's flag).
    name: the scaled model's name.
    rescale_paths: rescale muscle fibre/tendon (and ligament/spring resting) lengths by the path-
        length ratio, as OpenSim's postScale does. Needs the opensim package; default: when the
        model has such forces and opensim is installed.
    """
    src = Path(src_osim)
    out = Path(out_path)
    tree = _load_xml(src)
    model = scale_model_xml(tree, scales, source=src, marker_offsets=marker_offsets, mass=mass,
                            preserve_mass_distribution=preserve_mass_distribution, name=name)
    has_paths = any(c.el.tag in _FIBER_TENDON_FORCES or c.el.tag in _RESTING_FORCES for c in model.comp_of.values())
    if rescale_paths is None:
        try:
            import opensim  # noqa: F401
            rescale_paths = has_paths
        except ImportError:
            rescale_paths = False
            if has_paths:
                log.warning("%s: opensim not installed; muscle fibre/tendon lengths are not rescaled", src)
    ET.indent(tree, space="\t")
    with atomic_path(out) as tmp:
        tree.write(tmp, encoding="UTF-8", xml_declaration=True)
        if rescale_paths and has_paths:
            # geometry files are looked up beside the model; run opensim on a copy in the source folder
            pre = _path_lengths(src)
            post = _path_lengths(tmp)
            n = _rescale_path_forces(tree, model, pre, post)
            log.debug("%s: rescaled %d path-based forces by their path-length ratio", out, n)
            tree.write(tmp, encoding="UTF-8", xml_declaration=True)
    return out


# ----------------------------------------------------------------------------------------------
# scale sets and scales.json
# ----------------------------------------------------------------------------------------------

def read_scale_set(xml_path: str | Path, applied_only: bool = True) -> dict[str, np.ndarray]:
    """{segment: (3,) factors} from an OpenSim ScaleSet XML (e.g. ``*_scaleSet_applied.xml``).

    applied_only: leave out entries with ``<apply>false</apply>``.
    """
    path = Path(xml_path)
    root = read_xml(path, KinematicsError, "scale set")
    out: dict[str, np.ndarray] = {}
    scales = list(root.iter("Scale"))
    if not scales:
        raise KinematicsError(f"{path}: no <Scale> entries (expected an OpenSim ScaleSet)")
    for sc in scales:
        seg = (sc.findtext("segment") or "").strip()
        if not seg:
            raise KinematicsError(f"{path}: a <Scale> entry has no <segment>")
        if applied_only and (sc.findtext("apply") or "true").strip().lower() == "false":
            continue
        out[seg] = _vec(sc.find("scales"), 3, f"{path}: Scale {seg!r} scales")
    return out


def write_scale_set(path: str | Path, scales: Mapping[str, Iterable[float]]) -> Path:
    """Write {segment: (3,)} as an OpenSim ScaleSet XML (loadable by ``opensim.ScaleSet``)."""
    root = ET.Element("OpenSimDocument", {"Version": "40000"})
    ss = ET.SubElement(root, "ScaleSet", {"name": "scale_set"})
    objs = ET.SubElement(ss, "objects")
    for seg, s in scales.items():
        v = np.asarray(s, dtype=np.float64).reshape(3)
        e = ET.SubElement(objs, "Scale", {"name": str(seg)})
        _set_vec(ET.SubElement(e, "scales"), v)
        ET.SubElement(e, "segment").text = str(seg)
        ET.SubElement(e, "apply").text = "true"
    ET.SubElement(ss, "groups")
    tree = ET.ElementTree(root)
    ET.indent(tree, space="\t")
    with atomic_path(path) as tmp:
        tree.write(tmp, encoding="UTF-8", xml_declaration=True)
    return Path(path)


SCALES_FORMAT = "odah-scales-1"


def write_scales_json(path: str | Path, scales: Mapping[str, Iterable[float]], *,
                      marker_offsets: Mapping[str, Iterable[float]] | None = None, mass: float | None = None,
                      height: float | None = None, model: str | None = None, method: str | None = None,
                      extra: Mapping | None = None) -> Path:
    """Write ``scales.json``: per-body factors (and optional marker offsets, metres) with context."""
    doc: dict = {"format": SCALES_FORMAT,
                 "scales": {str(k): [float(x) for x in np.asarray(v, dtype=np.float64).reshape(3)]
                            for k, v in scales.items()}}
    if marker_offsets:
        doc["marker_offsets"] = {str(k): [float(x) for x in np.asarray(v, dtype=np.float64).reshape(3)]
                                 for k, v in marker_offsets.items()}
    for key, val in (("mass", mass), ("height", height), ("model", model), ("method", method)):
        if val is not None:
            doc[key] = val
    if extra:
        doc.update(dict(extra))
    text = json.dumps(doc, indent=2)
    # one line per [sx, sy, sz]
    text = re.sub(r"\[\s+([-0-9.eE+]+),\s+([-0-9.eE+]+),\s+([-0-9.eE+]+)\s+\]", r"[\1, \2, \3]", text)
    return atomic_write_text(path, text + "\n")


def read_scales_json(path: str | Path) -> dict:
    """The document of :func:`write_scales_json`, with ``scales`` as {body: (3,) arrays}."""
    path = Path(path)
    doc = read_document(path, KinematicsError, "scales")
    if not isinstance(doc, dict) or not isinstance(doc.get("scales"), dict):
        raise KinematicsError(f"{path}: expected an object with a 'scales' mapping of body -> [sx, sy, sz]")
    doc["scales"] = {k: _as3(v, f"{path}: scales.{k}") for k, v in doc["scales"].items()}
    bad = {k: v.tolist() for k, v in doc["scales"].items() if not (np.isfinite(v).all() and (v > 0).all())}
    if bad:
        raise KinematicsError(f"{path}: scale factors must be positive finite numbers; not so for "
                              + ", ".join(f"{k} {v}" for k, v in bad.items()))
    if isinstance(doc.get("marker_offsets"), dict):
        doc["marker_offsets"] = {k: _as3(v, f"{path}: marker_offsets.{k}") for k, v in doc["marker_offsets"].items()}
    return doc


def _as3(v, where: str) -> np.ndarray:
    try:
        a = np.asarray(v, dtype=np.float64).reshape(3)
    except (ValueError, TypeError):
        raise KinematicsError(f"{where}: expected 3 numbers, got {v!r}") from None
    return a
