"""AMASS path: an AMASS-format walk on stand-in SMPL-H / SMPL-X models -> markers -> scale -> IK .mot."""

import json

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.kinematics.mot import read_mot
from pipeline.kinematics.trc import read_trc
from pipeline.layout import Layout
from pipeline.tasks.ik import run_stage1
from tests.body.amass_fixture import PELVIS_HEIGHT, write_amass

BACKENDS = ["torch", "opensim"]


def _cfg(standin_folder, backend, *extra):
    return load_config(None, [f"paths.smplx_models={standin_folder}", f"kinematics.scale.backend={backend}",
                              f"kinematics.ik.backend={backend}", "motion.fps=30", *extra])


@pytest.mark.parametrize("model_type", ["smplh", "smplx"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_amass_walk_goes_through_stage1(tmp_path, standin_folder, model_type, backend):
    src = write_amass(tmp_path / f"walk_{model_type}.npz", model_type, T=121, fps=60.0, gender="male")
    cfg = _cfg(standin_folder, backend)
    assert run_stage1(tmp_path / "out", "s01", "walk", str(src), cfg)
    mp = Layout(tmp_path / "out").motion("s01", "walk")
    markers = read_trc(mp.markers_trc)
    assert markers.rate == 30.0 and markers.n_frames == 61 and len(markers.names) == 47
    mot = read_mot(mp.ik_mot)
    assert mot.n_frames == 61 and abs(mot.rate - 30.0) < 1e-6  # resampled 60 -> 30 Hz, 2 s
    # Axes: Z-up AMASS world -> OpenSim Y up; the body walks along world -Y -> OpenSim +X.
    tx, ty, tz = (mot.column(c) for c in ("pelvis_tx", "pelvis_ty", "pelvis_tz"))
    speed = np.polyfit(mot.times, tx, 1)[0]
    assert 1.0 < speed < 1.4  # the file walks at 1.2 m/s
    assert np.ptp(tz) < 0.05
    assert abs(np.median(ty) - PELVIS_HEIGHT) < 0.06  # pelvis height above the floor
    assert np.all(np.abs(np.degrees(mot.column("pelvis_rotation"))) < 15)  # faces +X, the walking direction
    # the legs swing in antiphase: hip flexion peaks alternate
    hr, hl = np.degrees(mot.column("hip_flexion_r")), np.degrees(mot.column("hip_flexion_l"))
    assert np.ptp(hr) > 20 and np.corrcoef(hr, hl)[0, 1] < -0.5
    rep = json.loads(mp.ik_report.read_text())
    assert rep["frames"] == 61 and rep["summary"]["rmse_mean"] < 0.03
    body = np.load(Layout(tmp_path / "out").subject("s01").body_params)
    assert str(body["model"]) == model_type and str(body["gender"]) == "male"
