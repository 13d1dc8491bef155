"""Stage 1 of the pipeline as plain functions: motion source -> markers -> scaled subject -> IK.

The Luigi tasks (``pipeline/tasks/{motion,markers,scale,ik}.py``) and ``odah markers`` are thin
shells over these. Every function takes the resolved :class:`~pipeline.config.schema.Config`.

Per source kind (see :mod:`pipeline.body.sources`):

==========  ==============================================  ===============  ==============
kind        body that carries the virtual markers            static trial     scale + IK
==========  ==============================================  ===============  ==============
amass       SMPL-X / SMPL-H (user's model files)             none             yes
markers     none: the measured markers                       none             yes
library     Anny retargeted onto the OpenSim skeleton        default pose     yes
anny_walk   Anny posed by the anny walk cycle                default pose     yes
opensim     Anny retargeted (markers for reference only)     default pose     skipped
==========  ==============================================  ===============  ==============
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import KinematicsError, MotionSourceError
from ..kinematics.ik_report import write_ik_report
from ..log import get_logger
from . import sources

log = get_logger("body.stage1")

#: Frames of a static trial (the body held still in the model's default pose).
STATIC_FRAMES = 5


def model_path(cfg) -> Path:
    """The OpenSim model of the config (``kinematics.model``: 'generic' or an .osim path)."""
    from ..kinematics.generic_model import resolve_model

    return resolve_model(cfg.kinematics.model)


def subject_rng(cfg, subject: str) -> np.random.Generator:
    """The subject's Generator: seeded by (dataset.seed, subject id), the same on any machine."""
    return np.random.default_rng(np.random.SeedSequence([int(cfg.dataset.seed), zlib.crc32(subject.encode())]))


def _torch_dtype(name: str):
    return {"float32": torch.float32, "float64": torch.float64}[name]


# ---- 1. the normalised motion --------------------------------------------------------------

def load_motion_source(spec: str, cfg, model=None) -> dict:
    """Read and normalise a motion source (resampled to ``motion.fps``, trimmed to ``max_seconds``).

    Returns a dict of arrays with ``kind`` (what :func:`sources.save_source` stores).
    """
    src = sources.parse_source(spec)
    fps, secs = float(cfg.motion.fps), float(cfg.motion.max_seconds)
    if src.kind == "amass":
        m = sources.read_amass(src.path, fps=fps, max_seconds=secs)
        return dict(kind="amass", model_type=m.model_type, gender=m.gender, betas=m.betas, poses=m.poses,
                    trans=m.trans, fps=m.fps, source_fps=m.source_fps, source=str(m.source))
    if src.kind == "markers":
        md = sources.read_marker_file(src.path, cfg.motion.marker_mapping or None, fps=fps, max_seconds=secs,
                                      up_axis=cfg.motion.up_axis or None)
        return dict(kind="markers", names=np.array(md.names), positions=md.positions, fps=md.rate,
                    times=md.times, source=str(src.path))
    if src.kind == "anny_walk":
        from .walkcycle import KEY_FPS

        duration = secs if secs > 0 else 2 * 40 / KEY_FPS  # two cycles by default
        return dict(kind="anny_walk", duration=duration, fps=fps, source="anny:walk")
    from ..kinematics.osim import load_osim

    model = model or load_osim(model_path(cfg))
    if src.kind == "opensim":
        motion = sources.read_opensim_motion(src.path, model, fps=fps, max_seconds=secs)
    else:
        motion = sources.library_motion(src.target, model, fps=fps, max_seconds=secs,
                                        rng=np.random.default_rng(int(cfg.dataset.seed)))
    return dict(kind=src.kind, names=np.array(motion.names), values=motion.values, times=motion.times,
                fps=fps, source=spec)


# ---- 2. the subject's body -------------------------------------------------------------------

