"""The ``opensim`` backend: OpenSim 4.6's own ScaleTool and InverseKinematicsTool.

These are the reference tools odah's torch kinematics is judged against. Everything here:

- reads inputs from absolute paths (paths inside setup files are relative to the setup file's
  folder, as OpenSim resolves them);
- runs OpenSim with its console output silenced and its log routed into the ``odah.opensim``
  logger (DEBUG), without leaving an ``opensim.log`` behind;
- raises :class:`~pipeline.errors.KinematicsError` carrying OpenSim's last messages on failure;
- writes outputs atomically (OpenSim writes into a private temporary folder beside the outputs,
  and finished files are renamed into place).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import KinematicsError
from ..io_utils import atomic_path, read_xml
from ..log import get_logger
from .mot import Motion, read_mot
from .trc import MarkerData, read_trc

log = get_logger("opensim")

_UNSET = ("", "unassigned")


# ----------------------------------------------------------------------------------------------
# running OpenSim quietly
# ----------------------------------------------------------------------------------------------

def import_opensim():
    """The opensim module, with its ``opensim.log`` file sink removed (once)."""
    try:
        import opensim
    except ImportError as exc:  # pragma: no cover - opensim is a project dependency
        raise KinematicsError("the opensim backend needs the 'opensim' package (pip install opensim==4.6)") from exc
    if not getattr(opensim, "_odah_quiet", False):
        opensim.Logger.removeFileSink()
        opensim._odah_quiet = True
    return opensim


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Send file descriptor 1 (OpenSim's C++ console sink) to /dev/null for a while."""
    fd = 1  # the C++ side writes to the process's descriptor 1, whatever sys.stdout is now
    sys.stdout.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def opensim_session(what: str) -> Iterator[tuple[object, list[str]]]:
    """Run OpenSim calls quietly: yields ``(opensim, messages)``.

    OpenSim's messages are collected in ``messages`` and logged at DEBUG. An exception inside
    becomes a KinematicsError naming ``what`` with OpenSim's last messages.
    """
    opensim = import_opensim()
    messages: list[str] = []

    class _Sink(opensim.LogSink):
        def sinkImpl(self, msg):  # noqa: N802 - OpenSim's name
            text = str(msg).rstrip()
            messages.append(text)
            log.debug("%s", text)

    sink = _Sink()
    opensim.Logger.addSink(sink)
    try:
        with _stdout_silenced():
            yield opensim, messages
    except KinematicsError:
        raise
    except Exception as exc:
        tail = "\n  ".join(m for m in messages[-8:] if m)
        raise KinematicsError(f"{what} failed: {exc}" + (f"\n  OpenSim said:\n  {tail}" if tail else "")) from exc
    finally:
        opensim.Logger.removeSink(sink)


def _abs(path: str | Path, base: Path) -> Path:
    p = Path(str(path).strip())
    return p if p.is_absolute() else (base / p)


def _is_set(text: str | None) -> bool:
    return text is not None and text.strip().lower() not in _UNSET


# ----------------------------------------------------------------------------------------------
# OpenSim 3 models
# ----------------------------------------------------------------------------------------------

def upgrade_osim(path: Path, version: int) -> ET.Element:
    """The root element of an OpenSim 3 model file (``Version`` < 40000) in the 4.0 format.

    OpenSim converts a file as it loads it; this loads ``path`` and parses what it prints.
    """
    try:
        import opensim  # noqa: F401
    except ImportError:
        raise KinematicsError(
            f"{path}: OpenSim {version} format (Version < 40000); install the opensim package to upgrade "
            "it, or open and save it in OpenSim 4"
        ) from None
    log.info("%s: OpenSim file version %d; converting to the 4.0 format through opensim", path, version)
    with tempfile.TemporaryDirectory() as tmp, opensim_session(f"converting {path} to OpenSim 4") as (osim, _):
        out = Path(tmp) / path.name
        osim.Model(str(path)).printToXML(str(out))
        return read_xml(out, KinematicsError, "model converted by OpenSim")


# ----------------------------------------------------------------------------------------------
# IK
# ----------------------------------------------------------------------------------------------

