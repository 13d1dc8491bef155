"""``odah markers``: a motion source -> virtual (or measured) marker trajectories (.trc)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io_utils import atomic_outputs
from . import check_outputs, set_from_flags

HELP = "motion source (AMASS, .trc/.c3d, .mot, library:NAME, anny:walk) -> marker trajectories (.trc)"
DESCRIPTION = """\
Turns a motion into the markers that stage 1 scales and solves IK on, in OpenSim axes (Y up),
metres, with the odah marker names (Plug-in Gait + medial + 5th metacarpal markers):

  AMASS .npz      SMPL-X (poses 165) / SMPL-H (poses 156) sequence posed on your licensed model
                  files (paths.smplx_models), virtual markers from marker_layouts/<topology>.yaml
  .trc / .c3d     measured markers, renamed with --mapping (YAML: markers: {FILE_NAME: ODAH_NAME},
                  up_axis: y|z)
  .mot / .sto     OpenSim coordinates on the model: Anny is retargeted onto the skeleton
  library:NAME    a motion of the project's library (walking, running, squat, ...): likewise
  anny:walk       the walk cycle shipped in the anny package, on Anny

Anny subjects (library, .mot, anny:walk) get their shape from body.shape (sample: seeded by
dataset.seed and --subject; average; fit: the OpenSim model's segment lengths) and also a static
trial (--static) in the model's default pose, written with that pose (--static-pose, by default
<static stem>_pose.mot beside it): give both to 'odah scale' with the motion (--trial) to place the
model's markers on the static trial as stage 1 does. Frame rate and length come from motion.fps and
motion.max_seconds. Use 'odah config --list' for every key (body.*, motion.*, markers.*).

examples:
  odah markers library:walking --out walk.trc --static static.trc -s motion.max_seconds=3
    (writes walk.trc, static.trc and static_pose.mot; then:
     odah scale --model generic --static static.trc --static-pose static_pose.mot --trial walk.trc
                --mass 70 --height 1.75 --out subj/scaled.osim)
  odah markers CMU_01_01_poses.npz --out walk.trc -s paths.smplx_models=~/models
  odah markers trial.c3d --mapping vicon_to_odah.yaml --out trial.trc"""


def static_pose_path(static: str | Path) -> Path:
    """Where ``--static S.trc`` puts the static trial's pose by default: S_pose.mot beside it."""
    static = Path(static)
    return static.with_name(static.stem + "_pose.mot")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", help="motion source (default: config motion.source)")
    p.add_argument("--out", metavar="M.trc", required=True, help="marker trajectories to write (.trc, metres)")
    p.add_argument("--static", metavar="S.trc", help="also write the static trial here (Anny-driven sources)")
    p.add_argument("--static-pose", metavar="P.mot", help="with --static: where the static trial's known pose "
                                                          "goes (default: <static stem>_pose.mot beside it)")
    p.add_argument("--reference", metavar="Q.mot", help="also write the coordinates that drove the body "
                                                        "(library/.mot sources; translations fitted to the body)")
    p.add_argument("--mesh", metavar="BODY.npz", help="also save the body mesh sequence (OpenSim axes; large)")
    p.add_argument("--subject", default="subject", help="subject id (seeds body.shape=sample)")
    p.add_argument("--fps", type=float, metavar="HZ", help="frame rate (default: config motion.fps)")
    p.add_argument("--seconds", type=float, metavar="S", help="trim to this long (default: config motion.max_seconds)")
    p.add_argument("--mapping", metavar="MAP.yaml", help="marker-name mapping of a .trc/.c3d (motion.marker_mapping)")
    p.add_argument("--layout", metavar="LAYOUT", help="marker layout: topology name or YAML (markers.layout)")
    p.add_argument("--noise", type=float, metavar="M", help="Gaussian marker noise std, metres (markers.noise)")


def run(args, cfg) -> int:
    from ..body.stage1 import _skeleton, load_motion_source, make_markers, subject_body
    from ..errors import MotionSourceError
    from ..kinematics.mot import write_mot
    from ..kinematics.trc import write_trc
    from ..log import get_logger

    log = get_logger("markers")
    if args.static_pose and not args.static:
        raise MotionSourceError("--static-pose is the pose of the static trial: give --static S.trc too")
    pose_out = args.static_pose or (static_pose_path(args.static) if args.static else None)
    check_outputs(MotionSourceError, {"--out": (args.out, (".trc",)), "--static": (args.static, (".trc",)),
                                      "--static-pose": (pose_out, (".mot", ".sto")),
                                      "--reference": (args.reference, (".mot", ".sto")),
                                      "--mesh": (args.mesh, (".npz",))},
                  {"source": args.source, "--mapping": args.mapping})
    cfg = set_from_flags(cfg, {"source": ("motion.source", args.source), "--fps": ("motion.fps", args.fps),
                               "--seconds": ("motion.max_seconds", args.seconds),
                               "--mapping": ("motion.marker_mapping", args.mapping),
                               "--layout": ("markers.layout", args.layout), "--noise": ("markers.noise", args.noise)})
    source = load_motion_source(cfg.motion.source, cfg)
    body = subject_body(cfg, args.subject, source)
    res = make_markers(source, body, cfg, args.subject)
    asked = {"--static": (args.static, res.static, "this source has no static trial (only Anny-driven sources do)"),
             "--reference": (args.reference, res.reference, "this source has no driving coordinates"),
             "--mesh": (args.mesh, res.mesh, "this source has no body mesh")}
    for flag, (path, value, why) in asked.items():
        if path and value is None:
            log.warning("%s: %s", flag, why)
    static, reference, mesh = (path if value is not None else None for path, value, _ in asked.values())
    pose_out = pose_out if static else None
    with atomic_outputs(args.out, static, pose_out, reference, mesh) as (tmp_out, tmp_static, tmp_pose,
                                                                        tmp_reference, tmp_mesh):
        write_trc(tmp_out, res.motion, name=Path(args.out).name)
        if static:
            write_trc(tmp_static, res.static, name=Path(static).name)
            write_mot(tmp_pose, res.static_pose, model=_skeleton(cfg)[0])
        if reference:
            write_mot(tmp_reference, res.reference, model=_skeleton(cfg)[0])
        if mesh:
            res.mesh.save(tmp_mesh)
    log.info("wrote %s: %d markers x %d frames at %g Hz", args.out, len(res.motion.names), res.motion.n_frames,
             res.motion.rate)
    if static:
        log.info("wrote %s (static trial, %d frames) and %s (its pose: odah scale --static-pose)", static,
                 res.static.n_frames, pose_out)
    return 0