def subject_body(cfg, subject: str, source: dict, skeleton=None) -> dict:
    """The body that carries the virtual markers: Anny phenotypes, or SMPL-family betas/gender."""
    if source["kind"] == "amass":
        gender = str(source["gender"]) if cfg.body.gender == "auto" else cfg.body.gender
        return dict(model=str(source["model_type"]), gender=gender, betas=np.asarray(source["betas"], float))
    if source["kind"] == "markers":
        return dict(model="none")
    from .models.anny_model import PHENOTYPES, sample_shapes

    body = anny_body(cfg)
    if cfg.body.phenotypes:
        if len(cfg.body.phenotypes) != len(PHENOTYPES):
            raise MotionSourceError(f"config key 'body.phenotypes': expected {len(PHENOTYPES)} values "
                                    f"({', '.join(PHENOTYPES)}), got {len(cfg.body.phenotypes)}")
        ph = np.asarray(cfg.body.phenotypes, float)
        how = "given"
    elif cfg.body.shape == "sample":
        lo, hi = (list(cfg.body.age_range) + [6.0, 85.0])[:2]
        ph = sample_shapes(subject_rng(cfg, subject), 1, (float(lo), float(hi)))[0][0]
        how = "sampled"
    elif cfg.body.shape == "fit":
        from .retarget import fit_shape, skeleton_lengths

        ph = fit_shape(body, skeleton_lengths(skeleton or _skeleton(cfg)[1])).cpu().numpy()[0]
        how = "fitted to the OpenSim model"
    else:
        ph = np.full(len(PHENOTYPES), 0.5)
        how = "average"
    shape = torch.as_tensor(ph[None], dtype=body.dtype, device=body.device)
    with torch.no_grad():
        h, m = float(body.height(shape)[0]), float(body.mass(shape)[0])
    log.info("subject '%s': Anny body %s, %.2f m, %.1f kg", subject, how, h, m)
    return dict(model="anny", phenotypes=ph, height=h, mass=m)


_CACHE: dict = {}


def anny_body(cfg):
    """The Anny body model of the config (cached per process)."""
    from .models.anny_model import AnnyBody

    key = ("anny", cfg.paths.anny_cache, cfg.body.dtype, cfg.body.device)
    if key not in _CACHE:
        _CACHE[key] = AnnyBody(cfg.paths.anny_cache or None, dtype=_torch_dtype(cfg.body.dtype), device=cfg.body.device)
    return _CACHE[key]


def _skeleton(cfg, path: Path | None = None):
    from ..kinematics.fk import Skeleton
    from ..kinematics.osim import load_osim

    path = Path(path) if path else model_path(cfg)
    key = ("skeleton", str(path), path.stat().st_mtime)
    if key not in _CACHE:
        model = load_osim(path)
        _CACHE[key] = (model, Skeleton(model, dtype=torch.float64))
    return _CACHE[key]


# ---- 3. markers ------------------------------------------------------------------------------

@dataclass
class MarkerResult:
    """Virtual (or measured) markers of a motion, OpenSim axes, metres."""

    motion: object  # MarkerData
    static: object | None = None  # MarkerData of the static trial, when the source has one
    static_pose: object | None = None  # Motion: the known pose of the static trial
    reference: object | None = None  # Motion: the coordinates that drove the body (library/.mot)
    mesh: object | None = None  # MeshSequence of the body (not saved by the tasks: large)
    info: dict = field(default_factory=dict)


def _layout_for(cfg, topology: str, model):
    from .layouts import load_layout

    spec = cfg.markers.layout or topology
    return load_layout(spec, model_markers=model.marker_names, topology=topology)


def marker_weights(cfg, body_params: dict) -> dict[str, float] | None:
    """Scaling/IK weights of the virtual markers: the layout's (None for measured markers)."""
    topo = str(body_params.get("model", "none"))
    if topo == "none":
        return None
    from .layouts import load_layout

    return load_layout(cfg.markers.layout or topo).weight_map()


def _markers_from_mesh(mesh, layout, cfg, rng):
    from .virtual_markers import virtual_markers

    off = None if cfg.markers.normal_offset < 0 else float(cfg.markers.normal_offset)
    return virtual_markers(mesh, layout, noise_std=float(cfg.markers.noise), rng=rng, normal_offset=off)


@dataclass
class _AnnyRig:
    """The subject's Anny body rigged on the skeleton scaled to it (built once per motion)."""

    body: object  # AnnyBody
    shape: torch.Tensor  # (1, 6) phenotypes
    scales: dict  # {body: (3,)} the skeleton's scale factors fitted to the body
    S: torch.Tensor  # (B, 3) the same as a table
    rig: object  # RetargetRig