@dataclass
class IKToolResult:
    """What OpenSim's InverseKinematicsTool produced.

    mot_path: the written motion (.mot, degrees). motion: it read back (radians/metres).
    times (T,) s; marker_rmse (T,) and marker_max (T,) metres; total_squared_error (T,) m^2 — the
    per-frame marker errors OpenSim reports (unweighted, over the markers in use).
    """

    mot_path: Path
    motion: Motion
    times: np.ndarray
    marker_rmse: np.ndarray
    marker_max: np.ndarray
    total_squared_error: np.ndarray
    marker_names: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)


def _check_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise KinematicsError(f"{what} {path} not found")
    return path


def run_ik_tool(model: str | Path, trc: str | Path, out_mot: str | Path, setup_xml: str | Path | None = None,
                tasks: Mapping[str, float] | None = None, time_range: Sequence[float] | None = None,
                accuracy: float | None = None, constraint_weight: float | None = None,
                markers: MarkerData | None = None) -> IKToolResult:
    """Run OpenSim's InverseKinematicsTool.

    model: the (scaled) .osim. trc: marker trajectories. out_mot: the .mot to write (degrees).
    setup_xml: an OpenSim IK setup; its task set, accuracy, constraint weight, time range and
        coordinate file are used (model, marker file and outputs are always the arguments here).
    tasks: {marker: weight} marker tasks instead of the setup's; default without a setup: every
        model marker present in the TRC with weight 1.
    time_range: (start, end) seconds; default: the setup's, else the whole trial.
    markers: what ``trc`` holds, when the caller has read it already (default: read here).
    """
    import time

    model, trc, out_mot = Path(model).resolve(), Path(trc).resolve(), Path(out_mot).resolve()
    _check_file(model, "model")
    _check_file(trc, "marker file")
    if markers is None:
        markers = read_trc(trc, check_units=False)
    setup_dir = None
    if setup_xml is not None:
        setup_xml = _check_file(Path(setup_xml).resolve(), "IK setup")
        setup_dir = setup_xml.parent
    out_mot.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_mot.name}.", suffix=".tmp", dir=out_mot.parent))
    try:
        with opensim_session(f"OpenSim IK on {trc.name} with {model.name}") as (osim, messages):
            tool = osim.InverseKinematicsTool(str(setup_xml)) if setup_xml else osim.InverseKinematicsTool()
            tool.setName("ik")
            m = osim.Model(str(model))
            tool.setModel(m)
            tool.setMarkerDataFileName(str(trc))
            model_markers = [m.getMarkerSet().get(i).getName() for i in range(m.getMarkerSet().getSize())]
            if tasks is not None or setup_xml is None:
                if tasks is None:
                    tasks = {n: 1.0 for n in model_markers if n in markers.names}
                unknown = [n for n in tasks if n not in model_markers]
                if unknown:
                    raise KinematicsError(f"{model}: IK task markers not in the model: {', '.join(unknown)}")
                if not tasks:
                    raise KinematicsError(f"{trc}: no marker of the model {model.name} is in the TRC")
                ts = tool.getIKTaskSet()
                # keep coordinate tasks of a setup; replace marker tasks
                for i in reversed(range(ts.getSize())):
                    if osim.IKMarkerTask.safeDownCast(ts.get(i)) is not None:
                        ts.remove(i)
                for name, w in tasks.items():
                    t = osim.IKMarkerTask()
                    t.setName(name)
                    t.setWeight(float(w))
                    t.setApply(True)
                    ts.cloneAndAppend(t)
            if setup_dir is not None:
                cf = tool.get_coordinate_file()
                if _is_set(cf):
                    tool.set_coordinate_file(str(_abs(cf, setup_dir)))
            t0, t1 = float(markers.times[0]), float(markers.times[-1])
            if time_range is not None:
                t0, t1 = float(time_range[0]), float(time_range[1])
            elif setup_xml is not None:
                t0 = max(t0, float(tool.getStartTime()))
                t1 = min(t1, float(tool.getEndTime()))
            if t1 < t0:
                raise KinematicsError(f"IK time range [{t0}, {t1}] s is empty for {trc} "
                                      f"({markers.times[0]:.4g}..{markers.times[-1]:.4g} s)")
            tool.setStartTime(t0)
            tool.setEndTime(t1)
            if accuracy is not None:
                tool.set_accuracy(float(accuracy))
            if constraint_weight is not None:
                tool.set_constraint_weight(float(constraint_weight))
            tmp_mot = work / out_mot.name
            tool.setOutputMotionFileName(str(tmp_mot))
            tool.setResultsDir(str(work))
            tool.set_report_errors(True)
            tool.set_report_marker_locations(False)
            start = time.perf_counter()
            ok = tool.run()
            seconds = time.perf_counter() - start
            if not ok or not tmp_mot.is_file():
                raise KinematicsError("OpenSim IK did not produce a motion\n  " + "\n  ".join(messages[-8:]))
            used = [n for n in model_markers if n in markers.names]
        motion = read_mot(tmp_mot, model=model)
        errs = read_mot(work / "ik_ik_marker_errors.sto", model={})
        os.replace(tmp_mot, out_mot)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    motion.source = out_mot
    return IKToolResult(
        mot_path=out_mot, motion=motion, times=errs.times,
        marker_rmse=errs.column("marker_error_RMS"), marker_max=errs.column("marker_error_max"),
        total_squared_error=errs.column("total_squared_error"), marker_names=used, seconds=seconds,
        log=list(messages),
    )


