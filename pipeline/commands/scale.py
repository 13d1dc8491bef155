"""``odah scale``: scale an OpenSim model to a subject from a static (or any) marker trial."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from ..io_utils import atomic_outputs
from . import check_outputs, require_file, set_from_flags
from .fk import add_model_argument, resolve_model, torch_device
from .ik import _cfg_default, read_markers, trc_for_opensim

HELP = "scale an OpenSim model to a subject's markers -> scaled .osim + scales.json"
DESCRIPTION = """\
Scales the model's bodies (and places its markers) to fit a subject's marker trial. Backends:
  torch    odah's scaling: per-body scale factors and the poses of a set of frames optimised
           together (AddBiomechanics-style); needs no setup file, only the markers (mass and
           height help). Marker locations on their bodies are fitted too, near the model's
           (real markers never sit exactly where a generic model has them); --no-fit-marker-offsets
           keeps the model's locations, for markers placed exactly as the model has them.
  opensim  OpenSim 4.6's ScaleTool: from --setup (paths inside it are relative to its folder;
           --model/--static/--mass override the setup's), or without a setup a measurement-
           based scaling built automatically from the model's markers (a heuristic: left and
           right bodies share factors; check the result) followed by marker placement.
With a static trial of known pose (torch; 'odah markers --static' writes one with its pose), give
--static-pose and the motion (--trial): the model's markers are placed on the static trial for
every trial of scale factors and the factors come from the motion, as stage 1 scales (without the
pose, fitted marker locations absorb the static pose's difference from the model's default).
Writes the scaled model (--out) and the per-body factors to scales.json beside it (--scales-out).
Body masses follow OpenSim's rules; with --mass the total model mass is set to it.

examples:
  odah scale --model generic --static static.trc --mass 72 --height 1.78 --out subj/scaled.osim
  odah scale --model generic --static static.trc --static-pose static_pose.mot --trial walk.trc \
             --mass 70 --height 1.75 --out subj/scaled.osim
  odah scale --setup subject01_Setup_Scale.xml --backend opensim --out subj/scaled.osim"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    p.add_argument("--static", metavar="S.trc", help="marker trial to scale to (.trc or .c3d); "
                                                      "with --setup, default: the setup's marker file")
    p.add_argument("--static-pose", metavar="P.mot", help="torch: the static trial's known pose (coordinates; "
                                                          "'odah markers --static' writes it); needs --trial")
    p.add_argument("--trial", metavar="T.trc", help="torch, with --static-pose: the motion trial whose frames "
                                                    "give the scale factors (.trc or .c3d)")
    p.add_argument("--out", metavar="scaled.osim", required=True, help="the scaled model to write")
    p.add_argument("--setup", metavar="Scale.xml", help="OpenSim ScaleTool setup (opensim backend)")
    p.add_argument("--mass", type=float, metavar="KG", default=argparse.SUPPRESS,
                   help="subject mass in kg (default: config kinematics.scale.mass; 0 = keep the scaled "
                        "model's mass / the setup's)")
    p.add_argument("--height", type=float, metavar="M", default=argparse.SUPPRESS,
                   help="subject height in metres (default: config kinematics.scale.height; 0 = unknown)")
    p.add_argument("--backend", choices=("torch", "opensim"), default=argparse.SUPPRESS,
                   help=f"scaling method (default: config kinematics.scale.backend = "
                        f"{_cfg_default('scale', 'backend')!r})")
    p.add_argument("--frames", type=int, metavar="N", default=argparse.SUPPRESS,
                   help=f"torch: frames of the trial used (default: config kinematics.scale.frames = "
                        f"{_cfg_default('scale', 'frames')})")
    p.add_argument("--fit-marker-offsets", action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                   help="torch: also fit marker locations on their bodies (default: config "
                        f"kinematics.scale.fit_marker_offsets = {_cfg_default('scale', 'fit_marker_offsets')})")
    p.add_argument("--device", choices=("cpu", "cuda"), default=argparse.SUPPRESS,
                   help="torch device (default: config kinematics.ik.device = 'cpu')")
    p.add_argument("--units", choices=("mm", "cm", "m"), help="force the marker file's length unit")
    p.add_argument("--scales-out", metavar="scales.json",
                   help="where to write the scale factors (default: scales.json beside --out)")


