"""Torch IK vs OpenSim 4.6's InverseKinematicsTool on the golden cases, in one process.

Both backends solve the same problem: the golden scaled model, marker file, IK task set, coordinate
tasks and time range of the setup XML. Prints, per case: frames/s of each backend and their ratio
(solve only for torch; OpenSim's tool.run(), which also loads the model and markers, so torch is
also timed end to end from the files), and the accuracy: per-coordinate RMS difference to OpenSim
(median and worst, degrees), how many frames torch fits at least as well (OpenSim's own weighted
objective), and for gait2354 the difference to the golden .mot.

    .venv/bin/python benchmarks/ik_vs_opensim.py                  # both cases, CPU
    .venv/bin/python benchmarks/ik_vs_opensim.py --case hamner --threads 1
    .venv/bin/python benchmarks/ik_vs_opensim.py --device cuda --batch 12000   # GPU throughput

``--batch N`` repeats the trial's frames until there are N and reports torch's frames/s on that
batch (the GPU figure of issue 3 needs N >= 10000); accuracy is always from the plain trial.
``--opensim-accuracy`` overrides the setup's accuracy (e.g. 1e-8 to compare with a converged
OpenSim; much slower). Timings on a shared machine are noisy: take the minimum of --repeats runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def golden_dir(arg: str | None) -> Path:
    p = Path(arg or os.environ.get("ODAH_GOLDEN") or REPO.parent / "shared" / "golden")
    if not (p / "gait2354").is_dir():
        sys.exit(f"golden OpenSim data not found at {p} (use --golden or $ODAH_GOLDEN)")
    return p


def run_case(name: str, golden: Path, args) -> dict:
    import numpy as np
    import torch

    from pipeline.kinematics.fk import Skeleton
    from pipeline.kinematics.ik import solve_ik
    from pipeline.kinematics.ik_parity import GOLDEN_CASES, SetupIK, flat_direction_violations, rotational_rms
    from pipeline.kinematics.mot import read_mot

    case = GOLDEN_CASES[name]
    dtype = {"float32": torch.float32, "float64": torch.float64}[args.dtype]

    def torch_end_to_end():
        p = SetupIK.load(golden / case["setup"], golden / case["model"])
        sk = Skeleton(p.model, dtype=dtype, device=args.device)
        t0 = time.perf_counter()
        res = solve_ik(sk, p.markers.positions, p.markers.names, weights=p.setup.marker_weights,
                       coordinate_tasks=p.tasks, progress=False, tolerance=args.tolerance)
        if args.device == "cuda":
            torch.cuda.synchronize()
        return res, time.perf_counter() - t0, p, sk

    torch_end_to_end()  # warm-up (first calls allocate and load libraries)
    solve_times, e2e_times = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res, solve_s, p, sk = torch_end_to_end()
        e2e_times.append(time.perf_counter() - t0)
        solve_times.append(solve_s)
    model, data, s, tasks = p.model, p.markers, p.setup, p.tasks
    T = data.n_frames

    os_times, ref = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.opensim_repeats):
            ref = p.run_opensim(Path(tmp) / f"{name}_{k}.mot", accuracy=args.opensim_accuracy)
            os_times.append(ref.seconds)
    q_ref = ref.motion.values
    assert ref.motion.names == model.coordinate_names and len(q_ref) == T

    rms = rotational_rms(model, res.q, q_ref)
    rot, rot_rms = list(rms), np.array(list(rms.values()))
    e_ours, e_ref = p.objective(sk, res.q), p.objective(sk, q_ref)
    out = dict(
        case=name, frames=T, coordinates=len(model.coordinates), markers=len(res.marker_names),
        torch_solve_s=min(solve_times), torch_e2e_s=min(e2e_times), opensim_s=min(os_times),
        median_rms_deg=float(np.median(rot_rms)), worst_rms_deg=float(rot_rms.max()),
        worst_coord=rot[int(np.argmax(rot_rms))],
        frames_no_worse=int(np.sum(e_ours <= e_ref * (1 + 1e-9))),
        flat_rule_ok=not flat_direction_violations(model, res.q, q_ref, e_ours, e_ref),
        objective_ratio_median=float(np.median(e_ours / e_ref)),
        rmse_mm_torch=1000 * float(np.nanmean(res.marker_rmse)), rmse_mm_opensim=1000 * float(np.nanmean(ref.marker_rmse)),
    )
    if case["golden_mot"]:
        gold = read_mot(golden / case["golden_mot"], model=model)
        g = np.array(list(rotational_rms(model, res.q, gold.values).values()))
        out.update(golden_median_deg=float(np.median(g)), golden_worst_deg=float(g.max()))

    if args.batch and args.batch > T:
        reps = -(-args.batch // T)
        big = np.concatenate([data.positions] * reps, 0)[: args.batch]
        big_tasks = {k: (np.resize(np.broadcast_to(v, (T,)), args.batch), w) for k, (v, w) in tasks.items()}
        solve_ik(sk, big, data.names, weights=s.marker_weights, coordinate_tasks=big_tasks, progress=False,
                 tolerance=args.tolerance)
        bt = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            solve_ik(sk, big, data.names, weights=s.marker_weights, coordinate_tasks=big_tasks, progress=False,
                     tolerance=args.tolerance)
            if args.device == "cuda":
                torch.cuda.synchronize()
            bt.append(time.perf_counter() - t0)
        out.update(batch=args.batch, batch_s=min(bt))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", choices=("gait2354", "hamner", "both"), default="both")
    ap.add_argument("--golden", help="golden OpenSim data folder (default: $ODAH_GOLDEN or ../shared/golden)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--repeats", type=int, default=3, help="timed torch runs (the minimum is reported)")
    ap.add_argument("--opensim-repeats", type=int, default=1, help="timed OpenSim runs (the minimum is reported)")
    ap.add_argument("--opensim-accuracy", type=float, default=None, help="override the setup's IK accuracy")
    ap.add_argument("--tolerance", type=float, default=1e-6, help="torch IK step tolerance (rad / m)")
    ap.add_argument("--batch", type=int, default=0, help="also time torch on this many frames (trial repeated)")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device")
    golden = golden_dir(args.golden)
    cases = ["gait2354", "hamner"] if args.case == "both" else [args.case]
    print(f"torch {torch.__version__} on {args.device} ({args.dtype}, {torch.get_num_threads()} CPU threads); "
          f"OpenSim accuracy: {args.opensim_accuracy or 'from the setup'}")
    for name in cases:
        r = run_case(name, golden, args)
        T = r["frames"]
        fo, ft, fe = T / r["opensim_s"], T / r["torch_solve_s"], T / r["torch_e2e_s"]
        print(f"\n== {name}: {T} frames, {r['coordinates']} coordinates, {r['markers']} markers")
        print(f"  OpenSim IK tool      {r['opensim_s']:8.3f} s  {fo:9.1f} frames/s  ({1000 * r['opensim_s'] / T:.2f} ms/frame)")
        print(f"  torch IK (solve)     {r['torch_solve_s']:8.3f} s  {ft:9.1f} frames/s  ratio {ft / fo:6.1f}x")
        print(f"  torch IK (files in)  {r['torch_e2e_s']:8.3f} s  {fe:9.1f} frames/s  ratio {fe / fo:6.1f}x")
        if "batch" in r:
            fb = r["batch"] / r["batch_s"]
            print(f"  torch IK batch {r['batch']:6d} {r['batch_s']:7.3f} s  {fb:9.1f} frames/s  ratio {fb / fo:6.1f}x")
        print(f"  per-coordinate RMS difference to OpenSim: median {r['median_rms_deg']:.3f} deg, worst "
              f"{r['worst_rms_deg']:.3f} deg ({r['worst_coord']})")
        print(f"  frames where torch fits at least as well (OpenSim's objective): {r['frames_no_worse']}/{T}; "
              f"objective ratio torch/OpenSim median {r['objective_ratio_median']:.4f}; "
              f"coordinates > 1 deg are flat directions: {'yes' if r['flat_rule_ok'] else 'NO'}")
        print(f"  mean marker RMSE: torch {r['rmse_mm_torch']:.2f} mm, OpenSim {r['rmse_mm_opensim']:.2f} mm")
        if "golden_median_deg" in r:
            print(f"  vs golden .mot: median {r['golden_median_deg']:.3f} deg, worst {r['golden_worst_deg']:.3f} deg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
