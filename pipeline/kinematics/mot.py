"""OpenSim motion files (.mot, .sto): read, write, and the :class:`Motion` container.

A .mot/.sto file is a header ending in ``endheader``, a row of column labels whose first entry
is ``time``, and whitespace/tab separated rows::

    Coordinates
    version=1
    nRows=73
    nColumns=24
    inDegrees=yes
    endheader
    time  pelvis_tilt  ...  pelvis_tx ...

Inside odah values are RADIANS for rotational coordinates and METRES for translational ones.
Which columns are rotational follows OpenSim (``SimbodyEngine::scaleRotationalDofColumns``): only
coordinates whose motion type is Rotational are converted between degrees and radians; Coupled
ones (e.g. a coordinate that drives only spline translations) and translational ones never are.
The motion types come from a model when one is given (an .osim path, a loaded model with
``coordinates``, or a ``{name: 'rotational'|'translational'|'coupled'}`` mapping; columns that are
not coordinates of the model, e.g. forces, are left as they are), else from OpenSim's naming:
columns ending in ``_tx``, ``_ty``, ``_tz`` are translational, the rest rotational.

Header rules follow OpenSim's Storage: ``inDegrees=yes|no``; an old SIMM-style .mot without a
``version`` line is in degrees; otherwise a file without ``inDegrees`` is in radians.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import MotionIOError
from ..io_utils import atomic_write_text, read_xml
from ..log import get_logger

log = get_logger("kinematics.mot")

MOTION_TYPES = ("rotational", "translational", "coupled")
_TRANSLATIONAL_NAME = re.compile(r"_t[xyz]$")


def naming_motion_type(name: str) -> str:
    """OpenSim's naming convention: ``*_tx/_ty/_tz`` translational, everything else rotational.

    State columns (``/jointset/<joint>/<coordinate>/value`` or ``/speed``) use the coordinate name."""
    parts = name.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-1] in ("value", "speed"):
        name = parts[-2]
    return "translational" if _TRANSLATIONAL_NAME.search(name) else "rotational"


@dataclass
class Motion:
    """Coordinate trajectories.

    names: column names (coordinates, or any other quantity), without 'time'.
    values: (T, C) float64; RADIANS for rotational columns, METRES for translational ones.
    times: (T,) seconds.
    source: the file the motion came from, if any.
    rotational: (C,) bool, True for columns stored in degrees in files. Default: from the names
        (see :func:`naming_motion_type`); readers given a model set it from the model.
    """

    names: list[str]
    values: np.ndarray
    times: np.ndarray
    source: Path | None = None
    rotational: np.ndarray | None = None
    name: str = "Coordinates"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        where = f"Motion{f' from {self.source}' if self.source else ''}"
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim != 2:
            raise MotionIOError(f"{where}: values must be (T, C), got shape {self.values.shape}")
        t, c = self.values.shape
        if len(self.names) != c:
            raise MotionIOError(f"{where}: {len(self.names)} names for {c} columns")
        dups = sorted({n for n in self.names if self.names.count(n) > 1})
        if dups:
            raise MotionIOError(f"{where}: duplicate column name(s): {', '.join(dups)}")
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        if self.times.shape != (t,):
            raise MotionIOError(f"{where}: times has {self.times.shape[0]} entries for {t} frames")
        if self.rotational is None:
            self.rotational = np.array([naming_motion_type(n) == "rotational" for n in self.names], dtype=bool)
        self.rotational = np.asarray(self.rotational, dtype=bool).reshape(-1)
        if self.rotational.shape != (c,):
            raise MotionIOError(f"{where}: rotational mask has {self.rotational.shape[0]} entries for {c} columns")
        if self.source is not None:
            self.source = Path(self.source)

    @property
    def n_frames(self) -> int:
        return self.values.shape[0]

    @property
    def rate(self) -> float:
        """Mean frame rate (Hz) from the times; 0 for fewer than 2 frames."""
        if self.n_frames < 2:
            return 0.0
        return float((self.n_frames - 1) / (self.times[-1] - self.times[0]))

    def column(self, name: str) -> np.ndarray:
        """(T,) values of one column (radians / metres)."""
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise MotionIOError(f"{self._where()}: no column named {name!r}") from None

    def degrees(self) -> np.ndarray:
        """(T, C) with rotational columns in degrees (what a file holds)."""
        out = self.values.copy()
        out[:, self.rotational] = np.rad2deg(out[:, self.rotational])
        return out

    def reorder(self, names: Sequence[str], fill: Mapping[str, float] | None = None) -> "Motion":
        """Columns ``names`` in that order. Names not in the motion take ``fill[name]``
        (radians/metres) when given, else raise MotionIOError listing them."""
        names = list(names)
        fill = dict(fill or {})
        absent = [n for n in names if n not in self.names and n not in fill]
        if absent:
            raise MotionIOError(f"{self._where()}: column(s) missing: {', '.join(absent)}")
        vals = np.empty((self.n_frames, len(names)))
        rot = np.empty(len(names), dtype=bool)
        for j, n in enumerate(names):
            if n in self.names:
                i = self.names.index(n)
                vals[:, j] = self.values[:, i]
                rot[j] = self.rotational[i]
            else:
                vals[:, j] = fill[n]
                rot[j] = naming_motion_type(n) == "rotational"
        return replace(self, names=names, values=vals, rotational=rot, meta=dict(self.meta))

    def select_frames(self, frames: slice | Sequence[int] | np.ndarray) -> "Motion":
        idx = np.arange(self.n_frames)[frames]
        return replace(self, values=self.values[idx].copy(), times=self.times[idx].copy(), meta=dict(self.meta))

    def time_range(self, start: float | None = None, end: float | None = None) -> "Motion":
        keep = np.ones(self.n_frames, dtype=bool)
        if start is not None:
            keep &= self.times >= start - 1e-9
        if end is not None:
            keep &= self.times <= end + 1e-9
        if not keep.any():
            raise MotionIOError(f"{self._where()}: no frame in time range [{start}, {end}] s")
        return self.select_frames(keep)

    def resample(self, rate: float) -> "Motion":
        """Linear interpolation to ``rate`` Hz over the same time span."""
        if not (rate > 0 and math.isfinite(rate)):
            raise MotionIOError(f"resample: rate must be positive, got {rate!r}")
        if self.n_frames < 2:
            return replace(self, meta=dict(self.meta))
        t0, t1 = self.times[0], self.times[-1]
        n = int(math.floor((t1 - t0) * rate + 1e-6)) + 1
        new_t = t0 + np.arange(n) / rate
        vals = np.stack([np.interp(new_t, self.times, self.values[:, j]) for j in range(self.values.shape[1])], axis=1)
        return replace(self, values=vals.reshape(n, -1), times=new_t, meta=dict(self.meta))

    def _where(self) -> str:
        return str(self.source) if self.source else "motion"


# ----------------------------------------------------------------------------------------------
# motion types from a model
# ----------------------------------------------------------------------------------------------

# Coordinates of non-custom joints, in order, by joint type (OpenSim 4).
_JOINT_TYPES: dict[str, tuple[str, ...]] = {
    "PinJoint": ("rotational",),
    "SliderJoint": ("translational",),
    "UniversalJoint": ("rotational", "rotational"),
    "BallJoint": ("rotational",) * 3,
    "GimbalJoint": ("rotational",) * 3,
    "EllipsoidJoint": ("rotational",) * 3,
    "FreeJoint": ("rotational",) * 3 + ("translational",) * 3,
    "PlanarJoint": ("rotational", "translational", "translational"),
    "ScapulothoracicJoint": ("rotational",) * 4,
    "WeldJoint": (),
}


def function_element(holder: ET.Element) -> ET.Element | None:
    """The function element held by a TransformAxis or a MovingPathPoint's ``*_location``."""
    for ch in holder:
        if isinstance(ch.tag, str) and ch.tag not in ("coordinates", "axis"):
            if ch.tag == "function":  # OpenSim 3 style <function><LinearFunction/></function>
                return ch[0] if len(ch) else None
            return ch
    return None


