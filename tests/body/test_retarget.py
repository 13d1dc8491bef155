"""Retargeting Anny onto the OpenSim skeleton: the skin follows the segments, joints stay on the joint centres."""

import numpy as np
import pytest
import torch

from pipeline.body.layouts import load_layout
from pipeline.body.retarget import (build_rig, default_q, fit_shape, retarget, retarget_mesh, scales_tensor,
                                    skeleton_lengths, skeleton_scales_for_body)
from pipeline.body.virtual_markers import virtual_markers


@pytest.fixture(scope="module")
def generic():
    from pipeline.kinematics.fk import Skeleton
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
    from pipeline.kinematics.osim import load_osim

    model = load_osim(GENERIC_MODEL_PATH)
    return model, Skeleton(model, dtype=torch.float64)


def _random_q(sk, n, rng):
    q = np.repeat(default_q(sk).numpy()[None], n, 0)
    for i, c in enumerate(sk.model.coordinates):
        if c.motion_type == "rotational" and c.name not in ("pelvis_rotation",):
            lo, hi = c.range
            span = min(hi - lo, np.deg2rad(60))
            mid = np.clip(0.0, lo + span / 2, hi - span / 2)
            q[:, i] = mid + rng.uniform(-0.4, 0.4, n) * span
    q[:, sk.coordinate_names.index("pelvis_tx")] = rng.uniform(-1, 1, n)
    return q


def test_shape_fit_matches_segment_lengths(anny_body, generic):
    _, sk = generic
    target = skeleton_lengths(sk)
    shape = fit_shape(anny_body, target)
    assert ((shape >= 0) & (shape <= 1)).all()
    heights = anny_body.height(shape)
    assert 1.65 < float(heights) < 1.85  # the generic model is a 1.75 m adult
    avg = anny_body.default_shape(1)
    rig_lengths = []
    for s in (avg, shape):
        from pipeline.body.landmarks import joint_alias_table
        from pipeline.body import retarget as rt

        al = joint_alias_table("anny")
        h = anny_body.rest_bone_heads(s)[0].detach().numpy()
        rig_lengths.append(np.array([np.linalg.norm(h[anny_body.joint_index(al[a])] - h[anny_body.joint_index(al[b])])
                                     for a, b in rt._LENGTHS]))
    err_fit = np.abs(rig_lengths[1] / target.numpy() - 1).mean()
    err_avg = np.abs(rig_lengths[0] / target.numpy() - 1).mean()
    assert err_fit < 0.07 and err_fit < err_avg


def test_body_follows_the_skeleton_rigidly(anny_body, generic):
    """Random poses: the body's joints sit on the skeleton's joint centres and each marker stays
    put in its OpenSim body's frame (the skin moves with the segment)."""
    model, sk = generic
    shape = anny_body.default_shape(1)
    S = scales_tensor(sk, skeleton_scales_for_body(anny_body, shape, sk))
    rig = build_rig(anny_body, shape, sk, scales=S)
    q0 = default_q(sk)[None]
    chain = retarget(anny_body, rig, sk, q0, scales=S, rigid=False)
    rigid = retarget(anny_body, rig, sk, q0, scales=S)
    assert (chain - rigid).norm(dim=-1).max() < 1e-9  # the same body at the reference pose
    rng = np.random.default_rng(0)
    q = torch.as_tensor(np.concatenate([q0.numpy(), _random_q(sk, 12, rng)]))
    mesh = retarget_mesh(anny_body, rig, sk, q, fps=30.0, scales=S, progress=False)
    assert mesh.vertices.shape == (13, anny_body.num_vertices, 3) and mesh.topology == "anny"
    fk = sk(q, scales=S.expand(len(q), -1, -1))
    # joints: the body's knee, ankle, shoulder and elbow bone heads on the skeleton's joint centres
    from pipeline import axes
    from pipeline.body.retarget import bone_poses_from_skeleton

    heads = axes.anny_to_opensim(bone_poses_from_skeleton(rig, fk.body_rotations, fk.body_origins)[..., :3, 3].numpy())
    for bone, osim_body in (("lowerleg01.R", "tibia_r"), ("foot.L", "talus_l"), ("upperarm01.R", "humerus_r"),
                            ("lowerarm01.L", "ulna_l")):
        d = np.linalg.norm(heads[:, anny_body.joint_index(bone)] - fk.body_origins[:, sk.body_names.index(osim_body)].numpy(), axis=-1)
        assert d.max() < 0.03, (bone, d.max())
    lay = load_layout("anny")
    md = virtual_markers(mesh, lay, normal_offset=0.0)
    bidx = {b: i for i, b in enumerate(sk.body_names)}
    spread = {}
    for j, name in enumerate(md.names):
        k = bidx[model.markers[sk.marker_names.index(name)].body]
        R, o = fk.body_rotations[:, k].numpy(), fk.body_origins[:, k].numpy()
        local = np.einsum("tji,tj->ti", R, md.positions[:, j] - o)
        spread[name] = np.sqrt(np.mean(np.sum((local - local[0]) ** 2, axis=1)))
    legs = [n for n in md.names if n[1:] in ("THI", "KNE", "KNM", "TIB", "ANK", "ANM", "HEE", "TOE", "MT5", "ASI", "PSI")]
    trunk = ["C7", "T10", "CLAV", "STRN", "RBAK", "LFHD", "RFHD", "LBHD", "RBHD"]
    assert max(spread[n] for n in legs) < 0.02, {n: round(spread[n], 3) for n in legs}
    assert max(spread[n] for n in trunk) < 0.01, {n: round(spread[n], 3) for n in trunk}
