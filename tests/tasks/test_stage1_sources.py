"""OpenSim motions skip IK; the anny walk cycle goes through markers, scaling and IK."""

import json

import numpy as np

from pipeline.config import load_config
from pipeline.kinematics.mot import read_mot, write_mot
from pipeline.layout import Layout
from pipeline.tasks.ik import run_stage1

def test_opensim_motion_skips_ik(tmp_path):
    from pipeline.body.motion_library import load_motion

    src = write_mot(tmp_path / "squat.mot", load_motion("squat", fps=100.0, duration=1.0))
    cfg = load_config(None, ["motion.fps=50", "body.shape=average"])
    assert run_stage1(tmp_path / "out", "s1", "squat", str(src), cfg)
    lay = Layout(tmp_path / "out")
    mp = lay.motion("s1", "squat")
    ik, given = read_mot(mp.ik_mot), read_mot(src)
    assert ik.n_frames == 51 and abs(ik.rate - 50.0) < 1e-6
    for c in ("knee_angle_r", "hip_flexion_l", "pelvis_ty"):
        assert np.allclose(ik.column(c), np.interp(ik.times, given.times, given.column(c)), atol=1e-5)
    assert json.loads(mp.ik_report.read_text())["backend"] == "none"
    assert json.loads(lay.subject("s1").scale_report.read_text())["backend"] == "none"
    assert mp.markers_trc.exists() and mp.static_trc.exists()  # the body's markers, for reference


def test_anny_walk_cycle_through_scale_and_ik(tmp_path):
    cfg = load_config(None, ["motion.fps=30", "motion.max_seconds=3.3", "body.shape=average"])
    assert run_stage1(tmp_path / "out", "s1", "walk", "anny:walk", cfg)
    mp = Layout(tmp_path / "out").motion("s1", "walk")
    ik = read_mot(mp.ik_mot)
    assert ik.n_frames == 100
    knee = np.degrees(ik.column("knee_angle_r"))
    assert knee.max() > 35 and knee.min() < 15  # flexes in swing, near straight in stance
    tx = ik.column("pelvis_tx")
    assert 0.3 < (tx[-1] - tx[0]) / 3.3 < 1.0
    rep = json.loads(mp.ik_report.read_text())
    assert rep["summary"]["rmse_mean"] < 0.015