def _custom_joint_types(joint: ET.Element) -> dict[str, str]:
    """OpenSim's CustomJoint rule: a coordinate on a rotation axis (1-3) with a LinearFunction of
    slope +-1 is Rotational, on a translation axis Translational; any other use is Coupled unless
    a pure use already decided it (later pure uses win, as in CustomJoint::constructCoordinates)."""
    types: dict[str, str] = {}
    st = joint.find("SpatialTransform")
    axes = st.findall("TransformAxis") if st is not None else []
    coords = [c.get("name") for c in joint.iter("Coordinate")]
    for name in coords:
        mt = None
        for j, ax in enumerate(axes[:6]):
            used = (ax.findtext("coordinates") or "").split()
            if name not in used:
                continue
            func = function_element(ax)
            pure = False
            if func is not None and func.tag == "LinearFunction":
                coeffs = (func.findtext("coefficients") or "").split()
                pure = bool(coeffs) and abs(abs(float(coeffs[0])) - 1.0) == 0.0
            if pure:
                mt = "rotational" if j < 3 else "translational"
            elif mt is None:
                mt = "coupled"
        types[name] = mt or "coupled"
    return types


def osim_motion_types(path: str | Path) -> dict[str, str]:
    """{coordinate: 'rotational'|'translational'|'coupled'} read from an .osim file's joints."""
    return motion_types_from_xml(read_xml(path, MotionIOError, "the model for the coordinate motion types"))