def _anny_rig(cfg, body_params, skeleton) -> _AnnyRig:
    """Rig the subject's Anny body on the skeleton scaled so its joint centres are the body's joints:
    the body turns about them."""
    from .retarget import build_rig, scales_tensor, skeleton_scales_for_body

    body = anny_body(cfg)
    shape = torch.as_tensor(np.asarray(body_params["phenotypes"])[None], dtype=body.dtype, device=body.device)
    body_scales = skeleton_scales_for_body(body, shape, skeleton)
    S = scales_tensor(skeleton, body_scales)
    return _AnnyRig(body, shape, body_scales, S, build_rig(body, shape, skeleton, scales=S))


def _anny_on_skeleton(anny: _AnnyRig, skeleton, q: np.ndarray, fps: float, floor: bool):
    """Retarget the rigged Anny body onto the skeleton; translations scaled to the body, feet on the floor.

    Returns (mesh, q_used (T, C)).
    """
    from .retarget import default_q, retarget

    body, shape = anny.body, anny.shape
    q = np.array(q, float)
    names = skeleton.coordinate_names
    q0 = default_q(skeleton).cpu().numpy()
    if floor:
        from .retarget import skeleton_lengths

        # Leg length of the body relative to the skeleton's (thigh + shank, both sides).
        with torch.no_grad():
            from .landmarks import joint_alias_table

            heads = body.rest_bone_heads(shape)
            al = joint_alias_table("anny")
            h = heads[0].cpu().double().numpy()

            def leg(s):
                return (np.linalg.norm(h[body.joint_index(al[f"hip_{s}"])] - h[body.joint_index(al[f"knee_{s}"])])
                        + np.linalg.norm(h[body.joint_index(al[f"knee_{s}"])] - h[body.joint_index(al[f"ankle_{s}"])]))
            L = skeleton_lengths(skeleton).numpy()
            ratio = (leg("l") + leg("r")) / (L[2] + L[3] + L[7] + L[8])
        for c, i in ((n, names.index(n)) for n in ("pelvis_tx", "pelvis_ty", "pelvis_tz") if n in names):
            q[:, i] = q0[i] + (q[:, i] - q0[i]) * ratio
    with torch.no_grad():
        v = retarget(body, anny.rig, skeleton, torch.as_tensor(q, dtype=skeleton.dtype), scales=anny.S,
                     progress=q.shape[0] > 200)
    mesh = body.mesh_sequence(v, fps=fps, name="anny retargeted", world_to_opensim=np.eye(3))
    if floor and "pelvis_ty" in names:
        dy = -float(mesh.vertices[..., 1].min())
        mesh.vertices[..., 1] += dy
        q[:, names.index("pelvis_ty")] += dy
    return mesh, q


