"""The flat-direction rule that judges torch IK against OpenSim (pipeline.kinematics.ik_parity)."""

from types import SimpleNamespace

import numpy as np

from pipeline.kinematics.ik_parity import flat_direction_violations, rotational_rms


def test_flat_direction_rule():
    model = SimpleNamespace(coordinates=[SimpleNamespace(name="hip", motion_type="rotational"),
                                         SimpleNamespace(name="tx", motion_type="translational")])
    q_ref = np.zeros((4, 2))
    q = q_ref.copy()
    q[:2, 0] = np.radians(3.0)  # hip 3 deg off in frames 0 and 1: RMS 2.1 deg
    q[:, 1] = 0.5  # translations are not judged
    assert list(rotational_rms(model, q, q_ref)) == ["hip"]
    e_ref = np.full(4, 1.0)
    assert flat_direction_violations(model, q, q_ref, np.array([0.9, 1.0, 5.0, 5.0]), e_ref) == []
    assert flat_direction_violations(model, q, q_ref, np.array([0.9, 1.01, 0.5, 0.5]), e_ref) == ["hip"]