def motion_types_from_xml(root: ET.Element) -> dict[str, str]:
    """{coordinate: motion type} from a parsed .osim document (see :func:`osim_motion_types`)."""
    types: dict[str, str] = {}
    for el in root.iter():
        if not el.tag.endswith("Joint") or el.find("coordinates") is None and el.find("CoordinateSet") is None:
            continue
        if el.tag == "CustomJoint":
            types.update(_custom_joint_types(el))
        elif el.tag in _JOINT_TYPES:
            names = [c.get("name") for c in el.iter("Coordinate")]
            for n, mt in zip(names, _JOINT_TYPES[el.tag]):
                types[n] = mt
        else:
            for c in el.iter("Coordinate"):
                types[c.get("name")] = naming_motion_type(c.get("name"))
    return types


def model_motion_types(model: Any) -> dict[str, str]:
    """Motion types from an .osim path, a loaded model (``model.coordinates`` with ``name`` and
    ``motion_type``) or a mapping name -> motion type."""
    if model is None:
        return {}
    if isinstance(model, (str, Path)):
        return osim_motion_types(model)
    if isinstance(model, Mapping):
        types = {str(k): str(v).lower() for k, v in model.items()}
    elif hasattr(model, "coordinates"):
        coords = model.coordinates
        coords = coords.values() if isinstance(coords, Mapping) else coords
        types = {c.name: str(c.motion_type).lower() for c in coords}
    else:
        raise MotionIOError(f"cannot take coordinate motion types from a {type(model).__name__}")
    bad = {k: v for k, v in types.items() if v not in MOTION_TYPES}
    if bad:
        raise MotionIOError(f"unknown motion type(s) {bad}; expected one of {', '.join(MOTION_TYPES)}")
    return types


def rotational_mask(names: Sequence[str], model: Any) -> np.ndarray:
    """(C,) bool: columns to convert between degrees and radians.

    With a model, only its Rotational coordinates (as OpenSim does; other columns such as forces
    are left alone); without one, OpenSim's naming convention."""
    if model is None:
        return np.array([naming_motion_type(n) == "rotational" for n in names], dtype=bool)
    types = model_motion_types(model)

    def one(n: str) -> bool:
        # state columns like '/jointset/hip_r/hip_flexion_r/value' use the coordinate's name
        key = n if n in types else n.split("/")[-2] if n.endswith(("/value", "/speed")) and n.count("/") >= 2 else n
        return types.get(key) == "rotational"
    return np.array([one(n) for n in names], dtype=bool)


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------

def _cells(line: str) -> list[str]:
    line = line.strip("\r\n")
    if "\t" in line:
        cells = [c.strip() for c in line.split("\t")]
        while cells and not cells[-1]:
            cells.pop()
        return cells
    return line.split()


