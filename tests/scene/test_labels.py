"""Labels: keypoint projection, occlusion-aware visibility, the keypoints file reader."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from pipeline.body.mesh import MeshSequence
from pipeline.errors import SceneError
from pipeline.scene.camera import PinholeCamera
from pipeline.scene.labels import load_keypoints, project_view, surface_crossings
from pipeline.scene.spec import CameraSpec


def _cam():
    # At +X looking back at the origin.
    return PinholeCamera.from_spec(CameraSpec("front", [5.0, 0.0, 0.0], [0.0, 0.0, 0.0], width=200, height=100))


def _two_boxes():
    near = trimesh.creation.box(extents=[0.4, 0.4, 0.4])
    near.apply_translation([1.0, 0.0, 0.0])  # between the camera and the far box
    far = trimesh.creation.box(extents=[0.4, 0.4, 0.4])
    both = trimesh.util.concatenate([near, far])
    return np.asarray(both.vertices), np.asarray(both.faces)


def test_surface_crossings_count_layers():
    v, f = _two_boxes()
    pts = np.array([[0.0, 0.0, 0.0],  # inside the far box, behind the near box: 3 crossings
                    [1.0, 0.0, 0.0],  # inside the near box: 1
                    [3.0, 0.0, 0.0],  # in front of both: 0
                    [0.0, 0.5, 0.0]])  # above both boxes: 0
    assert surface_crossings(_cam(), v, f, pts).tolist() == [3, 1, 0, 0]


def test_visibility_levels():
    v, f = _two_boxes()
    mesh = MeshSequence(vertices=v[None].astype(np.float32), faces=f.astype(np.int32), fps=30.0,
                        part_labels=np.zeros(len(v), np.int16), limb_coord=np.zeros(len(v), np.float32))
    kp = np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [6.0, 0.0, 0.0]]])
    res = project_view(_cam(), kp, mesh)
    assert res["visibility"][0].tolist() == [1, 2, 0, 0]  # occluded, visible, out of image, behind camera
    np.testing.assert_allclose(res["xy"][0, 0], [99.5, 49.5])
    assert res["depth"][0, 0] == pytest.approx(5.0)


def test_load_keypoints_errors(tmp_path):
    p = tmp_path / "kp.npz"
    np.savez(p, keypoints=np.zeros((3, 2, 3)), names=np.array(["a", "b"]))
    kp, names = load_keypoints(p)
    assert kp.shape == (3, 2, 3) and names == ["a", "b"]
    np.savez(p, keypoints=np.zeros((3, 2, 3)), names=np.array(["a"]))
    with pytest.raises(SceneError, match="clip 'c1': .*'names' has 1 entries for 2 keypoints"):
        load_keypoints(p, clip="c1")
    np.savez(p, keypoints=np.zeros((3, 2, 3)), keypoint_names=np.array(["hip", "knee"]))  # as odah fk writes
    assert load_keypoints(p)[1] == ["hip", "knee"]
    np.savez(p, points=np.zeros((3, 2, 3)))
    with pytest.raises(SceneError, match="missing field 'keypoints'"):
        load_keypoints(p)


def test_far_side_joints_are_occluded_in_a_side_view():
    from pipeline.scene.mannequin import mannequin

    mesh, kp, names = mannequin(frames=1, motion="stand", n_around=16, n_len=8, n_cap=3)
    # The subject faces +X; its left is -Z. A camera on the left side at 1.1 m height.
    cam = PinholeCamera.from_spec(CameraSpec("side", [0.0, 1.1, -3.5], [0.0, 0.9, 0.0], width=540, height=360))
    vis = dict(zip(names, project_view(cam, kp, mesh)["visibility"][0].tolist()))
    for near, far in (("hip_l", "hip_r"), ("shoulder_l", "shoulder_r"), ("knee_l", "knee_r"), ("elbow_l", "elbow_r")):
        assert (vis[near], vis[far]) == (2, 1), (near, far, vis)


def test_kinematics_must_match_the_motion(tmp_path):
    from pipeline.kinematics.mot import Motion, write_mot
    from pipeline.layout import Layout
    from pipeline.scene.labels import write_labels
    from pipeline.scene.mannequin import mannequin
    from pipeline.scene.sampling import sample_scene
    from pipeline.config import load_config

    mesh, kp, names = mannequin(frames=3, fps=30, n_around=8, n_len=3, n_cap=1)
    spec = sample_scene(mesh, load_config(None, ["render.width=64", "render.height=48"]), "k1")
    mot = write_mot(tmp_path / "ik.mot", Motion(names=["knee_angle_r"], values=np.zeros((5, 1)), times=np.arange(5) / 30))
    paths = Layout(tmp_path / "out").clip("k1")
    with pytest.raises(SceneError, match=r"clip 'k1': kinematics file .*ik.mot has 5 frames, the motion has 3"):
        write_labels(paths, spec, kp, names, 30.0, mesh=mesh, kinematics=mot)
    (tmp_path / "bad.mot").write_text("no header here\n")
    with pytest.raises(SceneError, match=r"clip 'k1': kinematics file: "):
        write_labels(paths, spec, kp, names, 30.0, mesh=mesh, kinematics=tmp_path / "bad.mot")
    assert not paths.kinematics.exists()


def test_a_file_that_is_no_npz_is_named_as_such(tmp_path, capsys):
    """Not numpy's pickling advice: the file is not an npz archive (odah scene/render --mesh, --keypoints)."""
    from pipeline.cli import main

    trc = tmp_path / "w.trc"
    trc.write_text("PathFileType\t4\t(X/Y/Z)\tw.trc\n")
    with pytest.raises(SceneError, match=r"clip 'c1': .*w.trc: not a keypoints .npz \(not an npz archive\)$"):
        load_keypoints(trc, clip="c1")
    assert main(["scene", "c1", "--mesh", str(trc)]) == 1
    assert main(["render", "c1", "--mesh", str(trc), "--keypoints", str(trc), "-s", f"paths.output_root={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert err.count(f"{trc}: not a mesh sequence .npz (not an npz archive)") == 2 and "pickle" not in err
