import numpy as np
import pytest
import torch

from pipeline.body.layouts import load_layout
from pipeline.body.mesh import BODY_PARTS
from pipeline.body.virtual_markers import marker_normals, virtual_markers
from pipeline.errors import MarkerLayoutError


def test_markers_sit_on_the_skin_pushed_out_along_the_normal(anny_body, tmp_path):
    from pipeline.kinematics.trc import read_trc, write_trc

    shape = anny_body.default_shape(1)
    pose = anny_body.zero_pose(4)
    pose[2:, anny_body.joint_index("lowerleg01.R")] = torch.tensor(
        [[1.0, 0, 0], [0, np.cos(1.0), -np.sin(1.0)], [0, np.sin(1.0), np.cos(1.0)]], dtype=torch.float64)
    out = anny_body(shape, pose, torch.tensor([[0.0, -0.5 * k, 0.0] for k in range(4)], dtype=torch.float64))
    mesh = anny_body.mesh_sequence(out.vertices, fps=60.0, name="test")
    lay = load_layout("anny")
    md = virtual_markers(mesh, lay)
    assert md.names == lay.names and md.positions.shape == (4, 49, 3) and md.rate == 60.0
    skin = mesh.vertices[:, lay.vertex_ids]
    assert np.allclose(np.linalg.norm(md.positions - skin, axis=-1), 0.0095, atol=1e-9)
    # outward: markers are further than their vertex from the centroid of the vertex's body part
    for name in ("RKNE", "LKNE", "RASI", "C7", "STRN", "RHEE", "LTHI"):
        i = lay.names.index(name)
        part = anny_body.part_labels[lay.vertex_ids[i]]
        c = mesh.vertices[0, anny_body.part_labels == part].mean(0)
        assert np.linalg.norm(md.positions[0, i] - c) > np.linalg.norm(skin[0, i] - c), name
    # translation moves markers along OpenSim +X (Anny -Y), the right shank markers follow the knee
    assert np.allclose(md.positions[1, :, 0] - md.positions[0, :, 0], 0.5, atol=1e-6)
    rank = lay.names.index("RANK")
    assert np.linalg.norm(md.positions[2, rank] - md.positions[1, rank] - [0.5, 0, 0]) > 0.1
    back = read_trc(write_trc(tmp_path / "m.trc", md))
    assert back.names == md.names and np.allclose(back.positions, md.positions, atol=1e-6)
    assert BODY_PARTS[anny_body.part_labels[lay.vertex_ids[lay.names.index("RKNE")]]] in ("thigh_r", "shank_r")


def test_noise_is_seeded_and_layout_must_fit_the_mesh(anny_body):
    mesh = anny_body.mesh_sequence(anny_body.rest().vertices, fps=30.0)
    lay = load_layout("anny")
    a = virtual_markers(mesh, lay, noise_std=0.002, rng=np.random.default_rng(3))
    b = virtual_markers(mesh, lay, noise_std=0.002, rng=np.random.default_rng(3))
    clean = virtual_markers(mesh, lay)
    assert np.array_equal(a.positions, b.positions)
    assert 0.001 < np.std(a.positions - clean.positions) < 0.003
    with pytest.raises(MarkerLayoutError, match="explicit numpy Generator"):
        virtual_markers(mesh, lay, noise_std=0.002)
    with pytest.raises(MarkerLayoutError, match="topology 'smplx' used on a 'anny' mesh"):
        virtual_markers(mesh, load_layout("smplx"))
    zero = virtual_markers(mesh, lay, normal_offset=0.0)
    assert np.allclose(zero.positions[0], mesh.vertices[0, lay.vertex_ids])


def test_marker_normals_of_a_cube_point_outwards():
    v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)[None]
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    n = marker_normals(v, f, np.array([7, 0]))
    assert np.allclose(n[0, 0], np.ones(3) / np.sqrt(3), atol=0.2) and (n[0, 1] < 0).all()
