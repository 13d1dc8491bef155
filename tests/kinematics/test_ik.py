"""Torch IK: analytic derivatives, recovery of known poses, bounds, locks, missing data, setups."""

import logging

import numpy as np
import pytest
import torch
from osim_zoo import moving_pose, random_q

from pipeline.errors import KinematicsError
from pipeline.kinematics.fk import Skeleton
from pipeline.kinematics.ik import _Problem, read_ik_setup, solve_ik
from pipeline.kinematics.osim import load_osim

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_jacobian_and_normal_equations_match_autograd(zoo):
    """Analytic Jacobian (couplers, a locked coordinate, scales, coordinate tasks incl. one on a
    coupler-dependent coordinate) equals autograd; the body-moment normal equations equal J^T J."""
    sk = Skeleton(zoo)
    rng = np.random.default_rng(0)
    scales = torch.tensor(rng.uniform(0.8, 1.2, (len(zoo.bodies), 3)))
    names = zoo.coordinate_names
    locked = {names.index("j7_tx"): 0.05}
    tasks = [names.index("c9_b"), names.index("c9_dep")]
    prob = _Problem(sk, list(range(len(zoo.markers))), scales, None, locked, tasks)
    T = 3
    qf = torch.tensor(random_q(zoo, T, rng, margin=0.05))[:, prob.free_idx]
    tgt = torch.randn(T, len(zoo.markers), 3, dtype=torch.float64)
    wsq = torch.rand(T, len(zoo.markers), dtype=torch.float64)
    tt = torch.randn(T, 2, dtype=torch.float64)
    tw = torch.tensor([2.0, 3.0], dtype=torch.float64)
    r, J, _ = prob.evaluate(qf, tgt, wsq, tt, tw)
    Ja = torch.autograd.functional.jacobian(lambda z: prob.evaluate(z, tgt, wsq, tt, tw, jacobian=False)[0], qf)
    Ja = torch.stack([Ja[t, :, t, :] for t in range(T)])
    assert (J - Ja).abs().max() < 1e-12
    cost, H, g = prob.normal_equations(qf, tgt, wsq * wsq, tt, tw * tw)
    assert torch.allclose(H, J.transpose(-1, -2) @ J, atol=1e-12)
    assert torch.allclose(g, (J.transpose(-1, -2) @ r.unsqueeze(-1)).squeeze(-1), atol=1e-12)
    assert torch.allclose(cost, 0.5 * (r * r).sum(-1), atol=1e-14)


def _observable(sk, q):
    """Coordinates that move at least one marker (the others cannot be recovered)."""
    base = sk(torch.tensor(q)).markers
    out = []
    for i in range(sk.n_coordinates):
        dq = np.array(q, copy=True)
        dq[i] += 1e-3
        out.append(bool((sk(torch.tensor(dq)).markers - base).abs().max() > 1e-9))
    return np.array(out)


def test_recovers_known_poses_on_generic_model(generic):
    sk = Skeleton(generic)
    rng = np.random.default_rng(1)
    q = moving_pose(generic, 40, rng)
    q[:, 3] += np.linspace(0, 1.5, 40)  # walk forward
    truth = sk(torch.tensor(q))
    res = solve_ik(sk, truth.markers.numpy(), generic.marker_names, progress=False)
    assert res.q.shape == q.shape and res.marker_names == generic.marker_names
    assert res.marker_rmse.max() < 1e-6 and res.converged.all()
    obs = _observable(sk, truth.q[0].numpy())
    # the toes carry no marker in the generic set; patella coordinates follow the knee
    assert {generic.coordinate_names[i] for i in np.flatnonzero(~obs)} <= {
        "mtp_angle_r", "mtp_angle_l", "knee_angle_r_beta", "knee_angle_l_beta"}
    assert np.abs(res.q - truth.q.numpy())[:, obs].max() < 1e-5