def _check_markers(markers, model) -> None:
    """Before scaling: at least 3 of the trial's markers are ``model``'s, all present in some frame."""
    import numpy as np

    from ..errors import KinematicsError

    static = markers.source
    known = [n for n in markers.names if n in set(model.marker_names)]
    if len(known) < 3:
        raise KinematicsError(
            f"{static}: only {len(known)} of its {len(markers.names)} markers ({', '.join(markers.names[:4])}, ...) "
            f"are markers of model {model._where()} ({', '.join(model.marker_names[:4])}, ...); rename them with "
            f"a mapping: odah markers {static} --mapping MAP.yaml --out renamed.trc (motion.marker_mapping)")
    present = np.isfinite(markers.positions[:, [markers.names.index(n) for n in known]]).all(-1).sum(1)
    if present.max(initial=0) < 3:
        raise KinematicsError(f"{static}: no frame has at least 3 of the model's markers (blank or NaN; "
                              "a truncated file?)")


def _torch_scale(model_path: Path, markers, out: Path, scales_out: Path, *, mass, height, frames,
                 fit_offsets, device, marker_noise: float = 0.02, static_pose: Path | None = None,
                 trial=None) -> dict:
    """odah's scaling on ``markers`` (MarkerData); with ``static_pose`` (a .mot: ``markers`` is a
    still trial in that pose), on ``trial``'s frames with the markers placed on ``markers`` (stage 1's way)."""
    import numpy as np

    from ..body.stage1 import known_pose_static, static_pose_q
    from ..kinematics.osim import load_osim
    from ..kinematics.osim_writer import write_scaled_osim, write_scales_json
    from ..kinematics.scaling import scale_torch

    model = load_osim(model_path)
    _check_markers(markers, model)
    kwargs = dict(frames=frames, fit_marker_offsets=fit_offsets, marker_noise=marker_noise)
    data = markers
    if static_pose is not None:
        _check_markers(trial, model)
        kwargs["static"] = known_pose_static(markers, static_pose_q(static_pose, model), trial.names)
        data = trial
    if mass:
        kwargs["mass"] = mass
    if height:
        kwargs["height"] = height
    res = scale_torch(model, data.positions, data.names, device=device, **kwargs)
    offsets = res.marker_offsets  # fitted, or placed on a known-pose static trial; else None
    with atomic_outputs(out, scales_out) as (tmp_osim, tmp_json):
        write_scaled_osim(model_path, res.scales, tmp_osim, marker_offsets=offsets, mass=mass or None)
        write_scales_json(tmp_json, res.scales, marker_offsets=offsets, mass=mass or None, height=height or None,
                          model=str(model_path), method="torch",
                          extra={"marker_rmse": float(np.nanmean(np.asarray(res.marker_rmse)))})
    return {"scales": res.scales, "marker_rmse": float(np.nanmean(np.asarray(res.marker_rmse)))}


def _opensim_scale(model_path: Path | None, markers_path: Path | None, markers, setup: Path | None, out: Path,
                   scales_out: Path, *, mass, height, units) -> dict:
    """OpenSim's ScaleTool; ``markers``: what ``markers_path`` holds (read by the caller), or None."""
    from ..errors import KinematicsError
    from ..kinematics.opensim_tools import run_scale, run_scale_tool
    from ..kinematics.osim_writer import write_scales_json

    # the tool's files in the system's temporary folder: a failure leaves nothing beside --out
    work = Path(tempfile.mkdtemp(prefix="odah-scale-"))
    try:
        trc, trc_markers = markers_path, markers
        if trc is not None:
            trc, trc_markers = trc_for_opensim(trc, markers, units, work)
        if setup is not None:
            res = run_scale_tool(setup, work / "out", model=model_path, static_trc=trc, mass=mass or None)
        else:
            if trc is None:
                raise KinematicsError("--static is required without --setup")
            if not mass:
                raise KinematicsError("OpenSim scaling without a setup needs --mass KG (the subject's mass)")
            res = run_scale(model_path, trc, mass, work / "out" / out.name, height=height or None,
                            markers=trc_markers)
        if not res.scales:
            raise KinematicsError(f"OpenSim ScaleTool ({setup}) wrote no scale factors")
        with atomic_outputs(out, scales_out) as (tmp_osim, tmp_json):
            shutil.copyfile(res.model_path, tmp_osim)
            write_scales_json(tmp_json, res.scales, mass=mass or None, height=height or None,
                              model=str(model_path) if model_path else None, method="opensim",
                              extra={"setup": str(setup) if setup else None})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"scales": res.scales}