# ----------------------------------------------------------------------------------------------
# Scale
# ----------------------------------------------------------------------------------------------

@dataclass
class ScaleToolResult:
    """What OpenSim's ScaleTool produced.

    model_path: the final model (marker-registered when the setup's MarkerPlacer applies, else the
    scaled-only model). scales: {segment: (3,)} the scale factors applied.
    """

    model_path: Path
    scales: dict[str, np.ndarray]
    scale_set_path: Path | None
    scaled_only_path: Path | None
    static_motion_path: Path | None
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)


_SCALE_INPUTS = {
    "GenericModelMaker": ("model_file", "marker_set_file"),
    "ModelScaler": ("marker_file",),
    "MarkerPlacer": ("marker_file", "coordinate_file"),
}


def _applies(section: ET.Element | None) -> bool:
    return section is not None and (section.findtext("apply") or "true").strip().lower() != "false"


def run_scale_tool(setup_xml: str | Path, out_dir: str | Path | None = None, *, model: str | Path | None = None,
                   static_trc: str | Path | None = None, mass: float | None = None,
                   time_range: Sequence[float] | None = None) -> ScaleToolResult:
    """Run OpenSim's ScaleTool from a setup file.

    Input paths in the setup are relative to its folder. Outputs get the names the setup gives
    them (defaults when it names none) in ``out_dir`` (default: the setup's folder, as OpenSim).
    model / static_trc / mass / time_range (s, s) override the setup's generic model, marker file,
    subject mass and the time ranges of measurement and marker placement.
    """
    import time

    setup_xml = _check_file(Path(setup_xml).resolve(), "scale setup")
    base = setup_xml.parent
    out_dir = Path(out_dir).resolve() if out_dir is not None else base
    root = read_xml(setup_xml, KinematicsError, "scale setup")
    tool_el = root if root.tag == "ScaleTool" else root.find("ScaleTool")
    if tool_el is None:
        raise KinematicsError(f"{setup_xml}: no <ScaleTool> element (expected an OpenSim scale setup)")
    gmm, scaler, placer = (tool_el.find(t) for t in ("GenericModelMaker", "ModelScaler", "MarkerPlacer"))
    if gmm is None:
        gmm = ET.SubElement(tool_el, "GenericModelMaker")
    overrides = {("GenericModelMaker", "model_file"): model,
                 ("ModelScaler", "marker_file"): static_trc, ("MarkerPlacer", "marker_file"): static_trc}
    if time_range is not None:
        for sec in (scaler, placer):
            if sec is not None:
                el = sec.find("time_range")
                if el is None:
                    el = ET.SubElement(sec, "time_range")
                el.text = f"{float(time_range[0])!r} {float(time_range[1])!r}"
    if mass is not None:
        el = tool_el.find("mass")
        if el is None:
            el = ET.SubElement(tool_el, "mass")
        el.text = repr(float(mass))

    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".scale.", suffix=".tmp", dir=out_dir))
    try:
        # inputs: link each into the private folder, since ScaleTool joins paths to its own folder
        n_links = 0

        def link(src: Path, what: str) -> str:
            nonlocal n_links
            if not src.is_file():
                raise KinematicsError(f"{setup_xml}: {what} {src} not found")
            n_links += 1
            name = f"in{n_links}_{src.name}"
            os.symlink(src, work / name)
            return name

        for sec_name, keys in _SCALE_INPUTS.items():
            sec = {"GenericModelMaker": gmm, "ModelScaler": scaler, "MarkerPlacer": placer}[sec_name]
            if sec is None:
                continue
            for key in keys:
                el = sec.find(key)
                override = overrides.get((sec_name, key))
                if override is not None:
                    if el is None:
                        el = ET.SubElement(sec, key)
                    el.text = link(Path(override).resolve(), f"{sec_name} {key}")
                elif el is not None and _is_set(el.text):
                    el.text = link(_abs(el.text, base), f"{sec_name} <{key}>")
        for el in tool_el.iter():
            if el.get("file") and _is_set(el.get("file")):
                el.set("file", link(_abs(el.get("file"), base), f"<{el.tag} file=...>"))
        if not _is_set(gmm.findtext("model_file")):
            raise KinematicsError(f"{setup_xml}: GenericModelMaker <model_file> is not set; pass the generic model")

        # outputs: fixed names in the private folder; final names as the setup gives them
        names: dict[str, str] = {}

        def output(sec: ET.Element | None, key: str, default: str, kind: str) -> None:
            if sec is None:
                return
            el = sec.find(key)
            final = el.text.strip() if el is not None and _is_set(el.text) else default
            if el is None:
                el = ET.SubElement(sec, key)
            el.text = f"out_{kind}{Path(final).suffix or Path(default).suffix}"
            names[kind] = Path(final).name

        stem = tool_el.get("name") or setup_xml.stem
        output(scaler, "output_model_file", f"{stem}_scaledOnly.osim", "scaled_only")
        output(scaler, "output_scale_file", f"{stem}_scaleSet_applied.xml", "scale_set")
        for key in ("output_joint_file", "output_muscle_file"):
            if scaler is not None and scaler.find(key) is not None:
                scaler.find(key).text = "Unassigned"
        if _applies(placer):
            output(placer, "output_model_file", f"{stem}_scaled.osim", "model")
            output(placer, "output_motion_file", f"{stem}_static_output.mot", "static_motion")
            if placer.find("output_marker_file") is not None:
                placer.find("output_marker_file").text = "Unassigned"
        setup_tmp = work / "setup_scale.xml"
        ET.ElementTree(root).write(setup_tmp, encoding="UTF-8", xml_declaration=True)

        with opensim_session(f"OpenSim ScaleTool ({setup_xml.name})") as (osim, messages):
            tool = osim.ScaleTool(str(setup_tmp))
            start = time.perf_counter()
            ok = tool.run()
            seconds = time.perf_counter() - start
        if not ok:
            raise KinematicsError(f"OpenSim ScaleTool ({setup_xml}) failed\n  " + "\n  ".join(messages[-8:]))
        produced = {k: work / f"out_{k}{Path(v).suffix}" for k, v in names.items()}
        missing = [k for k, p in produced.items() if not p.is_file()]
        if missing:
            raise KinematicsError(f"OpenSim ScaleTool ({setup_xml}) wrote no {', '.join(missing)}\n  "
                                  + "\n  ".join(messages[-8:]))
        from .osim_writer import read_scale_set

        scales = read_scale_set(produced["scale_set"]) if "scale_set" in produced else {}
        # OpenSim 4.6 lists every frame (e.g. 'pelvis_offset'); keep the bodies and ground
        model_out = produced.get("model", produced.get("scaled_only"))
        bodies = {el.get("name") for el in read_xml(model_out, KinematicsError, "OpenSim's scaled model").iter()
                  if el.tag in ("Body", "Ground")}
        scales = {k: v for k, v in scales.items() if k in bodies}
        final: dict[str, Path] = {}
        for k, p in produced.items():
            final[k] = out_dir / names[k]
            os.replace(p, final[k])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ScaleToolResult(
        model_path=final.get("model", final.get("scaled_only")), scales=scales,
        scale_set_path=final.get("scale_set"), scaled_only_path=final.get("scaled_only"),
        static_motion_path=final.get("static_motion"), seconds=seconds, log=list(messages),
    )


