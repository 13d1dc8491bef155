"""``odah ik``: inverse kinematics of marker trajectories on an OpenSim model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..io_utils import atomic_outputs
from ..kinematics.ik_report import write_ik_report
from . import check_outputs, require_file, set_from_flags
from .fk import add_model_argument, resolve_model, torch_device

HELP = "inverse kinematics: markers (.trc/.c3d) on an OpenSim model -> joint angles (.mot) + error report"
DESCRIPTION = """\
Fits the model's coordinates to marker trajectories, frame by frame, minimising OpenSim's IK
objective (weighted squared marker distances plus coordinate tasks). Backends:
  torch    odah's batched solver (CPU or CUDA), many frames at once
  opensim  OpenSim 4.6's InverseKinematicsTool (the reference)
Writes the motion (.mot, degrees, OpenSim's format) and beside it <out stem>_ik_report.json with
the per-frame marker RMSE and maximum error (metres) and a summary.
Marker weights and coordinate tasks come from --setup (an OpenSim IK setup XML) when given, else
every model marker found in the data has weight 1. Data markers the model lacks are ignored (and
listed); a marker missing in a frame (NaN, blank or exactly 0 0 0) has weight zero in that frame.

example:  odah ik --model scaled.osim --markers walk.trc --out walk.mot --backend opensim"""


def _cfg_default(section: str, key: str):
    from ..config import schema

    return getattr({"ik": schema.IKConfig, "scale": schema.ScaleConfig}[section](), key)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    p.add_argument("--markers", metavar="T.trc", required=True, help="marker trajectories (.trc or .c3d)")
    p.add_argument("--out", metavar="A.mot", required=True, help="output motion (.mot, degrees)")
    p.add_argument("--setup", metavar="IK.xml", help="OpenSim IK setup: marker weights, coordinate tasks, time range")
    p.add_argument("--backend", choices=("torch", "opensim"), default=argparse.SUPPRESS,
                   help=f"IK solver (default: config kinematics.ik.backend = {_cfg_default('ik', 'backend')!r})")
    p.add_argument("--device", choices=("cpu", "cuda"), default=argparse.SUPPRESS,
                   help=f"torch device (default: config kinematics.ik.device = {_cfg_default('ik', 'device')!r})")
    p.add_argument("--dtype", choices=("float32", "float64"), default=argparse.SUPPRESS,
                   help=f"torch precision (default: config kinematics.ik.dtype = {_cfg_default('ik', 'dtype')!r})")
    p.add_argument("--scales", metavar="scales.json", help="torch backend: per-body scale factors (and fitted marker "
                                                          "locations, when it has them) applied to --model")
    p.add_argument("--start", type=float, metavar="S", help="first time, seconds (default: the setup's or the start)")
    p.add_argument("--end", type=float, metavar="S", help="last time, seconds (default: the setup's or the end)")
    p.add_argument("--units", choices=("mm", "cm", "m"), help="force the marker file's length unit (default: its header)")
    p.add_argument("--report", metavar="R.json", help="error report path (default: <out stem>_ik_report.json)")


def report_path(out: Path, report: str | None) -> Path:
    return Path(report) if report else out.with_name(out.stem + "_ik_report.json")


def read_markers(path: str | Path, units: str | None = None):
    """MarkerData from a .trc or .c3d file."""
    from ..kinematics.c3d import read_c3d
    from ..kinematics.trc import read_trc

    path = Path(path)
    if path.suffix.lower() == ".c3d":
        return read_c3d(path, units=units)
    return read_trc(path, units=units)


def trc_for_opensim(path: Path, markers, units: str | None, folder: Path):
    """(TRC file, MarkerData or None) to give OpenSim's tools for ``markers``, read from ``path``.

    OpenSim reads only TRC, in its header's units, and takes (0, 0, 0) for a position: a .c3d,
    a forced --units or zero gaps (``markers.meta['zero_gaps']``) get a converted TRC in
    ``folder`` (metres, gaps blank), which the tool reads back (None: the times as written,
    8 decimals, as OpenSim sees them); else ``path`` itself with ``markers``.
    """
    from ..kinematics.trc import write_trc

    if path.suffix.lower() == ".trc" and not units and not markers.meta.get("zero_gaps"):
        return path, markers
    return write_trc(folder / (path.stem + ".trc"), markers), None


def run_torch_ik(model_path: Path, markers, *, setup: Path | None = None, scales_json=None, device="cpu",
                 dtype="float64", max_iterations=30, tolerance=1e-5, time_range=None, **solver):
    """odah's torch IK on MarkerData; returns (Motion, IKResult, seconds)."""
    import numpy as np
    import torch

    from ..errors import KinematicsError
    from ..kinematics.ik import read_ik_setup, solve_ik
    from ..kinematics.mot import Motion, read_mot, rotational_mask
    from ..kinematics.osim import load_osim
    from .fk import scaling_from_json

    model = load_osim(model_path)
    weights, tasks = None, None
    data = markers
    if setup is not None:
        s = read_ik_setup(setup)
        i0, i1 = s.frame_range(data.times)
        if time_range is None:
            data = data.select_frames(slice(i0, i1 + 1))
        weights = s.marker_weights or None
        coord_values = None
        if s.coordinate_file is not None:
            cm = read_mot(s.coordinate_file, model=model)
            coord_values = {n: np.interp(data.times, cm.times, cm.column(n)) for n in cm.names}
        tasks = s.coordinate_targets(model, data.n_frames, coord_values)
    if time_range is not None:
        data = data.time_range(*time_range)
    if data.n_frames == 0:
        raise KinematicsError(f"{markers._where()}: no frames to solve")
    sk_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    from ..kinematics.fk import Skeleton

    sk = Skeleton(model, dtype=sk_dtype, device=device)
    sc, offsets = scaling_from_json(model, scales_json, model_path)
    start = time.perf_counter()
    res = solve_ik(sk, data.positions, data.names, weights=weights, coordinate_tasks=tasks,
                   scales=None if sc is None else torch.as_tensor(sc, dtype=sk_dtype, device=device),
                   marker_offsets=None if offsets is None else torch.as_tensor(offsets, dtype=sk_dtype, device=device),
                   max_iterations=max_iterations, tolerance=tolerance, progress=True, **solver)
    seconds = time.perf_counter() - start
    motion = Motion(names=res.coordinate_names, values=res.q, times=data.times, name="Coordinates",
                    rotational=rotational_mask(model.coordinate_names, model))
    return motion, res, seconds


def run(args, cfg) -> int:
    import tempfile

    from ..errors import KinematicsError
    from ..kinematics.mot import write_mot
    from ..log import get_logger

    log = get_logger("ik")
    cfg = set_from_flags(cfg, {f"--{key}": (f"kinematics.ik.{key}", getattr(args, key, None))
                               for key in ("backend", "device", "dtype")})
    icfg = cfg.kinematics.ik
    backend = icfg.backend
    model_path = resolve_model(getattr(args, "model", None), cfg)
    out = Path(args.out)
    rep = report_path(out, args.report)
    check_outputs(KinematicsError, {"--out": (out, (".mot", ".sto")), "--report": (rep, (".json",))},
                  {"--model": model_path, "--markers": args.markers, "--setup": args.setup, "--scales": args.scales})
    setup = require_file(args.setup, KinematicsError, "IK setup")
    time_range = None
    if args.start is not None or args.end is not None:
        time_range = (args.start if args.start is not None else -float("inf"),
                      args.end if args.end is not None else float("inf"))
    # read (and check) the markers with our reader first: same errors for both backends
    markers = read_markers(require_file(args.markers, KinematicsError, "marker file"), args.units)

    if backend == "opensim":
        from ..kinematics.opensim_tools import run_ik_tool

        if args.scales:
            raise KinematicsError("--scales applies to the torch backend; for OpenSim pass a scaled model")
        with tempfile.TemporaryDirectory() as tmp:
            trc, trc_markers = trc_for_opensim(Path(args.markers), markers, args.units, Path(tmp))
            tr = None
            if time_range is not None:
                tr = (max(time_range[0], float(markers.times[0])), min(time_range[1], float(markers.times[-1])))
            with atomic_outputs(out, rep) as (tmp_mot, tmp_rep):
                res = run_ik_tool(model_path, trc, tmp_mot, setup_xml=setup, time_range=tr, markers=trc_markers)
                write_ik_report(tmp_rep, backend="opensim", model=model_path, markers=Path(args.markers),
                                times=res.times, rmse=res.marker_rmse, max_err=res.marker_max,
                                marker_names=res.marker_names, seconds=res.seconds,
                                extra={"setup": str(setup) if setup else None})
        n = res.motion.n_frames
        rmse = res.marker_rmse
    else:
        motion, res, seconds = run_torch_ik(
            model_path, markers, setup=setup, scales_json=args.scales,
            device=torch_device(icfg.device), dtype=icfg.dtype, max_iterations=icfg.max_iterations,
            tolerance=icfg.tolerance, time_range=time_range,
            **{k: getattr(icfg, k) for k in ("stride", "batch_frames") if hasattr(icfg, k)})
        with atomic_outputs(out, rep) as (tmp_mot, tmp_rep):
            write_mot(tmp_mot, motion)
            write_ik_report(tmp_rep, backend="torch", model=model_path, markers=Path(args.markers), times=motion.times,
                            rmse=res.marker_rmse, max_err=res.marker_max, marker_names=res.marker_names,
                            seconds=seconds, extra={"setup": str(setup) if setup else None,
                                                    "converged_frames": int(res.converged.sum())})
        n = motion.n_frames
        rmse = res.marker_rmse
    import numpy as np

    log.info("wrote %s (%d frames, backend %s); marker RMSE median %.2f mm, max %.2f mm; report %s",
             out, n, backend, 1000 * float(np.nanmedian(rmse)), 1000 * float(np.nanmax(rmse)), rep)
    return 0
