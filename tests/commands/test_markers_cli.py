"""``odah markers``: sources -> TRC through the command line."""

import numpy as np

from pipeline.cli import main
from pipeline.kinematics.mot import read_mot
from pipeline.kinematics.trc import read_trc
from tests.body.amass_fixture import write_amass


def test_library_motion_to_markers_static_and_reference(tmp_path):
    out, static, ref = tmp_path / "walk.trc", tmp_path / "static.trc", tmp_path / "ref.mot"
    rc = main(["markers", "library:walking", "--out", str(out), "--static", str(static), "--reference", str(ref),
               "--fps", "30", "--seconds", "1", "-s", "body.shape=average"])
    assert rc == 0
    md = read_trc(out)
    assert md.n_frames == 31 and md.rate == 30.0 and len(md.names) == 49
    assert np.isfinite(md.positions).all()
    assert md.positions[..., 1].min() > -0.01  # on or above the floor (Y up)
    assert md.marker("RASI")[-1, 0] > md.marker("RASI")[0, 0] + 0.5  # walking along +X
    st = read_trc(static)
    assert st.n_frames >= 1 and np.ptp(st.positions, axis=0).max() < 1e-9  # held still
    assert read_mot(ref).n_frames == 31
    pose = read_mot(tmp_path / "static_pose.mot")  # the static trial's known pose, beside it by default
    assert pose.n_frames == st.n_frames and "hip_flexion_r" in pose.names


def test_amass_and_bad_input_exit_codes(tmp_path, capsys):
    from tests.body.standin_smpl import write_standin

    write_standin(tmp_path / "models", "smplh", "female")
    src = write_amass(tmp_path / "a.npz", "smplh", T=30, fps=60.0)
    out = tmp_path / "a.trc"
    assert main(["markers", str(src), "--out", str(out), "--fps", "30",
                 "-s", f"paths.smplx_models={tmp_path / 'models'}"]) == 0
    assert read_trc(out).n_frames == 15  # 30 frames at 60 Hz resampled to 30 Hz
    poses = np.zeros((10, 156))
    poses[3, 0] = np.nan
    bad = write_amass(tmp_path / "bad.npz", "smplh", T=10, fps=30.0, poses=poses)
    rc = main(["markers", str(bad), "--out", str(tmp_path / "bad.trc")])
    assert rc != 0 and not (tmp_path / "bad.trc").exists()
    assert "field 'poses' has NaN" in capsys.readouterr().err


def test_cli_round_trip_with_the_static_pose_is_unbiased(tmp_path):
    """markers (with the static trial's pose) -> scale --static-pose --trial -> ik gives back the
    coordinates that drove the body: the markers are placed on the static trial as in stage 1, not
    fitted offsets that absorb the static pose (which left 4-9 degree offsets)."""
    walk, static, ref = tmp_path / "w.trc", tmp_path / "s.trc", tmp_path / "ref.mot"
    assert main(["markers", "library:walking", "--out", str(walk), "--static", str(static), "--reference", str(ref),
                 "--fps", "20", "--seconds", "1.5"]) == 0
    osim = tmp_path / "subj" / "scaled.osim"
    assert main(["scale", "--model", "generic", "--static", str(static), "--static-pose", str(tmp_path / "s_pose.mot"),
                 "--trial", str(walk), "--mass", "70", "--height", "1.75", "--out", str(osim)]) == 0
    assert main(["ik", "--model", str(osim), "--markers", str(walk), "--out", str(tmp_path / "w.mot")]) == 0
    want = read_mot(ref)
    got = read_mot(tmp_path / "w.mot").reorder(want.names)
    rms = np.rad2deg(np.sqrt(np.mean((got.values - want.values) ** 2, axis=0)))
    for side in "rl":
        for c in ("hip_flexion", "hip_adduction", "hip_rotation", "knee_angle", "ankle_angle"):
            assert rms[want.names.index(f"{c}_{side}")] < 2.0, (c, side, rms[want.names.index(f"{c}_{side}")])
    assert rms[want.names.index("pelvis_tilt")] < 2.0 and rms[want.names.index("lumbar_extension")] < 2.0
