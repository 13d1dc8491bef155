"""Torch IK against OpenSim 4.6's InverseKinematicsTool on the golden cases (same model, markers,
task set, coordinate tasks and time range).

Acceptance (issue 3): the median per-coordinate RMS difference is <= 0.2 deg; a coordinate that
differs by more than 1 deg RMS must be a flat direction, not a worse fit: our weighted marker
error (OpenSim's own objective) on those frames is no larger than OpenSim's. On gait2354 torch IK
also matches the golden .mot within a median 0.5 deg and a worst 1.5 deg RMS.

OpenSim stops at its setup's ``accuracy``; on Hamner (accuracy 1e-4) that leaves it short of the
optimum by a few percent of the objective in every frame, so there the 0.2 deg median is checked
against OpenSim run to convergence (accuracy 1e-8; same problem, same answer to 1e-3 deg) and the
setup-accuracy run is checked with the flat-direction rule. Hamner uses a 2 s window to keep the
test short; benchmarks/ik_vs_opensim.py runs all 600 frames.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.kinematics.fk import Skeleton
from pipeline.kinematics.ik import coordinate_rms, ik_objective, read_ik_setup, solve_ik
from pipeline.kinematics.mot import read_mot
from pipeline.kinematics.opensim_tools import run_ik_tool
from pipeline.kinematics.osim import load_osim
from pipeline.kinematics.trc import read_trc

pytestmark = [pytest.mark.opensim, pytest.mark.usefixtures("one_torch_thread")]


def _case(golden: Path, name: str, tmp_path: Path, accuracy=None, window=None):
    if name == "gait2354":
        setup = golden / "gait2354" / "subject01_Setup_IK.xml"
        model_path = golden / "gait2354" / "OutputReference" / "subject01_simbody.osim"
    else:
        setup = golden / "hamner" / "Setup_IK.xml"
        model_path = golden / "hamner" / "outputReference" / "subject02_registered.osim"
    s = read_ik_setup(setup)
    data = read_trc(s.marker_file)
    i0, i1 = s.frame_range(data.times)
    data = data.select_frames(slice(i0, i1 + 1))
    if window is not None:
        data = data.time_range(*window)
    model = load_osim(model_path)
    tasks = s.coordinate_targets(model, data.n_frames)
    sk = Skeleton(model, dtype=torch.float64)
    ours = solve_ik(sk, data.positions, data.names, weights=s.marker_weights, coordinate_tasks=tasks, progress=False)
    ref = run_ik_tool(model_path, s.marker_file, tmp_path / f"{name}.mot", setup_xml=setup,
                      time_range=(float(data.times[0]), float(data.times[-1])), accuracy=accuracy)
    assert ref.motion.names == model.coordinate_names
    assert np.allclose(ref.motion.times, data.times, atol=1e-9)
    q_ref = ref.motion.values
    obj = dict(weights=s.marker_weights, coordinate_tasks=tasks)
    e_ours = ik_objective(sk, ours.q, data.positions, data.names, **obj)
    e_ref = ik_objective(sk, q_ref, data.positions, data.names, **obj)
    return model, ours, q_ref, e_ours, e_ref


def _check_flat_rule(model, q_ours, q_ref, e_ours, e_ref):
    """Coordinates > 1 deg RMS apart: where they differ by > 1 deg we fit no worse than OpenSim."""
    rms = coordinate_rms(model, q_ours, q_ref)
    for i, c in enumerate(model.coordinates):
        if c.motion_type == "rotational" and rms[c.name] > 1.0:
            frames = np.abs(np.degrees(q_ours[:, i] - q_ref[:, i])) > 1.0
            assert np.all(e_ours[frames] <= e_ref[frames] * (1 + 1e-9) + 1e-15), c.name


def _rot_rms(model, a, b):
    rms = coordinate_rms(model, a, b)
    return np.array([rms[c.name] for c in model.coordinates if c.motion_type == "rotational"])


def test_gait2354_matches_opensim_and_golden(golden, tmp_path):
    model, ours, q_ref, e_ours, e_ref = _case(golden, "gait2354", tmp_path)
    rms = _rot_rms(model, ours.q, q_ref)
    assert np.median(rms) <= 0.2
    _check_flat_rule(model, ours.q, q_ref, e_ours, e_ref)
    gold = read_mot(golden / "gait2354" / "OutputReference" / "subject01_walk1_ik.mot", model=model)
    assert gold.names == model.coordinate_names and len(gold.times) == len(ours.q)
    g = _rot_rms(model, ours.q, gold.values)
    assert np.median(g) <= 0.5 and g.max() <= 1.5
    # we reach OpenSim's optimum: our objective is no larger in any frame (to its accuracy)
    assert np.all(e_ours <= e_ref * (1 + 1e-4))


def test_hamner_matches_converged_opensim(golden, tmp_path):
    model, ours, q_ref, e_ours, e_ref = _case(golden, "hamner", tmp_path, accuracy=1e-8, window=(0.0, 2.0))
    rms = _rot_rms(model, ours.q, q_ref)
    assert np.median(rms) <= 0.2 and rms.max() <= 0.2
    # the same optimum: objectives agree to 1e-4 and ours is never the larger
    assert np.all(e_ours <= e_ref * (1 + 1e-9)) and np.all(e_ref <= e_ours * (1 + 1e-4))


def test_hamner_at_setup_accuracy_differs_only_by_a_better_fit(golden, tmp_path):
    model, ours, q_ref, e_ours, e_ref = _case(golden, "hamner", tmp_path, window=(0.0, 2.0))
    _check_flat_rule(model, ours.q, q_ref, e_ours, e_ref)
    assert np.all(e_ours <= e_ref * (1 + 1e-9))
