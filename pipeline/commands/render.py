"""``odah render CLIP``: render one clip into the dataset contract (videos + labels)."""

from __future__ import annotations

import argparse

from ..config.flags import int_range

HELP = "render one clip: scene, EEVEE front/side videos with person masks, H264, labels"
DESCRIPTION = """\
Renders clip CLIP into <output_root>/clips/CLIP/: config.yaml, scene.json, video_front/side.mp4,
masks_front/side.mp4, cameras.json, keypoints3d.npz, keypoints2d.npz (+ visibility),
kinematics.mot and scales.json (copied when given), render_info.json. Inputs: a body mesh
sequence (npz, OpenSim axes) and the 3D keypoints to label (npz with keypoints (T, K, 3) and
names). --mannequin renders a procedural walking mannequin instead (no body model needed).
--tasks runs the same work as Luigi tasks (skipping what is complete).

examples:  odah render demo --mannequin --frames 30 -s render.width=320 -s render.height=240
           odah render s000-walking --mesh body_fit.npz --keypoints keypoints3d.npz --kinematics ik.mot
           odah render again --mesh body_fit.npz --keypoints keypoints3d.npz --scene clips/again/scene.json"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", metavar="CLIP", help="clip id (folder name; with dataset.seed it fixes the scene)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--mesh", metavar="MESH.npz", help="body mesh sequence (pipeline.body.mesh.MeshSequence)")
    src.add_argument("--mannequin", action="store_true", help="render a procedural walking mannequin")
    p.add_argument("--keypoints", metavar="KP.npz", help="keypoints to label (required with --mesh, refused with --mannequin)")
    p.add_argument("--kinematics", metavar="IK.mot", help="the clip's OpenSim coordinates (copied)")
    p.add_argument("--scales", metavar="SCALES.json", help="the subject's scale factors (copied)")
    p.add_argument("--scene", metavar="scene.json", help="render this scene spec instead of sampling one")
    p.add_argument("--frames", type=int_range(1), help="with --mannequin: frames, 1 or more (default: 1 s)")
    p.add_argument("--tasks", action="store_true", help="run as Luigi tasks (local scheduler)")


def _save_mannequin(cfg, clip: str, mesh, kp, names) -> tuple[str, str]:
    """The mannequin's mesh and keypoints as files (the tasks' inputs): their paths."""
    import numpy as np

    from ..io_utils import atomic_savez
    from ..layout import Layout

    folder = Layout(cfg.paths.output_root).root.resolve() / "mannequin" / clip
    folder.mkdir(parents=True, exist_ok=True)
    mesh.save(folder / "mesh.npz")
    atomic_savez(folder / "keypoints.npz", keypoints=kp, names=np.array(names))
    return str(folder / "mesh.npz"), str(folder / "keypoints.npz")


def run(args, cfg) -> int:
    from ..errors import RenderError
    from ..io_utils import check_output
    from ..layout import Layout, check_id

    # Every input is checked before the first file is written: a failure leaves nothing behind.
    check_id("clip", args.clip)
    if args.mesh and not args.keypoints:
        raise RenderError("odah render: --keypoints is required with --mesh")
    if args.mannequin and args.keypoints:
        raise RenderError("odah render: --keypoints is for --mesh (the mannequin brings its own keypoints)")
    if args.mesh and args.frames:
        raise RenderError("odah render: --frames is for --mannequin (a --mesh has its own frames)")
    if args.scene and args.tasks:
        raise RenderError("--scene cannot be combined with --tasks (the scene task samples scene.json)")
    spec = None
    if args.scene:
        from ..scene.spec import load_spec

        spec = load_spec(args.scene)
        if spec.clip_id != args.clip:
            raise RenderError(f"--scene {args.scene} is the scene of clip '{spec.clip_id}', not '{args.clip}'")
    paths = Layout(cfg.paths.output_root).clip(args.clip)
    check_output(paths.config, RenderError, "the clip's config.yaml")

    from ..body.mesh import MeshSequence
    from ..scene.labels import load_keypoints

    if args.mannequin:
        from ..scene.mannequin import mannequin

        mesh, kp, names = mannequin(frames=args.frames or max(2, int(cfg.render.fps)), fps=cfg.render.fps,
                                    name=args.clip)
    else:
        mesh = MeshSequence.load(args.mesh)
        kp, names = load_keypoints(args.keypoints, args.clip)
    if args.tasks:
        from ..config import config_to_yaml, save_config
        from ..render.clip import check_inputs
        from ..scene.sampling import sample_scene

        spec = sample_scene(mesh, cfg, args.clip)
        check_inputs(spec, mesh, cfg.render)
        mesh_path, kp_path = (_save_mannequin(cfg, args.clip, mesh, kp, names) if args.mannequin
                              else (args.mesh, args.keypoints))
        save_config(cfg, paths.config)  # provenance (the tasks take the same text)
        if not paths.scene.exists():  # SceneTask would sample the same seeded spec again
            spec.save(paths.scene)
        return _run_tasks(args, cfg, config_to_yaml(cfg), mesh_path, kp_path)

    from ..render.clip import render_clip
    from ..scene.sampling import sample_scene

    spec = spec or sample_scene(mesh, cfg, args.clip)
    info = render_clip(spec, mesh, kp, names, cfg, paths, kinematics=args.kinematics, scales=args.scales)
    per_frame = sum(v["render_seconds"] for v in info["views"].values()) / max(info["frames"], 1)
    print(f"{paths.dir}: {info['frames']} frames x 2 views at {info['width']}x{info['height']}, "
          f"{per_frame:.2f} s per two-view frame on {info['gpu'].get('renderer', '?')}")
    return 0


def _run_tasks(args, cfg, cfg_yaml: str, mesh_path: str, kp_path: str) -> int:
    import luigi

    from ..errors import RenderError
    from ..tasks.failures import build_kwargs
    from ..tasks.render import ClipTask

    task = ClipTask(root=str(cfg.paths.output_root), clip_id=args.clip, mesh=mesh_path, keypoints=kp_path,
                    kinematics=args.kinematics or "", scales=args.scales or "", config=cfg_yaml)
    ok = luigi.build([task], **build_kwargs(1, cfg.dataset.scheduler))
    if not ok:
        raise RenderError(f"clip '{args.clip}': a task failed (see {cfg.paths.output_root}/failures.jsonl)")
    print(task.paths.dir)
    return 0
