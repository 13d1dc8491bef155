import pytest

from pipeline.errors import TaskError
from pipeline.layout import Layout


def test_layout_follows_the_dataset_contract(tmp_path):
    lay = Layout(tmp_path)
    assert lay.manifest == tmp_path / "manifest.json"
    clip = lay.clip("c0001")
    assert clip.video("front") == tmp_path / "clips/c0001/video_front.mp4"
    assert clip.masks("side") == tmp_path / "clips/c0001/masks_side.mp4"
    names = {p.name for p in [clip.cameras, clip.kinematics, clip.scales, clip.keypoints3d,
                              clip.keypoints2d, clip.scene]}
    assert names == {"cameras.json", "kinematics.mot", "scales.json", "keypoints3d.npz",
                     "keypoints2d.npz", "scene.json"}
    assert lay.subject("s01").scaled_osim.parent == tmp_path / "subjects/s01"
    assert lay.motion("s01", "walk").ik_mot == tmp_path / "subjects/s01/motions/walk/ik.mot"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "sp ace"])
def test_ids_that_are_not_folder_names_are_rejected(tmp_path, bad):
    with pytest.raises(TaskError):
        Layout(tmp_path).clip(bad)
    with pytest.raises(TaskError):
        Layout(tmp_path).clip("ok").video("top")