# ----------------------------------------------------------------------------------------------
# Scale without a setup file
# ----------------------------------------------------------------------------------------------

def _model_marker_info(osim_mod, model_path: Path, marker_set: Path | None):
    """Markers (name -> (body, location in ground at the default pose)) and body parents."""
    m = osim_mod.Model(str(model_path))
    if marker_set is not None:
        m.updateMarkerSet(osim_mod.MarkerSet(str(marker_set)))
    state = m.initSystem()
    m.realizePosition(state)
    markers = {}
    for i in range(m.getMarkerSet().getSize()):
        mk = m.getMarkerSet().get(i)
        markers[mk.getName()] = (mk.getParentFrame().findBaseFrame().getName(),
                                 mk.getLocationInGround(state).to_numpy().copy())
    parents = {}
    for i in range(m.getJointSet().getSize()):
        j = m.getJointSet().get(i)
        parents[j.getChildFrame().findBaseFrame().getName()] = j.getParentFrame().findBaseFrame().getName()
    bodies = [m.getBodySet().get(i).getName() for i in range(m.getBodySet().getSize())]
    return markers, parents, bodies


def auto_measurements(markers: Mapping[str, tuple[str, np.ndarray]], parents: Mapping[str, str],
                      bodies: Sequence[str], present: set[str], max_pairs: int = 6,
                      min_distance: float = 0.05) -> dict[str, dict]:
    """A measurement set for OpenSim's ModelScaler when no setup file gives one (a heuristic).

    For each body: the longest pairs (>= ``min_distance`` m apart in the default pose, at most
    ``max_pairs``) of markers fixed to it; if it has fewer than two markers, pairs spanning the
    joint to its parent (markers on the parent x markers on the body). Bodies with neither take
    their nearest measured ancestor's factor. Left/right bodies (``*_r``/``*_l``) share one
    measurement. Scaling is uniform per body (axes X Y Z).
    Returns {measurement name: {"pairs": [(a, b), ...], "bodies": [body, ...]}}.
    """
    on: dict[str, list[str]] = {}
    for name, (body, _) in markers.items():
        if name in present:
            on.setdefault(body, []).append(name)

    def longest(cands: list[tuple[str, str]], limit: float) -> list[tuple[str, str]]:
        scored = sorted(((float(np.linalg.norm(markers[a][1] - markers[b][1])), a, b) for a, b in cands), reverse=True)
        return [(a, b) for d, a, b in scored if d >= limit][:max_pairs]

    out: dict[str, dict] = {}
    for body in bodies:
        own = on.get(body, [])
        pairs = longest([(a, b) for i, a in enumerate(own) for b in own[i + 1:]], min_distance)
        if not pairs and own and body in parents:
            pairs = longest([(a, b) for a in on.get(parents[body], []) for b in own], 2 * min_distance)
        if pairs:
            out[body] = {"pairs": pairs, "bodies": [body]}
    # left/right bodies share one measurement (pairs of both sides): symmetric factors
    for body in list(out):
        if body.endswith("_r") and body[:-2] + "_l" in out:
            left = out.pop(body[:-2] + "_l")
            right = out.pop(body)
            out[body[:-2]] = {"pairs": right["pairs"] + left["pairs"], "bodies": right["bodies"] + left["bodies"]}
    owner = {b: k for k, spec in out.items() for b in spec["bodies"]}
    for body in bodies:
        if body in owner:
            continue
        anc = parents.get(body)
        while anc is not None and anc not in owner:
            anc = parents.get(anc)
        if anc is not None:
            out[owner[anc]]["bodies"].append(body)
            owner[body] = owner[anc]
        else:
            log.warning("no marker measures body %s or any ancestor; it keeps its size", body)
    return out


