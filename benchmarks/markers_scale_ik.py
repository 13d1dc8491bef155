"""Benchmark: markers + scale + IK for one 10 s clip at 60 fps (600 frames), end to end, on this machine.

Runs odah's stage 1 on one motion (default: the library's walking) and
times each step, then runs OpenSim 4.6's InverseKinematicsTool on the same scaled model and the
same markers, and prints both with their ratio.

    .venv/bin/python benchmarks/markers_scale_ik.py [--source library:walking] [--seconds 10] [--fps 60]
        [--device cpu|cuda] [--backend torch|opensim]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANNY_CACHE_DIR", str(ROOT / ".cache" / "anny"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default="library:walking", help="motion source (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--fps", type=float, default=60.0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--backend", default="torch", choices=("torch", "opensim"), help="odah's scale/IK backend")
    args = p.parse_args()

    from pipeline.body import stage1
    from pipeline.config import load_config
    from pipeline.kinematics.opensim_tools import run_ik_tool
    from pipeline.kinematics.trc import write_trc

    source = args.source
    cfg = load_config(None, [f"motion.fps={args.fps}", f"motion.max_seconds={args.seconds}", "body.shape=fit",
                             f"kinematics.scale.backend={args.backend}", f"kinematics.ik.backend={args.backend}",
                             f"kinematics.ik.device={args.device}"])
    work = Path(tempfile.mkdtemp(prefix="odah_bench_"))
    times = {}

    # warm-up: load the body model and the skeleton, compile kernels (not timed: one-off per process)
    t = time.perf_counter()
    stage1.anny_body(cfg)
    stage1._skeleton(cfg)
    times["load (once per process)"] = time.perf_counter() - t

    t = time.perf_counter()
    src = stage1.load_motion_source(source, cfg)
    body = stage1.subject_body(cfg, "bench", src)
    res = stage1.make_markers(src, body, cfg, "bench")
    times["markers (motion -> body -> virtual markers)"] = time.perf_counter() - t
    trc = write_trc(work / "markers.trc", res.motion)
    static_trc = write_trc(work / "static.trc", res.static) if res.static is not None else None
    n = res.motion.n_frames

    t = time.perf_counter()
    mass, height = stage1._mass_height(cfg, body, res.info)
    weights = stage1.marker_weights(cfg, body)
    static_q = None if res.static_pose is None else res.static_pose.values[0]
    stage1.scale_subject(cfg, res.motion, work / "scaled.osim", work / "scales.json", work / "scale_report.json",
                         mass=mass, height=height, trial_path=trc, static=res.static, static_path=static_trc,
                         static_q=static_q, weights=weights)
    times["scale"] = time.perf_counter() - t

    t = time.perf_counter()
    _, rep = stage1.run_ik(cfg, work / "scaled.osim", res.motion, work / "ik.mot", work / "ik_report.json",
                           trial_path=trc, weights=weights)
    times["IK"] = time.perf_counter() - t
    ours = times["markers (motion -> body -> virtual markers)"] + times["scale"] + times["IK"]

    t = time.perf_counter()
    os_res = run_ik_tool(work / "scaled.osim", trc, work / "ik_opensim.mot")
    t_os = time.perf_counter() - t

    print(f"odah stage 1, source {source}: {n} frames ({args.seconds:g} s at {args.fps:g} fps), backend "
          f"{args.backend}, device {args.device}")
    for k, v in times.items():
        print(f"  {k:<46s} {v:8.2f} s")
    print(f"  {'end to end (markers + scale + IK)':<46s} {ours:8.2f} s   ({1000 * ours / n:.1f} ms/frame)")
    print(f"  odah IK marker RMSE mean {1000 * rep['summary']['rmse_mean']:.1f} mm, max error "
          f"{1000 * rep['summary']['max_error_max']:.1f} mm")
    print(f"OpenSim 4.6 InverseKinematicsTool, same model and markers: {t_os:8.2f} s   ({1000 * t_os / n:.1f} ms/frame), "
          f"marker RMSE mean {1000 * float(np.mean(os_res.marker_rmse)):.1f} mm")
    print(f"ratio OpenSim IK / odah IK: {t_os / times['IK']:.1f}x;  OpenSim IK / odah end to end: {t_os / ours:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