def make_markers(source: dict, body_params: dict, cfg, subject: str = "subject") -> MarkerResult:
    """Virtual markers (and static trial) of a normalised motion source on the subject's body."""
    from ..kinematics.mot import Motion, rotational_mask
    from ..kinematics.trc import MarkerData

    kind = source["kind"]
    model, skeleton = _skeleton(cfg)
    rng = subject_rng(cfg, subject) if cfg.markers.noise > 0 else None
    fps = float(source["fps"])
    t0 = time.perf_counter()
    if kind == "markers":
        md = MarkerData(names=[str(n) for n in source["names"]], positions=source["positions"], rate=fps,
                        times=source["times"], source=Path(str(source["source"])))
        known = set(model.marker_names)
        used = [n for n in md.names if n in known]
        if len(used) < 4:
            raise MotionSourceError(f"{source['source']}: only {len(used)} markers named like the OpenSim model's "
                                    f"({', '.join(used) or 'none'}); give motion.marker_mapping")
        return MarkerResult(motion=md, info=dict(markers=used, seconds=time.perf_counter() - t0))
    if kind == "amass":
        from .models.smplx_model import SmplxBody

        body = SmplxBody(cfg.paths.smplx_models, body_params["model"], body_params["gender"],
                         num_betas=int(cfg.body.num_betas), dtype=_torch_dtype(cfg.body.dtype), device=cfg.body.device)
        motion = sources.AmassMotion(
            model_type=str(source["model_type"]), gender=body_params["gender"], betas=np.asarray(source["betas"]),
            poses=np.asarray(source["poses"]), trans=np.asarray(source["trans"]), fps=fps,
            source_fps=float(source["source_fps"]), source=Path(str(source["source"])))
        mesh = sources.amass_mesh(motion, body, progress=motion.n_frames > 200)
        layout = _layout_for(cfg, body.topology, model)
        md = _markers_from_mesh(mesh, layout, cfg, rng)
        height, mass = smpl_height_mass(body, motion.betas)
        return MarkerResult(motion=md, mesh=mesh, info=dict(layout=str(layout.path), seconds=time.perf_counter() - t0,
                                                            height=height, mass=mass))

    # Anny-driven kinds
    from .retarget import default_q

    layout = _layout_for(cfg, "anny", model)
    static = static_pose = None
    q0 = default_q(skeleton).cpu().numpy()
    # The static trial and the retargeted motions (not the walk cycle) need the rig.
    anny = _anny_rig(cfg, body_params, skeleton) if cfg.markers.static or kind != "anny_walk" else None
    if cfg.markers.static:
        smesh, q_static = _anny_on_skeleton(anny, skeleton, q0[None], fps, floor=True)
        smesh.vertices = np.repeat(smesh.vertices, STATIC_FRAMES, axis=0)
        static = _markers_from_mesh(smesh, layout, cfg, rng)
        static_pose = Motion(names=list(skeleton.coordinate_names), values=np.repeat(q_static, STATIC_FRAMES, 0),
                             times=np.arange(STATIC_FRAMES) / fps, name="static pose",
                             rotational=rotational_mask(model.coordinate_names, model))
    reference = None
    if kind == "anny_walk":
        from .walkcycle import anny_walk_mesh

        body = anny_body(cfg)
        shape = torch.as_tensor(np.asarray(body_params["phenotypes"])[None], dtype=body.dtype, device=body.device)
        mesh = anny_walk_mesh(body, shape, float(source["duration"]), fps)
    else:
        q = np.asarray(source["values"], float)
        mesh, q_used = _anny_on_skeleton(anny, skeleton, q, fps, floor=bool(cfg.motion.floor))
        reference = Motion(names=list(skeleton.coordinate_names), values=q_used, times=np.asarray(source["times"]),
                           rotational=rotational_mask(model.coordinate_names, model),
                           name="reference")
    md = _markers_from_mesh(mesh, layout, cfg, rng)
    info = dict(layout=str(layout.path), seconds=time.perf_counter() - t0)
    if reference is not None:
        info["reference_scales"] = anny.scales  # the skeleton the reference coordinates drove
    return MarkerResult(motion=md, static=static, static_pose=static_pose, reference=reference, mesh=mesh, info=info)


def smpl_height_mass(body, betas: np.ndarray) -> tuple[float, float]:
    """Height (m, vertical extent of the rest mesh) and mass (kg, mesh volume x 985 kg/m^3)."""
    b = np.zeros(body.num_betas)
    b[: min(body.num_betas, betas.size)] = betas[: body.num_betas]
    with torch.no_grad():
        v = body(torch.as_tensor(b[None], dtype=body.dtype, device=body.device), body.zero_pose(1)).vertices[0]
    v = v.double().cpu().numpy()
    f = np.asarray(body.faces)
    vol = abs(np.einsum("ij,ij->i", np.cross(v[f[:, 0]], v[f[:, 1]]), v[f[:, 2]]).sum() / 6.0)
    return float(np.ptp(v[:, 1])), float(985.0 * vol)


# ---- 4. scaling and IK -----------------------------------------------------------------------

def _mass_height(cfg, body_params: dict, info: dict) -> tuple[float | None, float | None]:
    mass = cfg.kinematics.scale.mass or body_params.get("mass") or info.get("mass")
    height = cfg.kinematics.scale.height or body_params.get("height") or info.get("height")
    return (float(mass) if mass else None), (float(height) if height else None)


