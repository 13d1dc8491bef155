import numpy as np
import pytest

from pipeline.body.mesh import BODY_PARTS, MeshSequence
from pipeline.errors import BodyModelError


def tiny(T=3):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(T, 4, 3)).astype(np.float32)
    return MeshSequence(vertices=v, faces=np.array([[0, 1, 2], [0, 2, 3]]), fps=30.0,
                        part_labels=np.array([0, 2, 3, 10]), limb_coord=np.array([0, 0.5, 1, 0.2]),
                        uv=np.zeros((4, 2)), uv_faces=np.array([[0, 1, 2], [0, 2, 3]]), topology="test")


def test_round_trip(tmp_path):
    m = tiny()
    m.extras["keypoints"] = np.ones((3, 2, 3))
    p = m.save(tmp_path / "m.npz")
    back = MeshSequence.load(p)
    assert np.allclose(back.vertices, m.vertices) and back.fps == 30.0 and back.topology == "test"
    assert back.extras["keypoints"].shape == (3, 2, 3)
    assert len(BODY_PARTS) == 16


def test_nan_and_bad_faces_are_named(tmp_path):
    m = tiny()
    m.vertices[1, 2, 0] = np.nan
    with pytest.raises(BodyModelError, match="vertices.*frame 1"):
        m.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
    m = tiny()
    m.faces = np.array([[0, 1, 9]])
    m.uv_faces = np.array([[0, 1, 2]])
    with pytest.raises(BodyModelError, match="faces"):
        m.validate()
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(BodyModelError, match="junk.npz"):
        MeshSequence.load(tmp_path / "junk.npz")
