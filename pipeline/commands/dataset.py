"""``odah dataset``: build a whole dataset: every (subject, motion) clip, then manifest.json."""

from __future__ import annotations

import argparse

from ..config.flags import int_key

HELP = "build a dataset: subjects x motions -> scaled models, IK, bodies, rendered clips, labels, manifest"
DESCRIPTION = """\
Runs the whole pipeline for every clip of the configured dataset, as one Luigi task graph:

  motion source -> virtual markers -> scaled subject (.osim) -> IK (.mot) -> keypoints (FK)
               -> Anny body on the skeleton -> scene (seeded) -> EEVEE front/side -> H264 + labels

Clips: each of dataset.subjects sampled Anny subjects performs every library:NAME, anny:walk and
.mot motion; AMASS .npz and .trc/.c3d files form one subject per folder. Every subject is scaled
once, from its first motion; splits (train/val/test) are by subject. Finished work is skipped when
you run it again, so an interrupted run resumes. A failing clip is recorded (failures.jsonl and
the manifest) and the others carry on; the exit status is 1 when any clip failed.

Output (see the dataset contract in the README): <out>/manifest.json, <out>/subjects/<sid>/...,
<out>/clips/<sid>-<motion>/{video,masks}_{front,side}.mp4, cameras.json, kinematics.mot,
scales.json, keypoints3d.npz, keypoints2d.npz, scene.json.

Clusters: start 'luigid' on one machine and run the same command with --scheduler
http://HOST:8082 and --workers N on every machine; they share the work.

examples:
  odah dataset -c demo --out output/demo
  odah dataset --out data/odah -s dataset.subjects=40 -s 'dataset.motions=[library:walking,library:running]'
  odah dataset --out data/amass -s 'dataset.motions=[BMLmovi/Subject_1_F_MoSh/Subject_1_F_1_poses.npz]'"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help="dataset root (default: config paths.output_root)")
    p.add_argument("--workers", type=int_key("dataset.workers"), metavar="N",
                   help="Luigi worker processes (default: config dataset.workers)")
    p.add_argument("--scheduler", metavar="URL", help="central Luigi scheduler, e.g. http://host:8082 "
                                                       "(default: config dataset.scheduler; empty: local)")
    p.add_argument("--plan", action="store_true", help="only list the clips (subject, motion, split) and exit")
    p.add_argument("--manifest-only", action="store_true",
                   help="rewrite manifest.json of an existing dataset from what is on disk (e.g. after a cluster "
                        "run) and its own config.yaml (-c/-s are refused), render nothing; exit status 1 when a "
                        "clip is incomplete")


def run(args, cfg) -> int:
    from ..dataset import assign_splits, plan_units
    from ..layout import Layout
    from ..log import plural

    root = Layout(args.out or cfg.paths.output_root).root
    if args.manifest_only:
        return _manifest_only(args, root)
    units = plan_units(cfg)
    if args.plan:
        splits = assign_splits(sorted({u.subject for u in units}), cfg.dataset.splits, cfg.dataset.seed)
        for u in units:
            print(f"{u.clip_id:<32} subject {u.subject:<10} {splits[u.subject]:<6} {u.source}")
        print(f"{plural(len(units), 'clip')}, {plural(len(splits), 'subject')}")
        return 0
    from ..tasks.dataset import build_dataset

    manifest = build_dataset(cfg, root, workers=args.workers, scheduler=args.scheduler, units=units)
    s = manifest["summary"]
    print(f"{s['ok']} of {s['clips']} clips ok, {s['failed']} failed: {Layout(root).manifest}")
    for c in manifest["clips"]:
        if c["status"] != "ok":
            print(f"  FAILED {c['clip_id']}: {c.get('error', '')}")
    return 0 if s["failed"] == 0 else 1


def _manifest_only(args, root) -> int:
    """Rewrite ``root``'s manifest from its files, planned by the config the dataset was built with."""
    from ..config import load_config
    from ..dataset import build_manifest, plan_units, write_manifest
    from ..errors import ConfigError, TaskError
    from ..layout import Layout

    path = Layout(root).config
    if args.config or args.overrides:
        raise ConfigError(f"--manifest-only describes the dataset as {path} built it; drop -c/--config and "
                          "-s/--set (to change the dataset, run 'odah dataset' with a new --out)")
    if not path.is_file():
        raise TaskError(f"{root}: no dataset here (no {path.name}); --manifest-only describes "
                        f"the output of an 'odah dataset --out {root}' run")
    cfg = load_config(path)
    manifest = build_manifest(cfg, root, plan_units(cfg))
    print(f"wrote {write_manifest(manifest, root)}: {manifest['summary']}")
    return 0 if manifest["summary"]["failed"] == 0 else 1
