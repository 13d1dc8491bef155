"""The body mesh for the renderer: Anny on the subject's scaled model, posed by the IK result."""

import numpy as np

from pipeline.body.mesh import BODY_PARTS, MeshSequence
from pipeline.config import load_config
from pipeline.kinematics.fk import Skeleton
from pipeline.kinematics.mot import read_mot
from pipeline.kinematics.osim import load_osim
from pipeline.layout import Layout
from pipeline.tasks.ik import run_stage1


def test_body_mesh_follows_the_labelled_skeleton(tmp_path):
    cfg = load_config(None, ["motion.fps=20", "motion.max_seconds=1", "body.shape=sample"])
    assert run_stage1(tmp_path, "s7", "walk", "library:walking", cfg, body_mesh=True)
    lay = Layout(tmp_path)
    mesh = MeshSequence.load(lay.motion("s7", "walk").body_fit)
    ik = read_mot(lay.motion("s7", "walk").ik_mot)
    assert mesh.num_frames == ik.n_frames == 21 and mesh.fps == 20.0 and mesh.topology == "anny"
    model = load_osim(lay.subject("s7").scaled_osim)
    import torch

    fk = Skeleton(model)(torch.as_tensor(ik.reorder(model.coordinate_names).values))
    # every leg part of the mesh stays around its segment of the labelled skeleton
    for part, a, b in (("thigh_r", "femur_r", "tibia_r"), ("shank_l", "tibia_l", "talus_l")):
        ia, ib = model.body_names.index(a), model.body_names.index(b)
        pa, pb = fk.body_origins[:, ia].numpy(), fk.body_origins[:, ib].numpy()
        v = mesh.vertices[:, mesh.part_labels == BODY_PARTS.index(part)]
        centre = v.mean(1)
        mid = 0.5 * (pa + pb)
        assert np.linalg.norm(centre - mid, axis=1).max() < 0.06, part