def sub_element(parent: ET.Element, tag: str, text: str | None = None, **attrib) -> ET.Element:
    """``ET.SubElement`` with its text."""
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = text
    return el


def _num(x: float) -> str:
    return repr(float(x))


def ik_task_set(name: str, marker_weights: Mapping[str, float], coordinate_weights: Mapping[str, float] | None = None,
                num: Callable[[float], str] = _num) -> ET.Element:
    """An OpenSim IKTaskSet element: an applied marker task per marker, then an applied
    coordinate task (towards the coordinate's default value) per coordinate, with their weights."""
    ts = ET.Element("IKTaskSet", name=name)
    objs = sub_element(ts, "objects")
    for marker, w in marker_weights.items():
        t = sub_element(objs, "IKMarkerTask", name=marker)
        sub_element(t, "apply", "true")
        sub_element(t, "weight", num(w))
    for coord, w in (coordinate_weights or {}).items():
        t = sub_element(objs, "IKCoordinateTask", name=coord)
        sub_element(t, "apply", "true")
        sub_element(t, "weight", num(w))
        sub_element(t, "value_type", "default_value")
    sub_element(ts, "groups")
    return ts


def scale_setup(*, name: str, mass: float, height: float | None, notes: str, model_file: str,
                marker_set_file: str, measurements: Mapping[str, Mapping], marker_file: str,
                time_range: Sequence[float], task_set: ET.Element, output_scale_file: str,
                output_model_file: str, output_motion_file: str, place_markers: bool = True,
                preserve_mass_distribution: bool = True, num: Callable[[float], str] = _num) -> ET.Element:
    """An OpenSim ScaleTool setup (its <OpenSimDocument> root): measurement-based scaling, then
    marker placement with ``task_set`` (an IKTaskSet, see :func:`ik_task_set`) unless
    ``place_markers`` is False.

    Paths are written as given (OpenSim resolves relative ones against the setup's folder).
    mass: kg. height: m, written in mm as OpenSim keeps it (None or 0: unknown). time_range:
    (start, end) s of ``marker_file`` for both steps. measurements: {name: {"pairs": [(a, b), ...],
    "bodies": [body, ...]}} as :func:`auto_measurements`. output_model_file: the final model, written
    by the marker placer (by the model scaler without placement). num: the text of a number.
    """
    root = ET.Element("OpenSimDocument", Version="40000")
    tool = sub_element(root, "ScaleTool", name=name)
    sub_element(tool, "mass", num(mass))
    sub_element(tool, "height", num(height * 1000.0) if height else "-1")
    sub_element(tool, "age", "-1")
    sub_element(tool, "notes", notes)
    gmm = sub_element(tool, "GenericModelMaker")
    sub_element(gmm, "model_file", model_file)
    sub_element(gmm, "marker_set_file", marker_set_file)
    ms = sub_element(tool, "ModelScaler")
    sub_element(ms, "apply", "true")
    sub_element(ms, "scaling_order", "measurements")
    mset = sub_element(ms, "MeasurementSet")
    objs = sub_element(mset, "objects")
    for mname, spec in measurements.items():
        meas = sub_element(objs, "Measurement", name=mname)
        sub_element(meas, "apply", "true")
        mps = sub_element(meas, "MarkerPairSet")
        mpo = sub_element(mps, "objects")
        for a, b in spec["pairs"]:
            sub_element(sub_element(mpo, "MarkerPair"), "markers", f"{a} {b}")
        sub_element(mps, "groups")
        bss = sub_element(meas, "BodyScaleSet")
        bso = sub_element(bss, "objects")
        for body in spec["bodies"]:
            sub_element(sub_element(bso, "BodyScale", name=body), "axes", "X Y Z")
        sub_element(bss, "groups")
    sub_element(mset, "groups")
    sset = sub_element(ms, "ScaleSet")
    sub_element(sset, "objects")
    sub_element(sset, "groups")
    trange = f"{num(time_range[0])} {num(time_range[1])}"
    sub_element(ms, "marker_file", marker_file)
    sub_element(ms, "time_range", trange)
    sub_element(ms, "preserve_mass_distribution", "true" if preserve_mass_distribution else "false")
    sub_element(ms, "output_model_file", "" if place_markers else output_model_file)
    sub_element(ms, "output_scale_file", output_scale_file)
    mp = sub_element(tool, "MarkerPlacer")
    sub_element(mp, "apply", "true" if place_markers else "false")
    mp.append(task_set)
    sub_element(mp, "marker_file", marker_file)
    sub_element(mp, "coordinate_file", "Unassigned")
    sub_element(mp, "time_range", trange)
    sub_element(mp, "output_motion_file", output_motion_file)
    sub_element(mp, "output_model_file", output_model_file if place_markers else "")
    sub_element(mp, "max_marker_movement", "-1")
    return root