def static_pose_q(path, model) -> np.ndarray:
    """A static trial's known pose from its .mot (``odah markers`` writes it): (C,) every
    coordinate of ``model`` in model order (rad / m), the first frame."""
    from ..kinematics.mot import read_mot

    return read_mot(path, model=model).reorder(model.coordinate_names).values[0]


def known_pose_static(static, q: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``scale_torch``'s ``static``: a still trial's markers (MarkerData) averaged over its frames,
    (M, 3) metres in the order of ``names`` (NaN: not in it), and its known pose ``q`` as (C,)."""
    xs = np.nanmean(static.subset(names, missing="nan").positions, axis=0)
    return xs, np.asarray(q, float).reshape(-1)


def _static_fk(model, scales: dict, static, q: np.ndarray, offsets: dict | None = None):
    """The model (scaled by ``scales``, markers at ``offsets``: {marker: unscaled body-frame
    location}) posed at a static trial's known pose ``q``, beside the trial's averaged markers.

    Returns (skeleton, (B, 3) scales tensor, the trial's model markers' names, their (M, 3)
    averaged positions (NaN: missing), the FK output, the RMS model-to-trial distance in metres).
    """
    from ..kinematics.fk import Skeleton
    from .retarget import scales_tensor

    sk = Skeleton(model, dtype=torch.float64)
    S = scales_tensor(sk, scales)
    loc = None
    if offsets:
        loc = sk.marker_locations.clone()
        for n, v in offsets.items():
            loc[sk.marker_names.index(n)] = torch.as_tensor(np.asarray(v, float))
    names = [n for n in static.names if n in set(sk.marker_names)]
    x = np.nanmean(static.subset(names).positions, axis=0)  # (M, 3) the still frames averaged
    with torch.no_grad():
        fk = sk(torch.as_tensor(np.asarray(q, float).reshape(1, -1)), scales=S[None], marker_offsets=loc)
    d = np.linalg.norm(fk.markers[0, [sk.marker_names.index(n) for n in names]].numpy() - x, axis=1)
    return sk, S, names, x, fk, float(np.sqrt(np.nanmean(d ** 2)))


def place_markers_known_pose(model, scales: dict, static, q: np.ndarray) -> tuple[dict, float]:
    """Model marker locations that put every marker exactly on a static trial of known pose ``q``.

    Returns {marker: (3,) location in its body frame, unscaled, as :func:`write_scaled_osim`'s
    ``marker_offsets`` take them} and the RMS marker distance before placement (metres).
    """
    sk, S, names, x, fk, before = _static_fk(model, scales, static, q)
    bidx = {b: i for i, b in enumerate(sk.body_names)}
    out = {}
    for n, xm in zip(names, x):
        if not np.isfinite(xm).all():
            continue
        k = bidx[model.markers[sk.marker_names.index(n)].body]
        R, o = fk.body_rotations[0, k].numpy(), fk.body_origins[0, k].numpy()
        out[n] = (R.T @ (xm - o)) / S[k].numpy()
    return out, before


def static_marker_rms(model, scales: dict, offsets: dict, static, q: np.ndarray) -> float:
    """RMS distance (metres) between a static trial of known pose ``q`` and the model's markers
    (scaled by ``scales``, at ``offsets``: {marker: unscaled body-frame location}) in that pose."""
    return _static_fk(model, scales, static, q, offsets)[-1]


def scale_subject(cfg, trial, out_osim: Path, out_scales: Path, out_report: Path, *, mass: float | None,
                  height: float | None, trial_path: Path | None = None, static=None,
                  static_path: Path | None = None, static_q: np.ndarray | None = None,
                  weights: dict[str, float] | None = None) -> dict:
    """Scale the config's OpenSim model to a subject (torch by default, OpenSim's ScaleTool on request).

    ``trial`` (MarkerData, the motion) gives the scale factors (``kinematics.scale.frames`` of its
    frames). With ``static``, a static trial of known pose (Anny-driven sources; ``static_q``, required
    with it: its coordinates), the model's markers are placed on the static trial: inside torch scaling, for
    every trial of scale factors (``scale_torch(static=...)``: the scales are those under which the
    placed markers best explain the motion, with no pull toward the generic model's marker
    locations, which sit up to 7 cm from a body's own); after the OpenSim backend's ScaleTool
    (:func:`place_markers_known_pose`), as OpenSim's MarkerPlacer does with a known pose.
    Writes the scaled .osim, scales.json and a JSON report (atomically).
    """
    import json

    from ..io_utils import atomic_path, atomic_write_text
    from ..kinematics.osim import load_osim
    from ..kinematics.osim_writer import write_scaled_osim, write_scales_json

    if static is not None and static_q is None:
        raise KinematicsError("scaling: a static trial needs its known pose (static_q)")
    src = model_path(cfg)
    out_osim, out_scales, out_report = Path(out_osim), Path(out_scales), Path(out_report)
    scfg = cfg.kinematics.scale
    t0 = time.perf_counter()
    model = load_osim(src)
    placed_rms = None
    if scfg.backend == "opensim":
        import shutil
        import tempfile

        from ..kinematics.opensim_tools import run_scale

        scale_trial = static_path or trial_path
        if scale_trial is None:
            raise KinematicsError("OpenSim scaling needs the trial as a .trc file")
        if not mass:
            raise KinematicsError("OpenSim scaling needs the subject's mass (kinematics.scale.mass)")
        work = Path(tempfile.mkdtemp(prefix=".scale.", dir=Path(out_osim).parent))
        try:
            res = run_scale(src, scale_trial, mass, work / "scaled.osim", height=height)
            scales, rmse = res.scales, None
            offsets = None
            if static is None:
                with atomic_path(out_osim) as tmp:
                    shutil.copyfile(res.model_path, tmp)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    else:
        from ..kinematics.scaling import scale_torch

        kwargs = dict(frames=int(scfg.frames), fit_marker_offsets=bool(scfg.fit_marker_offsets), progress=False,
                      weights=weights, marker_noise=float(scfg.marker_noise))
        if static is not None:
            kwargs["static"] = known_pose_static(static, static_q, trial.names)
        if mass:
            kwargs["mass"] = mass
        if height:
            kwargs["height"] = height
        res = scale_torch(model, trial.positions, trial.names, **kwargs)
        scales = res.scales
        offsets = res.marker_offsets
        rmse = float(np.nanmean(np.asarray(res.marker_rmse)))
    if static is not None and offsets is None:
        offsets, placed_rms = place_markers_known_pose(model, scales, static, static_q)
    elif static is not None:
        placed_rms = static_marker_rms(model, scales, offsets, static, static_q)
    if scfg.backend != "opensim" or static is not None:
        with atomic_path(out_osim) as tmp:
            write_scaled_osim(src, scales, tmp, marker_offsets=offsets, mass=mass)
    write_scales_json(out_scales, scales, marker_offsets=offsets, mass=mass, height=height, model=str(src),
                      method=scfg.backend, extra={"marker_rmse": rmse})
    doc = dict(backend=scfg.backend, model=str(src), trial=str(trial_path) if trial_path else None,
               static=str(static_path) if static_path else None,
               mass=mass, height=height, seconds=round(time.perf_counter() - t0, 3), marker_rmse=rmse,
               markers_placed=offsets is not None, static_marker_rms=placed_rms,
               scales={k: [float(x) for x in np.asarray(v).reshape(3)] for k, v in scales.items()})
    atomic_write_text(out_report, json.dumps(doc, indent=1) + "\n")
    log.info("scaled %s to the subject (%s, %.1f s)%s", src.name, scfg.backend, doc["seconds"],
             f"; marker RMSE {1000 * rmse:.1f} mm" if rmse is not None else "")
    return doc


def run_ik(cfg, scaled_osim: Path, trial, out_mot: Path, out_report: Path, trial_path: Path | None = None,
           weights: dict[str, float] | None = None):
    """IK of a marker trial on the scaled model (torch by default, OpenSim's IK tool on request).

    ``weights``: {marker: weight} (the layout's); default every model marker in the trial, 1.

    Returns ``(Motion, report dict)``; writes the .mot (degrees) and the per-frame error report.
    """

    from ..kinematics.mot import Motion, rotational_mask, write_mot
    from ..kinematics.osim import load_osim

    scaled_osim, out_mot, out_report = Path(scaled_osim), Path(out_mot), Path(out_report)
    icfg = cfg.kinematics.ik
    model = load_osim(scaled_osim)
    if icfg.backend == "opensim":
        from ..kinematics.opensim_tools import run_ik_tool

        if trial_path is None:
            raise KinematicsError("OpenSim IK needs the trial as a .trc file")
        t0 = time.perf_counter()
        tasks = None if weights is None else {n: w for n, w in weights.items() if n in set(model.marker_names)}
        res = run_ik_tool(scaled_osim, trial_path, out_mot, tasks=tasks, markers=trial)
        seconds = time.perf_counter() - t0
        report = write_ik_report(out_report, backend="opensim", model=scaled_osim, markers=trial_path,
                                 times=res.motion.times, rmse=res.marker_rmse, max_err=res.marker_max,
                                 marker_names=trial.names, seconds=seconds)
        return res.motion, report
    from ..kinematics.fk import Skeleton
    from ..kinematics.ik import solve_ik

    dtype = _torch_dtype(icfg.dtype)
    sk = Skeleton(model, dtype=dtype, device=icfg.device)
    use = [n for n in trial.names if n in set(model.marker_names)]
    data = trial.subset(use)
    w = None if weights is None else {n: float(weights.get(n, 1.0)) for n in use}
    t0 = time.perf_counter()
    res = solve_ik(sk, data.positions, data.names, weights=w, max_iterations=int(icfg.max_iterations),
                   tolerance=float(icfg.tolerance), progress=data.n_frames > 200)
    seconds = time.perf_counter() - t0
    q = res.q.detach().cpu().numpy() if isinstance(res.q, torch.Tensor) else np.asarray(res.q)
    motion = Motion(names=list(res.coordinate_names), values=q, times=trial.times, name="Coordinates",
                    rotational=rotational_mask(model.coordinate_names, model))
    write_mot(out_mot, motion, model=model)
    # per-marker RMSE over the trial, for the report
    with torch.no_grad():
        fk = sk(torch.as_tensor(q, dtype=dtype, device=icfg.device))
    idx = [sk.marker_names.index(n) for n in data.names]
    err = np.linalg.norm(fk.markers[:, idx].cpu().numpy() - data.positions, axis=-1)
    per_marker = {n: float(np.sqrt(np.nanmean(err[:, j] ** 2))) for j, n in enumerate(data.names)}
    to_np = (lambda a: a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a))
    report = write_ik_report(out_report, backend="torch", model=scaled_osim, markers=trial_path, times=trial.times,
                             rmse=to_np(res.marker_rmse), max_err=to_np(res.marker_max), marker_names=data.names,
                             seconds=seconds, extra={"per_marker_rmse": per_marker})
    return motion, report


# ---- 5. the body mesh the renderer draws -----------------------------------------------------

def body_mesh(cfg, scaled_osim: Path, motion, body_params: dict, name: str = "body"):
    """Anny retargeted onto the subject's scaled model driven by ``motion`` (IK coordinates).

    The Anny shape is the subject's own (Anny-driven sources) or, for other sources, fitted to the
    scaled model's segment lengths. Returns a :class:`~pipeline.body.mesh.MeshSequence` in OpenSim
    axes whose joints follow the model the kinematic labels come from.
    """
    from ..kinematics.fk import Skeleton
    from ..kinematics.osim import load_osim
    from .retarget import build_rig, fit_shape, retarget_mesh, skeleton_lengths

    if cfg.body.model != "anny":
        raise MotionSourceError(f"config key 'body.model': rendering bodies are Anny for now, not {cfg.body.model!r}")
    model = load_osim(scaled_osim)
    sk = Skeleton(model, dtype=torch.float64)
    body = anny_body(cfg)
    if str(body_params.get("model")) == "anny":
        ph = np.asarray(body_params["phenotypes"], float)[None]
        shape = torch.as_tensor(ph, dtype=body.dtype, device=body.device)
    else:
        shape = fit_shape(body, skeleton_lengths(sk))
    rig = build_rig(body, shape, sk)
    q = motion.reorder(model.coordinate_names).values
    return retarget_mesh(body, rig, sk, q, fps=float(motion.rate), name=name, progress=len(q) > 200)
