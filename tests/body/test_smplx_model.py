"""The smplx backend on stand-in model files built at test time (the real ones are licensed)."""

import numpy as np
import pytest
import torch

from pipeline.body.mesh import BODY_PARTS
from pipeline.body.models.smplx_model import SmplxBody, find_model_file
from pipeline.errors import BodyModelError


@pytest.mark.parametrize("model_type,V,J,P", [("smplx", 10475, 55, 165), ("smplh", 6890, 52, 156), ("smpl", 6890, 24, 72)])
def test_standin_models_load_and_pose(standin_folder, model_type, V, J, P):
    m = SmplxBody(standin_folder, model_type, "neutral", num_betas=16)
    assert (m.num_vertices, m.num_joints, m.pose_dim, m.num_betas) == (V, J, P, 16)
    assert set(np.unique(m.part_labels)) == set(range(len(BODY_PARTS)))
    assert 0 <= m.limb_coord.min() and m.limb_coord.max() <= 1
    rest = m.rest()
    assert rest.vertices.shape == (1, V, 3) and rest.joints.shape == (1, J, 3)
    # Bending the left knee (body joint 4 -> pose values 12..14) moves the left ankle backwards (-Z).
    pose = m.zero_pose(2)
    pose[1, 3 + 3 * 3] = 1.2  # left knee, about +X
    out = m(m.default_shape(1), pose, torch.tensor([[0, 0, 0], [0.0, 1.0, 0]]))
    ankle = m.joint_index("left_ankle")
    assert out.joints[1, ankle, 2] < out.joints[0, ankle, 2] - 0.2
    assert torch.allclose(out.joints[1, 0], torch.tensor([0.0, 1.0, 0.0]), atol=1e-5)  # transl
    # Betas beyond 10 reach the model (AMASS uses 16); beta0 changes stature in the stand-in.
    tall = m(torch.tensor([[2.0] + [0.0] * 15]), m.zero_pose(1))
    assert tall.vertices[0, :, 1].max() > rest.vertices[0, :, 1].max() + 0.02
    mesh = m.mesh_sequence(out.vertices, fps=60, name=model_type)
    assert mesh.topology == model_type and mesh.vertices.shape == (2, V, 3)


def test_genders_and_float64(standin_folder):
    for g in ("male", "female"):
        m = SmplxBody(standin_folder, "smplh", g, num_betas=16, dtype=torch.float64)
        assert m.gender == g and m.rest().vertices.dtype == torch.float64


def test_missing_and_bad_model_files_are_named(tmp_path, standin_folder):
    with pytest.raises(BodyModelError, match="paths.smplx_models"):
        find_model_file("", "smplx", "neutral")
    with pytest.raises(BodyModelError, match=r"no female model file .*SMPLX_FEMALE.npz"):
        find_model_file(tmp_path, "smplx", "female")
    with pytest.raises(BodyModelError, match="unknown gender 'other'"):
        find_model_file(standin_folder, "smplx", "other")
    bad = tmp_path / "smplx"
    bad.mkdir()
    np.savez(bad / "SMPLX_NEUTRAL.npz", v_template=np.zeros((10, 3)))
    with pytest.raises(BodyModelError, match="missing key 'f'"):
        SmplxBody(tmp_path, "smplx")
    (bad / "SMPLX_MALE.npz").write_bytes(b"truncated")
    with pytest.raises(BodyModelError, match="SMPLX_MALE.npz: cannot read"):
        SmplxBody(tmp_path, "smplx", "male")
