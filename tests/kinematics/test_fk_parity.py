"""FK parity with OpenSim 4.6: random coordinates inside their ranges and random per-body scale
factors U(0.8, 1.2) -> markers, joint centres, COMs and body frames within 0.01 mm (float64).

OpenSim's side scales the model with ``Model::scale`` and sets the coordinates through the
``opensim`` package (pipeline/kinematics/opensim_fk.py); ours is the torch Skeleton on the unscaled
model with the scale factors as an input.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from osim_zoo import random_q, write_zoo

from pipeline.kinematics.fk import Skeleton
from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
from pipeline.kinematics.opensim_fk import opensim_fk
from pipeline.kinematics.osim import load_marker_set, load_osim

TOL = 1e-5  # metres: 0.01 mm

MODELS = {
    "gait2354": "gait2354/gait2354_simbody.osim",
    "gait2354_scaled_ref": "gait2354/OutputReference/subject01_simbody.osim",
    "hamner": "hamner/FullBodyModel_Hamner2010_v2_0.osim",
    "hamner_registered": "hamner/outputReference/subject02_registered.osim",
    "generic": None,  # the project's own full-body model
    "zoo": None,  # every joint type and function, built at test time
}


def _model_path(name, golden, tmp_path) -> Path:
    if name == "zoo":
        return write_zoo(tmp_path / "zoo.osim")
    if name == "generic":
        return GENERIC_MODEL_PATH
    return golden / MODELS[name]


def _with_marker_set(path: Path, golden, tmp_path) -> Path:
    """gait2354's generic model has no markers: attach its scaling marker set (as OpenSim does)."""
    if path.name != "gait2354_simbody.osim":
        return path
    import opensim as osim

    osim.Logger.setLevelString("error")
    m = osim.Model(str(path))
    m.updateMarkerSet(osim.MarkerSet(str(golden / "gait2354" / "gait2354_Scale_MarkerSet.xml")))
    m.finalizeConnections()
    out = tmp_path / "gait2354_with_markers.osim"
    m.printToXML(str(out))
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_fk_matches_opensim(name, golden, tmp_path):
    path = _with_marker_set(_model_path(name, golden, tmp_path), golden, tmp_path)
    model = load_osim(path)
    if path.name.startswith("gait2354_with"):
        assert len(model.markers) > 30
    sk = Skeleton(model, dtype=torch.float64)
    rng = np.random.default_rng(3)
    q = random_q(model, 8, rng)
    scales = rng.uniform(0.8, 1.2, size=(len(model.bodies), 3))
    # OpenSim refuses non-uniform scaling of the parent of a translational coupler dependent
    for c in model.constraints:
        if model.coordinate(c.dependent).motion_type == "translational":
            b = model.body_names.index(model.joint(model.coordinate(c.dependent).joint).parent_body)
            scales[b] = scales[b, 0]

    for s in (None, scales):
        ref = opensim_fk(path, q, scales=None if s is None else dict(zip(model.body_names, s)))
        assert ref.coordinate_names == model.coordinate_names
        assert ref.body_names == model.body_names and ref.joint_names == model.joint_names
        assert ref.marker_names == model.marker_names
        assert ref.motion_types == {c.name: c.motion_type for c in model.coordinates}
        out = sk(torch.from_numpy(q), None if s is None else torch.from_numpy(s))
        assert np.abs(out.q.numpy() - ref.q).max() < 1e-12
        assert np.abs(out.markers.numpy() - ref.markers).max(initial=0) < TOL
        assert np.abs(out.joint_centres.numpy() - ref.joint_centres).max() < TOL
        assert np.abs(out.body_coms.numpy() - ref.body_coms).max() < TOL
        assert np.abs(out.body_origins.numpy() - ref.body_origins).max() < TOL
        assert np.abs(out.body_rotations.numpy() - ref.body_rotations).max() < 1e-9


def test_marker_offsets_match_opensim(golden, tmp_path):
    """Replaced marker locations are scaled like the model's own (OpenSim: set location, then scale)."""
    path = golden / MODELS["hamner_registered"]
    model = load_osim(path)
    rng = np.random.default_rng(5)
    q = random_q(model, 3, rng)
    scales = rng.uniform(0.8, 1.2, size=(len(model.bodies), 3))
    offsets = np.stack([m.location for m in model.markers]) + rng.normal(0, 0.02, (len(model.markers), 3))
    ref = opensim_fk(path, q, scales=dict(zip(model.body_names, scales)),
                     marker_locations=dict(zip(model.marker_names, offsets)))
    out = Skeleton(model)(torch.from_numpy(q), torch.from_numpy(scales), torch.from_numpy(offsets))
    assert np.abs(out.markers.numpy() - ref.markers).max() < TOL


def test_marker_set_attach_matches_file(golden):
    """load_marker_set + with_markers gives the same markers OpenSim attaches."""
    model = load_osim(golden / MODELS["gait2354"])
    ms = load_marker_set(golden / "gait2354" / "gait2354_Scale_MarkerSet.xml", model)
    sk = Skeleton(model.with_markers(ms))
    out = sk(sk.default_q())
    assert out.markers.shape == (len(ms), 3) and torch.isfinite(out.markers).all()
