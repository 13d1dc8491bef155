import numpy as np
import pytest

from pipeline import axes
from pipeline.body.sources import amass_mesh, parse_source, read_amass, read_marker_file, slerp_rotvecs
from pipeline.errors import MotionSourceError
from tests.body.amass_fixture import PELVIS_HEIGHT, write_amass


@pytest.mark.parametrize("model_type,P,key", [("smplh", 156, "mocap_framerate"), ("smplx", 165, "mocap_frame_rate")])
def test_amass_is_read_and_resampled(tmp_path, model_type, P, key):
    f = write_amass(tmp_path / "a.npz", model_type, T=121, fps=120.0, fps_key=key)
    m = read_amass(f, fps=60.0)
    assert m.model_type == model_type and m.gender == "female" and m.source_fps == 120.0
    assert m.poses.shape == (61, P) and m.trans.shape == (61, 3) and m.fps == 60.0
    raw = np.load(f)
    assert np.allclose(m.trans, raw["trans"][::2])  # 60 Hz samples fall on every other 120 Hz one
    assert np.allclose(m.poses, raw["poses"][::2], atol=1e-9)
    assert read_amass(f, fps=60.0, max_seconds=0.5).n_frames == 31
    assert read_amass(f).n_frames == 121  # default: keep the file's rate


def test_amass_smplx_release_layout_with_extra_pickled_fields(tmp_path):
    """AMASS SMPL-X files split the pose (root_orient/pose_body/...) and carry pickled extras."""
    f = write_amass(tmp_path / "x.npz", "smplx", T=10, fps=120.0, fps_key="mocap_frame_rate")
    raw = dict(np.load(f))
    poses = raw.pop("poses")
    raw.update(root_orient=poses[:, :3], pose_body=poses[:, 3:66], pose_jaw=poses[:, 66:69], pose_eye=poses[:, 69:75],
               pose_hand=poses[:, 75:], markers_latent_vids=np.array([{"C7": 3832}], dtype=object))
    g = tmp_path / "g.npz"
    np.savez(g, **raw)
    m = read_amass(g)
    assert m.model_type == "smplx" and np.allclose(m.poses, poses) and m.source_fps == 120.0
    bad = dict(np.load(f))
    bad["gender"] = np.array([{"g": 1}], dtype=object)
    np.savez(tmp_path / "p.npz", **bad)
    with pytest.raises(MotionSourceError, match="field 'gender' is a pickled object array"):
        read_amass(tmp_path / "p.npz")


def test_slerp_takes_the_short_way_between_rotations():
    rv = np.array([[[0, 0, 0.0]], [[0, 0, np.pi / 2]]])
    mid = slerp_rotvecs(rv, np.array([0.0, 1.0]), np.array([0.5]))
    assert np.allclose(mid[0, 0], [0, 0, np.pi / 4])


def test_amass_mesh_stands_on_the_floor_and_walks_forward(tmp_path, standin_folder):
    from pipeline.body.models.smplx_model import SmplxBody

    f = write_amass(tmp_path / "walk.npz", "smplh", T=90, fps=60.0, gender="male")
    m = read_amass(f, fps=30.0)
    body = SmplxBody(standin_folder, "smplh", m.gender, num_betas=16)
    mesh = amass_mesh(m, body, chunk=16, progress=False)
    assert mesh.num_frames == 45 and mesh.fps == 30.0
    pelvis = body(body.default_shape(1), body.zero_pose(1)).joints[0, 0].numpy()
    assert abs(pelvis[1]) < 1e-6  # the stand-in's pelvis is its origin: the world pelvis is 'trans'
    v = mesh.vertices
    assert abs(v[0, :, 1].min()) < 0.03  # soles on the OpenSim floor (Y up)
    assert v[-1, :, 0].mean() - v[0, :, 0].mean() > 1.5 * 1.2 * 0.8  # walking along OpenSim +X
    assert abs(v[-1, :, 2].mean() - v[0, :, 2].mean()) < 0.05
    assert np.allclose(axes.AMASS_TO_OPENSIM @ [0, -1, 0], [1, 0, 0])
    assert PELVIS_HEIGHT > 0.9


def _bad(tmp_path, **kw):
    return write_amass(tmp_path / "bad.npz", "smplh", T=10, fps=30.0, **kw)


