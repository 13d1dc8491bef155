"""Torch FK properties: gradients (q, scales, marker offsets), float32, batch shapes, keypoints."""

import numpy as np
import pytest
import torch
from osim_zoo import random_q

from pipeline.errors import KinematicsError
from pipeline.kinematics.fk import Skeleton


def test_gradients_wrt_q_scales_and_offsets(zoo):
    sk = Skeleton(zoo)
    rng = np.random.default_rng(0)
    # away from spline knots, where the functions are smooth
    q = torch.from_numpy(random_q(zoo, 2, rng, margin=0.05)).requires_grad_(True)
    s = torch.from_numpy(rng.uniform(0.9, 1.1, (len(zoo.bodies), 3))).requires_grad_(True)
    off = (sk.marker_locations.clone() + 0.01).requires_grad_(True)

    def f(q, s, off):
        out = sk(q, s, off)
        return torch.cat([out.markers.flatten(), out.joint_centres.flatten(), out.body_coms.flatten()])

    assert torch.autograd.gradcheck(f, (q, s, off), eps=1e-6, atol=1e-6)


def test_float32_matches_float64_and_batch_shapes(zoo):
    rng = np.random.default_rng(1)
    q = random_q(zoo, 12, rng).reshape(3, 4, -1)
    s = rng.uniform(0.8, 1.2, (3, 4, len(zoo.bodies), 3))
    o64 = Skeleton(zoo, dtype=torch.float64)(q, s)
    o32 = Skeleton(zoo, dtype=torch.float32)(q, s)
    assert o64.markers.shape == (3, 4, len(zoo.markers), 3)
    assert o64.body_rotations.shape == (3, 4, len(zoo.bodies), 3, 3)
    assert o64.joint_centres.shape == (3, 4, len(zoo.joints), 3)
    assert o32.markers.dtype == torch.float32
    assert (o32.markers.double() - o64.markers).abs().max() < 1e-5
    # one frame alone equals the same frame inside the batch
    one = Skeleton(zoo)(q[1, 2], s[1, 2])
    assert torch.allclose(one.markers, o64.markers[1, 2], atol=1e-14)
    # scales shared across frames broadcast
    shared = Skeleton(zoo)(q, s[0, 0])
    assert shared.markers.shape == o64.markers.shape


def test_couplers_recompute_dependents(zoo):
    sk = Skeleton(zoo)
    q = sk.default_q().clone()
    i = zoo.coordinate_names.index("c9_dep")
    q2 = q.clone()
    q2[i] = 0.3
    assert torch.equal(sk(q).markers, sk(q2).markers)


def test_keypoints_and_shape_errors(zoo):
    sk = Skeleton(zoo)
    out = sk(sk.default_q())
    kp = sk.keypoints(out)
    assert kp.shape == (len(zoo.joints) + len(zoo.bodies), 3) and len(sk.keypoint_names) == kp.shape[0]
    assert sk.keypoint_names[0] == zoo.joints[0].name and sk.keypoint_names[-1] == f"{zoo.bodies[-1].name}_com"
    with pytest.raises(KinematicsError, match="expected"):
        sk(torch.zeros(3))
    with pytest.raises(KinematicsError, match="scales"):
        sk(sk.default_q(), torch.ones(2, 3))
    with pytest.raises(KinematicsError, match="marker_offsets"):
        sk(sk.default_q(), None, torch.zeros(2, 3))


def test_to_makes_a_skeleton_for_another_dtype(zoo):
    sk = Skeleton(zoo)
    sk32 = sk.to(torch.float32)
    assert sk32.dtype == torch.float32 and sk32(sk32.default_q()).markers.dtype == torch.float32
    assert sk.to("cpu").device == torch.device("cpu")