def read_mot(path: str | Path, model: Any = None) -> Motion:
    """Read a .mot or .sto file into a :class:`Motion` (radians / metres).

    model: an .osim path, a loaded model or a {name: motion type} mapping deciding which columns
    are rotational (see the module docstring); default: OpenSim naming.
    Raises MotionIOError naming the file and line for a missing 'endheader', a first column that
    is not 'time', rows of the wrong width or non-numeric cells.
    """
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        raise MotionIOError(f"{path}: cannot read motion file: {exc.strerror or exc}") from exc

    header: dict[str, str] = {}
    name = ""
    version = 0
    in_degrees: bool | None = None
    end = None
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        if line.lower() == "endheader":
            end = i
            break
        m = re.match(r"^([A-Za-z_#][\w#]*)\s*[=\s]\s*(.*)$", line)
        key, rest = (m.group(1), m.group(2).strip()) if m else (line, "")
        if key == "inDegrees":
            in_degrees = rest.lower() in ("yes", "y", "true", "1")
        elif key == "version":
            try:
                version = int(float(rest))
            except ValueError:
                pass
        elif key == "Angles" and line.startswith("Angles are in"):
            in_degrees = "degrees" in line
        elif key == "name":
            name = rest
        elif not header and not name and "=" not in line:
            name = line
        header[key] = rest
    if end is None:
        raise MotionIOError(f"{path}: no 'endheader' line; not an OpenSim .mot/.sto file")
    if in_degrees is None:
        # OpenSim Storage: SIMM-era .mot files (no version) are in degrees; the rest in radians
        in_degrees = version < 1 and path.suffix.lower() == ".mot"

    li = end + 1
    while li < len(lines) and not lines[li].strip():
        li += 1
    if li >= len(lines):
        raise MotionIOError(f"{path}: no column labels after 'endheader'")
    labels = _cells(lines[li])
    if not labels or labels[0].lower() != "time":
        raise MotionIOError(f"{path}: line {li + 1}: first column must be 'time', found {labels[:1]}")
    names = labels[1:]
    ncol = len(labels)
    rows = []
    for lineno in range(li + 1, len(lines)):
        raw = lines[lineno]
        if not raw.strip():
            continue
        cells = raw.split()
        if len(cells) != ncol:
            raise MotionIOError(
                f"{path}: line {lineno + 1}: {len(cells)} values, expected {ncol} (time + {ncol - 1} columns)"
            )
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            bad = next(j for j, c in enumerate(cells) if not _is_float(c))
            raise MotionIOError(
                f"{path}: line {lineno + 1}, column {labels[bad]!r}: {cells[bad]!r} is not a number"
            ) from None
    data = np.asarray(rows, dtype=np.float64).reshape(len(rows), ncol)
    n_declared = header.get("nRows") or header.get("datarows")
    if n_declared and n_declared.strip().isdigit() and int(n_declared) != len(rows):
        log.warning("%s: header says %s rows but %d were read", path, n_declared, len(rows))

    rot = rotational_mask(names, model)
    values = data[:, 1:].copy()
    if in_degrees:
        values[:, rot] = np.deg2rad(values[:, rot])
    return Motion(names=names, values=values, times=data[:, 0], source=path, rotational=rot,
                  name=name or path.stem, meta={"header": header, "in_degrees_in_file": in_degrees})


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------

def write_mot(path: str | Path, motion: Motion, model: Any = None, in_degrees: bool = True) -> Path:
    """Write ``motion`` as an OpenSim .mot/.sto (version 1 header), atomically. Returns the path.

    in_degrees: write rotational columns in degrees with ``inDegrees=yes`` (OpenSim's default for
    coordinates) or in radians with ``inDegrees=no``. Which columns are rotational comes from
    ``model`` when given, else from ``motion.rotational``.
    """
    path = Path(path)
    if motion.n_frames == 0:
        raise MotionIOError(f"{path}: refusing to write a motion with no frames")
    rot = rotational_mask(motion.names, model) if model is not None else motion.rotational
    vals = motion.values.copy()
    if in_degrees:
        vals[:, rot] = np.rad2deg(vals[:, rot])
    bad = [n for n in motion.names if not n or any(ch.isspace() for ch in n)]
    if bad:
        raise MotionIOError(f"{path}: column names must be non-empty without whitespace: {bad}")
    t, c = vals.shape
    out = [
        motion.name or "Coordinates",
        "version=1",
        f"nRows={t}",
        f"nColumns={c + 1}",
        f"inDegrees={'yes' if in_degrees else 'no'}",
        "",
        "Units are S.I. units (second, meters, Newtons, ...)",
        f"Angles are in {'degrees' if in_degrees else 'radians'}.",
        "",
        "endheader",
        "\t".join(["time", *motion.names]),
    ]
    for f in range(t):
        out.append("\t".join([f"{motion.times[f]:.8f}", *(_num(v) for v in vals[f])]))
    atomic_write_text(path, "\n".join(out) + "\n")
    return path


def _num(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    return f"{v:.12g}"