def test_bounds_locks_missing_markers_and_tasks(zoo):
    sk = Skeleton(zoo)
    rng = np.random.default_rng(2)
    q = random_q(zoo, 12, rng, margin=0.05)
    names = zoo.coordinate_names
    ib = names.index("c9_b")  # clamped to [-1.2, 1.2]
    q[:, ib] = 1.5  # outside its range: the fit must stop at the bound
    truth = sk(torch.tensor(q)).markers.numpy()
    truth[3, :4] = np.nan  # some markers missing in frame 3
    truth[5] = np.nan  # nothing in frame 5
    res = solve_ik(sk, truth, zoo.marker_names, coordinate_tasks={"j2_rz": (0.2, 1e-6)}, progress=False)
    assert np.all(res.q[:, ib] <= 1.2 + 1e-12)
    assert np.allclose(res.q[:, names.index("j7_tx")], 0.05)  # locked at its default
    assert np.isnan(res.marker_rmse[5]) and np.isnan(res.marker_errors[5]).all()
    assert np.isnan(res.marker_errors[3, :4]).all() and np.isfinite(res.marker_rmse[3])
    assert np.isfinite(res.q).all()


def test_weights_select_markers_and_bad_input(zoo, caplog):
    caplog.set_level(logging.INFO, logger="odah")
    sk = Skeleton(zoo)
    rng = np.random.default_rng(3)
    mk = sk(torch.tensor(random_q(zoo, 2, rng))).markers.numpy()
    names = list(zoo.marker_names)
    data = np.concatenate([mk, np.zeros((2, 1, 3))], 1)
    res = solve_ik(sk, data, names + ["extra"], weights={"m_b1": 1.0, "m_b2": 2.0, "m_b10": 0.0}, progress=False)
    assert res.marker_names == ["m_b1", "m_b2"]
    assert "extra" in caplog.text
    with pytest.raises(KinematicsError, match="expected"):
        solve_ik(sk, mk[0], names)
    with pytest.raises(KinematicsError, match="none of the data markers"):
        solve_ik(sk, mk, [f"x{i}" for i in range(len(names))])
    with pytest.raises(KinematicsError, match="coordinate task 'nope'"):
        solve_ik(sk, mk, names, coordinate_tasks={"nope": (0.0, 1.0)})
    with pytest.raises(KinematicsError, match="weights must be finite"):
        solve_ik(sk, mk, names, weights={"m_b1": float("nan")})


def test_float32_and_per_frame_start(generic):
    rng = np.random.default_rng(4)
    q = moving_pose(generic, 10, rng, amp=0.3)
    sk64 = Skeleton(generic)
    mk = sk64(torch.tensor(q)).markers.numpy()
    res32 = solve_ik(Skeleton(generic, dtype=torch.float32), mk, generic.marker_names, progress=False)
    assert res32.marker_rmse.max() < 1e-4  # 0.1 mm
    res = solve_ik(sk64, mk, generic.marker_names, q0=q, progress=False)
    assert res.marker_rmse.max() < 1e-9


def test_read_ik_setup(golden, tmp_path):
    s = read_ik_setup(golden / "gait2354" / "subject01_Setup_IK.xml")
    assert s.model_file == (golden / "gait2354" / "subject01_simbody.osim").resolve()
    assert s.marker_file.name == "subject01_walk1.trc" and s.time_range == (0.4, 1.6)
    assert s.accuracy == 1e-5 and s.constraint_weight == 20
    assert s.marker_weights["R.ASIS"] == 10 and s.marker_weights["Top.Head"] == 0.1
    assert [t.name for t in s.coordinate_tasks] == ["subtalar_angle_r", "mtp_angle_r", "subtalar_angle_l", "mtp_angle_l"]
    times = np.arange(151) / 60.0
    assert s.frame_range(times) == (24, 96)
    h = read_ik_setup(golden / "hamner" / "Setup_IK.xml")
    assert h.constraint_weight == float("inf") and "L.Bicep" not in h.marker_weights and h.marker_weights["R.ASIS"] == 50
    # a task set kept in its own file
    (tmp_path / "tasks.xml").write_text(
        "<OpenSimDocument Version=\"40000\"><IKTaskSet name=\"t\"><objects>"
        "<IKMarkerTask name=\"A\"><apply>true</apply><weight>3</weight></IKMarkerTask>"
        "<IKCoordinateTask name=\"knee\"><apply>true</apply><weight>5</weight><value_type>manual_value</value_type>"
        "<value>0.3</value></IKCoordinateTask></objects></IKTaskSet></OpenSimDocument>")
    (tmp_path / "setup.xml").write_text(
        "<OpenSimDocument Version=\"40000\"><InverseKinematicsTool name=\"x\"><model_file>m.osim</model_file>"
        "<IKTaskSet file=\"tasks.xml\"/><accuracy>1e-6</accuracy></InverseKinematicsTool></OpenSimDocument>")
    t = read_ik_setup(tmp_path / "setup.xml")
    assert t.marker_weights == {"A": 3.0} and t.coordinate_tasks[0].value == 0.3 and t.accuracy == 1e-6
    (tmp_path / "bad.xml").write_text("<OpenSimDocument><Foo/></OpenSimDocument>")
    with pytest.raises(KinematicsError, match="no <InverseKinematicsTool>"):
        read_ik_setup(tmp_path / "bad.xml")


