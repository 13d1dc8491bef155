"""Round-trip accuracy of stage 1 for every motion of the library (the issue-4 acceptance, widened).

Each library motion drives the generic model; Anny (shape fitted to the model) is retargeted onto
it; its virtual markers go through scaling and IK (torch by default). Prints, per motion, the RMS
error of every lower-limb and lumbar coordinate against the truth (the worst one and the mean),
the IK marker RMSE, and the run time.

    .venv/bin/python benchmarks/round_trip_accuracy.py [--seconds 3] [--fps 30] [--backend torch|opensim]
        [--shape fit|average|sample] [motions ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANNY_CACHE_DIR", str(ROOT / ".cache" / "anny"))

COORDS = [f"{c}_{s}" for s in ("r", "l") for c in
          ("hip_flexion", "hip_adduction", "hip_rotation", "knee_angle", "ankle_angle", "subtalar_angle")]
COORDS += ["lumbar_extension", "lumbar_bending", "lumbar_rotation"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("motions", nargs="*")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--backend", default="torch", choices=("torch", "opensim"))
    p.add_argument("--shape", default="fit", choices=("fit", "average", "sample"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (repeatable)")
    args = p.parse_args()

    from pipeline.body.motion_library import list_motions
    from pipeline.config import load_config
    from pipeline.kinematics.mot import read_mot
    from pipeline.layout import Layout
    from pipeline.tasks.ik import run_stage1

    motions = args.motions or list_motions()
    cfg = load_config(None, [f"body.shape={args.shape}", f"motion.fps={args.fps}", f"motion.max_seconds={args.seconds}",
                             f"kinematics.scale.backend={args.backend}", f"kinematics.ik.backend={args.backend}", *args.set])
    print(f"round trip: library motion -> Anny ({args.shape}) -> virtual markers -> scale + IK ({args.backend}); "
          f"{args.seconds:g} s at {args.fps:g} fps")
    print(f"{'motion':<14s} {'worst coord':<18s} {'worst RMS':>9s} {'mean RMS':>9s} {'marker RMSE':>12s} {'time':>7s}")
    for m in motions:
        root = Path(tempfile.mkdtemp(prefix="odah_rt_"))
        t = time.perf_counter()
        run_stage1(root, "subject", m, f"library:{m}", cfg)
        dt = time.perf_counter() - t
        mp = Layout(root).motion("subject", m)
        truth, ik = read_mot(mp.reference_mot), read_mot(mp.ik_mot)
        rms = {c: float(np.sqrt(np.mean(np.degrees(ik.column(c) - truth.column(c)) ** 2))) for c in COORDS}
        worst = max(rms, key=rms.get)
        rep = json.loads(mp.ik_report.read_text())
        print(f"{m:<14s} {worst:<18s} {rms[worst]:8.2f}° {np.mean(list(rms.values())):8.2f}° "
              f"{1000 * rep['summary']['rmse_mean']:9.1f} mm {dt:6.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