def test_bad_amass_files_name_file_and_field(tmp_path):
    good = write_amass(tmp_path / "good.npz", "smplh", T=10, fps=30.0)
    data = good.read_bytes()
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(MotionSourceError, match=r"trunc.npz: not a readable AMASS .npz \(truncated or corrupt"):
        read_amass(trunc)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(MotionSourceError, match="junk.npz: not a readable"):
        read_amass(junk)
    for key in ("poses", "trans", "betas", "gender"):
        with pytest.raises(MotionSourceError, match=f"bad.npz: missing field '{key}'"):
            read_amass(_bad(tmp_path, **{key: None}))
    with pytest.raises(MotionSourceError, match="missing field 'mocap_framerate'"):
        read_amass(_bad(tmp_path, mocap_framerate=None))
    with pytest.raises(MotionSourceError, match=r"field 'gender': unknown gender 'robot'"):
        read_amass(_bad(tmp_path, gender=np.array("robot")))
    assert read_amass(_bad(tmp_path, gender=np.array(b"male"))).gender == "male"
    poses = np.zeros((10, 156))
    poses[4, 7] = np.nan
    with pytest.raises(MotionSourceError, match=r"field 'poses' has NaN/inf values \(first at frame 4\)"):
        read_amass(_bad(tmp_path, poses=poses))
    trans = np.zeros((10, 3))
    trans[2, 0] = np.inf
    with pytest.raises(MotionSourceError, match=r"field 'trans' has NaN/inf values \(first at frame 2\)"):
        read_amass(_bad(tmp_path, trans=trans))
    with pytest.raises(MotionSourceError, match=r"field 'poses' must be \(T, 165\).*got \(10, 72\)"):
        read_amass(_bad(tmp_path, poses=np.zeros((10, 72))))
    with pytest.raises(MotionSourceError, match=r"field 'trans' must be \(10, 3\)"):
        read_amass(_bad(tmp_path, trans=np.zeros((9, 3))))
    with pytest.raises(MotionSourceError, match="positive frame rate"):
        read_amass(_bad(tmp_path, mocap_framerate=np.array(0.0)))


def test_source_specs(tmp_path):
    assert parse_source("library:walking").kind == "library"
    assert parse_source("anny:walk").kind == "anny_walk"
    f = write_amass(tmp_path / "x.npz")
    assert parse_source(str(f)).kind == "amass"
    with pytest.raises(MotionSourceError, match="not found"):
        parse_source(str(tmp_path / "nope.trc"))
    with pytest.raises(MotionSourceError, match="unknown kind"):
        parse_source(str(tmp_path / "a.bvh"))


def test_marker_files_are_renamed_and_rotated(tmp_path):
    from pipeline.kinematics.trc import MarkerData, write_trc

    pos = np.zeros((5, 2, 3))
    pos[:, 0] = [0.1, 0.2, 1.0]  # Z up lab
    pos[:, 1] = [0.0, 0.0, 0.1]
    pos[2, 1] = np.nan  # a gap stays a gap
    trc = write_trc(tmp_path / "t.trc", MarkerData(names=["LFWT", "LHEL"], positions=pos, rate=100.0))
    mapping = tmp_path / "map.yaml"
    mapping.write_text("up_axis: z\nmarkers:\n  LFWT: LASI\n  LHEL: LHEE\n")
    md = read_marker_file(trc, mapping, fps=50.0)
    assert md.names == ["LASI", "LHEE"] and md.rate == 50.0 and md.n_frames == 3
    assert np.allclose(md.positions[0, 0], [0.1, 1.0, -0.2])  # Z up -> Y up
    assert np.isnan(md.positions[1, 1]).all()
    mapping.write_text("markers:\n  NOPE: LASI\n")
    with pytest.raises(MotionSourceError, match="NOPE not in"):
        read_marker_file(trc, mapping)
    mapping.write_text("up_axis: x\n")
    with pytest.raises(MotionSourceError, match="field 'up_axis'"):
        read_marker_file(trc, mapping)


def test_conform_motion_warns_only_for_coordinates_nothing_drives(caplog):
    from pipeline.body.sources import conform_motion
    from pipeline.kinematics.mot import Motion

    motion = Motion(names=["knee"], values=np.zeros((2, 1)), times=np.array([0.0, 0.1]), rotational=np.ones(1, bool))
    with caplog.at_level("WARNING"):
        m = conform_motion(motion, ["knee", "knee_beta", "hip"], {"knee_beta": 0.1, "hip": 0.2}, "x.mot",
                           driven=["knee_beta"])
    assert m.names == ["knee", "knee_beta", "hip"] and m.values[0].tolist() == [0.0, 0.1, 0.2]
    assert "1 model coordinates absent, set to their defaults (hip)" in caplog.text and "beta" not in caplog.text
