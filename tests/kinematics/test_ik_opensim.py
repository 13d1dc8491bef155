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

import numpy as np
import pytest
import torch

from pipeline.kinematics.fk import Skeleton
from pipeline.kinematics.ik import solve_ik
from pipeline.kinematics.ik_parity import GOLDEN_CASES, SetupIK, flat_direction_violations, rotational_rms
from pipeline.kinematics.mot import read_mot

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _case(golden, name, tmp_path, accuracy=None, window=None):
    case = GOLDEN_CASES[name]
    p = SetupIK.load(golden / case["setup"], golden / case["model"], window=window)
    sk = Skeleton(p.model, dtype=torch.float64)
    ours = solve_ik(sk, p.markers.positions, p.markers.names, weights=p.setup.marker_weights,
                    coordinate_tasks=p.tasks, progress=False)
    ref = p.run_opensim(tmp_path / f"{name}.mot", accuracy=accuracy)
    assert ref.motion.names == p.model.coordinate_names
    assert np.allclose(ref.motion.times, p.markers.times, atol=1e-9)
    q_ref = ref.motion.values
    return p.model, ours, q_ref, p.objective(sk, ours.q), p.objective(sk, q_ref)


def _rot_rms(model, a, b):
    return np.array(list(rotational_rms(model, a, b).values()))


def test_gait2354_matches_opensim_and_golden(golden, tmp_path):
    model, ours, q_ref, e_ours, e_ref = _case(golden, "gait2354", tmp_path)
    rms = _rot_rms(model, ours.q, q_ref)
    assert np.median(rms) <= 0.2
    assert flat_direction_violations(model, ours.q, q_ref, e_ours, e_ref) == []  # a better fit where they differ
    gold = read_mot(golden / GOLDEN_CASES["gait2354"]["golden_mot"], model=model)
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
    assert flat_direction_violations(model, ours.q, q_ref, e_ours, e_ref) == []  # a better fit where they differ
    assert np.all(e_ours <= e_ref * (1 + 1e-9))