def build_scale_setup(path: str | Path, model: str | Path, static_trc: str | Path, mass: float,
                      measurements: Mapping[str, Mapping], marker_tasks: Mapping[str, float],
                      time_range: Sequence[float], *, height: float | None = None,
                      marker_set: str | Path | None = None, preserve_mass_distribution: bool = True,
                      name: str = "subject") -> Path:
    """Write an OpenSim ScaleTool setup (absolute input paths) for measurement-based scaling and
    marker placement. measurements as :func:`auto_measurements`; marker_tasks {marker: weight}."""
    root = scale_setup(
        name=name, mass=mass, height=height,
        notes="written by odah (pipeline.kinematics.opensim_tools.build_scale_setup)",
        model_file=str(Path(model).resolve()),
        marker_set_file=str(Path(marker_set).resolve()) if marker_set else "Unassigned",
        measurements=measurements, marker_file=str(Path(static_trc).resolve()), time_range=time_range,
        task_set=ik_task_set("placement", marker_tasks), output_scale_file=f"{name}_scaleSet_applied.xml",
        output_model_file=f"{name}_scaled.osim", output_motion_file=f"{name}_static_output.mot",
        preserve_mass_distribution=preserve_mass_distribution)
    tree = ET.ElementTree(root)
    ET.indent(tree, space="\t")
    with atomic_path(path) as tmp:
        tree.write(tmp, encoding="UTF-8", xml_declaration=True)
    return Path(path)


