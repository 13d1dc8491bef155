"""``odah fk``: forward kinematics of a motion: marker positions, joint centres and body COMs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config.flags import int_range
from . import check_outputs, require_file, set_from_flags

HELP = "forward kinematics: a .mot on an OpenSim model -> markers, joint centres, body COMs per frame (.npz)"
DESCRIPTION = """\
Runs odah's torch forward kinematics (OpenSim's conventions, checked against OpenSim 4.6) on every
frame of a motion and saves, per frame, in metres and the ground frame (OpenSim axes, Y up):
  markers (T, M, 3), joint_centres (T, J, 3), body_coms (T, B, 3), keypoints (T, K, 3) (joint
  centres then body COMs: the dataset labels), with marker_names, joint_names, body_names,
  keypoint_names, times (T,) s, q (T, C) rad/m and coordinate_names.
Coordinates missing from the motion take the model's default value (listed in a warning); motion
columns that are not coordinates of the model are ignored.

example:  odah fk --model generic --motion walk.mot --out walk_fk.npz"""


def add_model_argument(p: argparse.ArgumentParser) -> None:
    from ..config.schema import KinematicsConfig

    p.add_argument("--model", metavar="M.osim", default=argparse.SUPPRESS,
                   help="OpenSim model (.osim), or 'generic' for the model shipped with odah "
                        f"(default: config kinematics.model = {KinematicsConfig().model!r})")


def resolve_model(spec: str | None, cfg) -> Path:
    """The .osim path of ``--model`` (or the config's kinematics.model); 'generic' is the shipped model.

    The file is checked to be an OpenSim document with a version before any backend (OpenSim's
    own errors on such files are cryptic) reads it.
    """
    from ..kinematics.generic_model import resolve_model as resolve
    from ..kinematics.osim import osim_document

    path = resolve(spec, "--model") if spec else resolve(cfg.kinematics.model)
    osim_document(path, None, "model")
    return path


def torch_device(name: str):
    """A torch device, with a clear error when CUDA is asked for but absent."""
    import torch

    from ..errors import KinematicsError

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise KinematicsError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
    return torch.device(name)


def _same_model(a: Path, b: Path) -> bool:
    """The same file, or two files with the same bytes (a copy)."""
    import filecmp

    if a.resolve() == b.resolve():
        return True
    return a.is_file() and b.is_file() and filecmp.cmp(a, b, shallow=False)


def scaling_from_json(model, scales_json: str | Path | None, model_path: Path | None = None):
    """What a scales.json applies to ``model``: ((B, 3) scale table in model body order, (M, 3)
    marker locations in model marker order, unscaled body frames, metres, as Skeleton's
    ``marker_offsets`` take them, or None when it holds no fitted offsets); (None, None) without one.

    model_path: the .osim ``model`` was read from; it must be the model the scales.json records
    (made for), else the factors would apply to a model they were not fitted on, or twice to
    the model 'odah scale' wrote with them.
    """
    import numpy as np

    from ..errors import KinematicsError
    from ..kinematics.osim_writer import read_scales_json

    if not scales_json:
        return None, None
    doc = read_scales_json(scales_json)
    made_for = doc.get("model")
    if model_path is not None and made_for and not _same_model(Path(made_for), Path(model_path)):
        raise KinematicsError(
            f"{scales_json} was made for {made_for}; --model is {model_path}. A model written by 'odah scale' "
            f"already carries its factors: drop --scales to use it, or give --model {made_for}")
    unknown = [b for b in doc["scales"] if b not in model.body_names and b != model.ground]
    if unknown:
        raise KinematicsError(f"{scales_json}: scale factors for bodies not in the model: {', '.join(unknown)}")
    table = np.stack([doc["scales"].get(b, np.ones(3)) for b in model.body_names])
    fitted = doc.get("marker_offsets")
    if not fitted:
        return table, None
    unknown = [n for n in fitted if n not in model.marker_names]
    if unknown:
        raise KinematicsError(f"{scales_json}: marker offsets for markers not in the model: {', '.join(unknown)}")
    return table, np.stack([fitted.get(m.name, m.location) for m in model.markers])


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_argument(p)
    p.add_argument("--motion", metavar="A.mot", required=True, help="coordinates (.mot/.sto; degrees per inDegrees)")
    p.add_argument("--out", metavar="K.npz", required=True, help="output file (.npz)")
    p.add_argument("--scales", metavar="scales.json", help="per-body scale factors (and fitted marker locations, "
                                                          "when it has them) to apply to the model first")
    p.add_argument("--device", default=argparse.SUPPRESS, choices=("cpu", "cuda"),
                   help="torch device (default: config kinematics.ik.device = 'cpu')")
    p.add_argument("--batch", type=int_range(1), default=4096, metavar="FRAMES", help="frames per FK batch")


def run(args, cfg) -> int:
    from ..errors import KinematicsError
    from ..io_utils import atomic_savez
    from ..kinematics.labels import compute_fk
    from ..kinematics.mot import read_mot
    from ..kinematics.osim import load_osim
    from ..log import get_logger

    log = get_logger("fk")
    check_outputs(KinematicsError, {"--out": (args.out, (".npz",))},
                  {"--model": getattr(args, "model", None), "--motion": args.motion, "--scales": args.scales})
    model_path = resolve_model(getattr(args, "model", None), cfg)
    model = load_osim(model_path)
    motion = read_mot(require_file(args.motion, KinematicsError, "motion"), model=model)
    cfg = set_from_flags(cfg, {"--device": ("kinematics.ik.device", getattr(args, "device", None))})
    device = torch_device(cfg.kinematics.ik.device)
    scales, offsets = scaling_from_json(model, args.scales, model_path)
    res = compute_fk(model, motion, scales, marker_offsets=offsets, device=device, batch=args.batch)
    out = atomic_savez(args.out, **res, units="m", frame="ground (OpenSim axes, Y up)", model=str(model_path),
                       motion=str(Path(args.motion).resolve()))
    log.info("wrote %s: %d frames, %d markers, %d joint centres, %d body COMs", out, len(res["times"]),
             res["markers"].shape[1], res["joint_centres"].shape[1], res["body_coms"].shape[1])
    return 0