def run(args, cfg) -> int:
    from ..errors import KinematicsError
    from ..kinematics.scaling import check_height
    from ..log import get_logger

    log = get_logger("scale")
    # once, before the config's range check, which would not say what unit 178 or 1780 looks like
    given = getattr(args, "height", None)
    height = cfg.kinematics.scale.height if given is None else given
    if height:  # 0: unknown
        check_height(height, "kinematics.scale.height" if given is None else "--height")
    flags = {f"--{key.replace('_', '-')}": (f"kinematics.scale.{key}", getattr(args, key, None))
             for key in ("backend", "mass", "height", "frames", "fit_marker_offsets")}
    flags["--device"] = ("kinematics.ik.device", getattr(args, "device", None))
    cfg = set_from_flags(cfg, flags)
    scfg = cfg.kinematics.scale
    backend, mass, height = scfg.backend, scfg.mass, scfg.height
    out = Path(args.out)
    scales_out = Path(args.scales_out) if args.scales_out else out.with_name("scales.json")
    check_outputs(KinematicsError, {"--out": (out, (".osim",)), "--scales-out": (scales_out, (".json",))},
                  {"--model": getattr(args, "model", None), "--static": args.static, "--setup": args.setup,
                   "--static-pose": args.static_pose, "--trial": args.trial})
    setup = require_file(args.setup, KinematicsError, "scale setup")
    if backend == "torch" and setup is not None:
        raise KinematicsError("--setup is an OpenSim ScaleTool setup: use it with --backend opensim")
    static = require_file(args.static, KinematicsError, "marker file")
    if bool(args.static_pose) != bool(args.trial):
        raise KinematicsError("--static-pose and --trial go together: the markers are placed on the static trial "
                              "in its known pose and the scale factors come from the trial's motion")
    if args.static_pose and backend != "torch":
        raise KinematicsError("--static-pose and --trial apply to the torch backend")
    static_pose = require_file(args.static_pose, KinematicsError, "static pose")
    trial = require_file(args.trial, KinematicsError, "trial marker file")

    if backend == "opensim":
        model_path = None
        if setup is None or getattr(args, "model", None):
            model_path = resolve_model(getattr(args, "model", None), cfg)
        # read (and check: units, names) as the torch backend does
        markers = read_markers(static, args.units) if static is not None else None
        info = _opensim_scale(model_path, static, markers, setup, out, scales_out, mass=mass, height=height,
                              units=args.units)
    else:
        if static is None:
            raise KinematicsError("--static S.trc is required")
        model_path = resolve_model(getattr(args, "model", None), cfg)
        markers = read_markers(static, args.units)
        info = _torch_scale(model_path, markers, out, scales_out, mass=mass, height=height, frames=scfg.frames,
                            fit_offsets=scfg.fit_marker_offsets, device=torch_device(cfg.kinematics.ik.device),
                            marker_noise=float(scfg.marker_noise), static_pose=static_pose,
                            trial=read_markers(trial, args.units) if trial else None)
    bodies = [(b, v) for b, v in info["scales"].items() if b != "ground"]  # OpenSim's scale set lists ground
    summary = ", ".join(f"{b} {' '.join(f'{x:.3f}' for x in v)}" for b, v in bodies[:6])
    log.info("wrote %s and %s (backend %s), factors x y z: %s%s", out, scales_out, backend, summary,
             f"; marker RMSE {1000 * info['marker_rmse']:.1f} mm" if "marker_rmse" in info else "")
    return 0

