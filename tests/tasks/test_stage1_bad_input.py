"""Bad input through the stage-1 tasks: a clear error naming file and field, and no partial outputs."""

import json

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.errors import KinematicsError, MarkerLayoutError, MotionSourceError
from pipeline.layout import Layout
from pipeline.tasks.ik import run_stage1
from tests.body.amass_fixture import write_amass


def _files(root):
    """Outputs under ``root``: everything but the saved config and the failure log.

    ``failures.jsonl`` is the batch's record of failed units (it must name the bad file when it
    exists); it is not an output that could pass for a finished one.
    """
    log = root / "failures.jsonl"
    if log.exists():
        assert all(json.loads(line)["error"] for line in log.read_text().splitlines())
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.name not in ("config.yaml", "failures.jsonl"))


def _cfg(standin_folder, *extra):
    return load_config(None, [f"paths.smplx_models={standin_folder}", "motion.fps=30", *extra])


def test_amass_with_nans_truncated_or_unknown_gender_leave_nothing(tmp_path, standin_folder):
    poses = np.zeros((20, 156))
    poses[7, 40] = np.nan
    cases = {
        "nan.npz": (dict(poses=poses), r"nan.npz: field 'poses' has NaN/inf values \(first at frame 7\)"),
        "gender.npz": (dict(gender=np.array("alien")), r"gender.npz: field 'gender': unknown gender 'alien'"),
        "keys.npz": (dict(trans=None), r"keys.npz: missing field 'trans'"),
    }
    cfg = _cfg(standin_folder)
    for name, (kw, msg) in cases.items():
        src = write_amass(tmp_path / name, "smplh", T=20, fps=30.0, **kw)
        root = tmp_path / f"out_{name}"
        with pytest.raises(MotionSourceError, match=msg):
            run_stage1(root, "s01", "m", str(src), cfg)
        assert _files(root) == []
    good = write_amass(tmp_path / "good.npz", "smplh", T=20, fps=30.0)
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(good.read_bytes()[:300])
    with pytest.raises(MotionSourceError, match="trunc.npz: not a readable AMASS .npz"):
        run_stage1(tmp_path / "out_trunc", "s01", "m", str(trunc), cfg)
    assert _files(tmp_path / "out_trunc") == []


def test_bad_layouts_stop_before_any_marker_file(tmp_path, standin_folder):
    src = write_amass(tmp_path / "walk.npz", "smplh", T=20, fps=30.0)
    bad = tmp_path / "bad_layout.yaml"
    bad.write_text("topology: smplh\nmarkers:\n  LKNE: {vertex: 7000}\n")
    root = tmp_path / "out1"
    with pytest.raises(MarkerLayoutError, match=r"bad_layout.yaml: marker 'LKNE': field 'vertex': 7000 is out of range"):
        run_stage1(root, "s01", "m", str(src), _cfg(standin_folder, f"markers.layout={bad}"))
    mp = Layout(root).motion("s01", "m")
    assert mp.source.exists() and not mp.markers_trc.exists() and not Layout(root).subject("s01").body_params.exists()
    bad.write_text("topology: smplh\nmarkers:\n  LKNE: {vertex: 10}\n  XKNE: {vertex: 11}\n")
    with pytest.raises(MarkerLayoutError, match=r"marker 'XKNE': not a marker of the OpenSim model"):
        run_stage1(tmp_path / "out2", "s01", "m", str(src), _cfg(standin_folder, f"markers.layout={bad}"))
    assert not Layout(tmp_path / "out2").motion("s01", "m").markers_trc.exists()


def test_opensim_motion_with_nans_and_missing_files(tmp_path):
    from pipeline.kinematics.mot import Motion, write_mot

    mot = Motion(names=["pelvis_tx", "knee_angle_r"], values=np.array([[0, 0.1], [np.nan, 0.2], [0.2, 0.3]]),
                 times=np.array([0, 0.1, 0.2]))
    f = write_mot(tmp_path / "bad.mot", mot)
    cfg = load_config(None, ["motion.fps=10"])
    with pytest.raises(MotionSourceError, match=r"bad.mot: field 'values' has NaN/inf values \(first at frame 1\)"):
        run_stage1(tmp_path / "out", "s01", "m", str(f), cfg)
    assert _files(tmp_path / "out") == []
    with pytest.raises(MotionSourceError, match="nope.npz: motion file not found"):
        run_stage1(tmp_path / "out", "s01", "m", str(tmp_path / "nope.npz"), cfg)
    with pytest.raises(MotionSourceError, match="library:nosuch"):
        run_stage1(tmp_path / "out", "s01", "m", "library:nosuch", cfg)


def test_scaling_from_a_static_trial_needs_its_pose(tmp_path):
    from pipeline.body.stage1 import scale_subject

    out = [tmp_path / n for n in ("scaled.osim", "scales.json", "report.json")]
    with pytest.raises(KinematicsError, match=r"static trial needs its known pose \(static_q\)"):
        scale_subject(load_config(), None, *out, mass=None, height=None, static=object())
    assert not list(tmp_path.iterdir())
