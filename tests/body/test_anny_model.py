import numpy as np
import pytest
import torch

from pipeline import axes
from pipeline.body.mesh import BODY_PARTS
from pipeline.body.models.anny_model import PHENOTYPES, AnnyBody, sample_shapes
from pipeline.errors import BodyModelError


def _bone(model, out, name):
    return out.joints[0, model.joint_index(name)].detach().numpy()


def test_anny_axes_are_z_up_facing_minus_y_and_axes_module_agrees(anny_body):
    """Verifies pipeline.axes.ANNY_TO_OPENSIM on the real Anny mesh."""
    out = anny_body.rest()
    v = out.vertices[0].numpy()
    ext = v.max(0) - v.min(0)
    assert ext.argmax() == 2 and ext[2] > 1.4  # Z up, ~1.6 m tall
    toe, ankle = _bone(anny_body, out, "toe2-1.L"), _bone(anny_body, out, "foot.L")
    eye, head = _bone(anny_body, out, "eye.L"), _bone(anny_body, out, "head")
    assert toe[1] < ankle[1] - 0.1 and eye[1] < head[1] - 0.05  # faces -Y
    assert _bone(anny_body, out, "upperleg01.L")[0] > 0.05  # the body's left is +X
    # In OpenSim axes: toes anterior (+X), head up (+Y), left hip at -Z.
    to_os = lambda p: axes.anny_to_opensim(p)  # noqa: E731
    assert to_os(toe)[0] > to_os(ankle)[0] + 0.1
    assert to_os(head)[1] > to_os(ankle)[1] + 1.2
    assert to_os(_bone(anny_body, out, "upperleg01.L"))[2] < -0.05
    assert np.allclose(anny_body.to_opensim(toe), to_os(toe))


def test_part_labels_and_limb_coords_follow_the_skeleton(anny_body):
    labels, coord = anny_body.part_labels, anny_body.limb_coord
    assert set(np.unique(labels)) == set(range(len(BODY_PARTS)))
    assert coord.min() >= 0 and coord.max() <= 1
    out = anny_body.rest()
    v = out.vertices[0].numpy()
    for side, S in (("l", "L"), ("r", "R")):
        thigh = labels == BODY_PARTS.index(f"thigh_{side}")
        knee_z = _bone(anny_body, out, f"lowerleg01.{S}")[2]
        hip_z = _bone(anny_body, out, f"upperleg01.{S}")[2]
        near_knee = thigh & (np.abs(v[:, 2] - knee_z) < 0.03)
        near_hip = thigh & (np.abs(v[:, 2] - (hip_z - 0.05)) < 0.03)
        assert coord[near_knee].mean() > 0.85 and coord[near_hip].mean() < 0.25
        foot = labels == BODY_PARTS.index(f"foot_{side}")
        heel = foot & (v[:, 1] > np.percentile(v[foot, 1], 95))  # most posterior (+Y) foot vertices
        tip = foot & (v[:, 1] < np.percentile(v[foot, 1], 5))
        assert coord[heel].mean() < 0.3 and coord[tip].mean() > 0.7
        # Left parts are on the left (+X) side.
        sign = 1 if side == "l" else -1
        for part in ("thigh", "upperarm", "hand", "foot"):
            assert sign * v[labels == BODY_PARTS.index(f"{part}_{side}"), 0].mean() > 0.05
    head = labels == BODY_PARTS.index("head")
    assert v[head, 2].mean() > v[labels == BODY_PARTS.index("torso"), 2].mean() + 0.2
    mesh = anny_body.mesh_sequence(out.vertices, fps=30, name="rest")
    assert mesh.vertices.shape == (1, anny_body.num_vertices, 3) and mesh.uv is not None
    # OpenSim axes: Y is up.
    assert mesh.vertices[0, :, 1].max() - mesh.vertices[0, :, 1].min() > 1.4


def test_pose_spaces_dtypes_and_gradients(anny_body):
    shape = anny_body.default_shape(1)
    heads, rots = anny_body.rest_skeleton(shape)
    rest = anny_body.rest_vertices(shape)
    world = anny_body(shape, rots.expand(2, -1, -1, -1), pose_space="world")
    assert torch.allclose(world.vertices[0], rest[0], atol=1e-9)
    # local identities give anny's reference pose, within a couple of cm of the rest pose
    local = anny_body(shape, anny_body.zero_pose(1))
    assert (local.vertices[0] - rest[0]).norm(dim=-1).max() < 0.03
    t = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    moved = anny_body(shape, anny_body.zero_pose(1), t)
    assert torch.allclose(moved.vertices - local.vertices, t.expand_as(local.vertices[0]), atol=1e-9)
    # differentiable w.r.t. shape and pose
    s = shape.clone().requires_grad_(True)
    rot = torch.linalg.matrix_exp(torch.zeros(1, anny_body.num_joints, 3, 3, dtype=torch.float64))
    rot.requires_grad_(True)
    out = anny_body(s, rot)
    out.vertices[..., 2].sum().backward()
    assert torch.isfinite(s.grad).all() and s.grad.abs().sum() > 0 and rot.grad.abs().sum() > 0
    # float32 copy gives the same mesh
    m32 = AnnyBody(dtype=torch.float32)
    v32 = m32(shape.float(), m32.zero_pose(1)).vertices
    assert v32.dtype == torch.float32
    assert (v32.double() - local.vertices).abs().max() < 1e-4
    with pytest.raises(BodyModelError, match="pose must be"):
        anny_body(shape, torch.zeros(1, 3, 3, 3, dtype=torch.float64))


def test_shape_sampling_is_seeded_and_spans_children_to_elders(anny_body):
    a, ages_a = sample_shapes(np.random.default_rng(7), 40)
    b, ages_b = sample_shapes(np.random.default_rng(7), 40)
    assert np.array_equal(a, b) and np.array_equal(ages_a, ages_b)
    assert a.shape == (40, len(PHENOTYPES)) and (a >= 0).all() and (a <= 1).all()
    assert ages_a.min() < 15 and ages_a.max() > 60
    assert set(np.unique(a[:, 0])) == {0.0, 1.0}
    h = anny_body.height(torch.as_tensor(a)).numpy()
    m = anny_body.mass(torch.as_tensor(a)).numpy()
    assert h.min() > 0.9 and h.max() < 2.2 and (m > 10).all() and (m < 200).all()
    kids, adults = ages_a < 11, (ages_a > 20) & (ages_a < 60)
    assert h[kids].mean() < h[adults].mean() - 0.2
    assert m[kids].mean() < m[adults].mean()


def test_non_commercial_topologies_are_refused():
    with pytest.raises(BodyModelError, match="non-commercial"):
        AnnyBody(topology="smplx")


def test_loading_anny_writes_nothing_to_stderr_or_stdout():
    """warp (anny's skinning) prints a banner and, without an NVIDIA driver, a CUDA warning from
    native code: neither may reach a user's terminal."""
    import os
    import subprocess
    import sys

    code = "import torch\nfrom pipeline.body.models.anny_model import AnnyBody\nAnnyBody(dtype=torch.float32)\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert "Warp" not in r.stderr and "Warp" not in r.stdout, (r.stdout, r.stderr)