def run_scale(model: str | Path, static_trc: str | Path, mass: float, out_path: str | Path, *,
              height: float | None = None, marker_set: str | Path | None = None,
              measurements: Mapping[str, Mapping] | None = None, marker_weights: Mapping[str, float] | None = None,
              time_range: Sequence[float] | None = None, preserve_mass_distribution: bool = True,
              name: str | None = None, markers: MarkerData | None = None) -> ScaleToolResult:
    """OpenSim ScaleTool without a setup file: measurement-based scaling + marker placement.

    model: the generic .osim (its markers, or those of ``marker_set``). static_trc: a static trial.
    mass: subject mass, kg. height: subject height, m (recorded; OpenSim does not use it).
    measurements: as :func:`auto_measurements` (default: built by it). marker_weights: marker
    placement weights (default 1 for every model marker in the trial). Writes the marker-
    registered scaled model to ``out_path``; returns the result with the applied scale factors.
    markers: what ``static_trc`` holds, when the caller has read it already (default: read here).
    """
    model, static_trc, out_path = Path(model).resolve(), Path(static_trc).resolve(), Path(out_path).resolve()
    _check_file(model, "model")
    data = markers if markers is not None else read_trc(static_trc)
    present = {n for j, n in enumerate(data.names) if np.isfinite(data.positions[:, j]).all(axis=1).mean() > 0.5}
    with opensim_session(f"reading {model.name} for scaling") as (osim, _):
        markers, parents, bodies = _model_marker_info(osim, model, Path(marker_set) if marker_set else None)
    usable = {n for n in markers if n in present}
    if len(usable) < 3:
        raise KinematicsError(f"{static_trc}: only {len(usable)} of the model's markers are in the static trial "
                              f"(model markers: {', '.join(sorted(markers)) or 'none'})")
    if measurements is None:
        measurements = auto_measurements(markers, parents, bodies, usable)
    weights = dict(marker_weights) if marker_weights else {n: 1.0 for n in markers if n in usable}
    tr = time_range if time_range is not None else (float(data.times[0]), float(data.times[-1]))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent))
    try:
        setup = build_scale_setup(work / "setup_scale.xml", model, static_trc, mass, measurements, weights, tr,
                                  height=height, marker_set=marker_set, preserve_mass_distribution=preserve_mass_distribution,
                                  name=name or "subject")
        res = run_scale_tool(setup, work / "out")
        os.replace(res.model_path, out_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res.model_path = out_path
    res.scale_set_path = res.scaled_only_path = res.static_motion_path = None
    return res