def test_batch_limit_and_strides_give_the_same_answer(generic):
    sk = Skeleton(generic)
    q = moving_pose(generic, 30, np.random.default_rng(6), amp=0.3)
    mk = sk(torch.tensor(q)).markers.numpy()
    a = solve_ik(sk, mk, generic.marker_names, progress=False)
    b = solve_ik(sk, mk, generic.marker_names, stride=4, batch_frames=7, progress=False)
    c = solve_ik(sk, mk, generic.marker_names, stride=1, progress=False)
    for r in (b, c):
        assert np.abs(r.marker_rmse).max() < 1e-6
        assert np.abs(r.q - a.q)[:, [i for i, n in enumerate(generic.coordinate_names) if "mtp" not in n]].max() < 1e-5


def _arm_osim() -> str:
    """A planar two-link arm (pin joints about z) with one marker at its tip: every reachable tip
    position has two exact solutions (elbow up, elbow down), each in many 2-pi representations."""
    def body(n):
        return f'<Body name="{n}"><mass>1</mass><mass_center>0.2 0 0</mass_center><inertia>0.01 0.01 0.01 0 0 0</inertia></Body>'

    def off(n, parent, t):
        return (f'<PhysicalOffsetFrame name="{n}"><socket_parent>{parent}</socket_parent><translation>{t}</translation>'
                '<orientation>0 0 0</orientation></PhysicalOffsetFrame>')

    def pin(n, p, c, t, q, d):
        return (f'<PinJoint name="{n}"><socket_parent_frame>{p}_o</socket_parent_frame><socket_child_frame>{c}_o'
                f'</socket_child_frame><coordinates><Coordinate name="{q}"><default_value>{d}</default_value>'
                f'<range>-10 10</range></Coordinate></coordinates><frames>'
                f'{off(p + "_o", "/ground" if p == "ground" else "/bodyset/" + p, t)}{off(c + "_o", "/bodyset/" + c, "0 0 0")}'
                f'</frames></PinJoint>')

    return ('<OpenSimDocument Version="40000"><Model name="arm"><Ground name="ground"/>'
            f'<BodySet name="bodyset"><objects>{body("l1")}{body("l2")}</objects></BodySet>'
            f'<JointSet name="jointset"><objects>{pin("j1", "ground", "l1", "0 0 0", "t1", 0.0)}'
            f'{pin("j2", "l1", "l2", "0.4 0 0", "t2", 0.3)}</objects></JointSet>'
            '<MarkerSet name="markerset"><objects><Marker name="tip"><socket_parent_frame>/bodyset/l2'
            '</socket_parent_frame><location>0.3 0 0</location></Marker></objects></MarkerSet></Model></OpenSimDocument>')


@pytest.mark.parametrize("stride", [16, 1])
def test_warm_start_keeps_one_branch_through_ambiguities(tmp_path, stride):
    """Cold solves of a full turn land on both elbow branches and several 2-pi representations;
    the continuity repair and the interpolation give one continuous solution."""
    p = tmp_path / "arm.osim"
    p.write_text(_arm_osim())
    sk = Skeleton(load_osim(p))
    T = 400
    q = np.stack([np.linspace(0, 2 * np.pi, T), np.full(T, 1.2)], -1)
    res = solve_ik(sk, sk(torch.tensor(q)).markers.numpy(), ["tip"], stride=stride, progress=False)
    assert np.nanmax(res.marker_rmse) < 1e-6
    assert np.abs(np.diff(res.q, axis=0)).max() < 0.05  # no jump between frames
