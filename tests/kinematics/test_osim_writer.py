"""The scaled-.osim writer against OpenSim's own Model::scale, the golden scaled model, and error cases."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from opensim_compare import body_origin_difference

from pipeline.errors import KinematicsError
from pipeline.kinematics.opensim_tools import import_opensim
from pipeline.kinematics.osim_writer import (
    read_scale_set,
    read_scales_json,
    scale_inertia,
    write_scale_set,
    write_scaled_osim,
    write_scales_json,
)

opensim = import_opensim()  # no opensim.log left in the working directory


def _opensim_scaled(src, scales, preserve, mass):
    """OpenSim's in-memory Model::scale with the same factors (not printed: OpenSim prints spline
    knots with 6 significant digits, which would blur the comparison)."""
    m = opensim.Model(str(src))
    ss = opensim.ScaleSet()
    for body, s in scales.items():
        sc = opensim.Scale()
        sc.setSegmentName(body)
        sc.setScaleFactors(opensim.Vec3(*[float(x) for x in s]))
        sc.setApply(True)
        ss.cloneAndAppend(sc)
    state = m.initSystem()
    m.scale(state, ss, preserve, mass if mass else -1.0)
    return m


def _compare(a, our_path, rng, n_poses=10):
    """Largest differences between OpenSim's scaled model ``a`` and our file: inertial properties,
    muscles, and FK at random poses."""
    b = opensim.Model(str(our_path))
    sa, sb = a.initSystem(), b.initSystem()
    err: dict[str, float] = {}

    def upd(k, v):
        err[k] = max(err.get(k, 0.0), float(v))

    for i in range(a.getBodySet().getSize()):
        ba, bb = a.getBodySet().get(i), b.getBodySet().get(i)
        assert ba.getName() == bb.getName()
        upd("mass_rel", abs(ba.getMass() - bb.getMass()) / max(ba.getMass(), 1e-12))
        upd("com", np.abs(ba.getMassCenter().to_numpy() - bb.getMassCenter().to_numpy()).max())
        ia, ib = ba.getInertia(), bb.getInertia()
        for k in range(3):
            upd("inertia", abs(ia.getMoments()[k] - ib.getMoments()[k]))
            upd("inertia", abs(ia.getProducts()[k] - ib.getProducts()[k]))
    for i in range(a.getMuscles().getSize()):
        ma, mb = a.getMuscles().get(i), b.getMuscles().get(i)
        upd("fiber_rel", abs(ma.getOptimalFiberLength() - mb.getOptimalFiberLength()) / ma.getOptimalFiberLength())
        upd("tendon_rel", abs(ma.getTendonSlackLength() - mb.getTendonSlackLength()) / ma.getTendonSlackLength())
    ca, cb = a.getCoordinateSet(), b.getCoordinateSet()
    for _ in range(n_poses):
        for j in range(ca.getSize()):
            c = ca.get(j)
            v = rng.uniform(c.getRangeMin(), c.getRangeMax())
            c.setValue(sa, v, False)
            cb.get(j).setValue(sb, v, False)
        a.realizePosition(sa)
        b.realizePosition(sb)
        for i in range(a.getBodySet().getSize()):
            pa = a.getBodySet().get(i).getPositionInGround(sa).to_numpy()
            pb = b.getBodySet().get(i).getPositionInGround(sb).to_numpy()
            upd("body_origin", np.abs(pa - pb).max())
        for i in range(a.getMarkerSet().getSize()):
            pa = a.getMarkerSet().get(i).getLocationInGround(sa).to_numpy()
            pb = b.getMarkerSet().get(i).getLocationInGround(sb).to_numpy()
            upd("marker", np.abs(pa - pb).max())
        for i in range(a.getMuscles().getSize()):
            upd("muscle_length", abs(a.getMuscles().get(i).getLength(sa) - b.getMuscles().get(i).getLength(sb)))
    return err


def _random_scales(model_path, rng):
    m = opensim.Model(str(model_path))
    bodies = [m.getBodySet().get(i).getName() for i in range(m.getBodySet().getSize())]
    scales = {b: rng.uniform(0.85, 1.2, 3) for b in bodies}   # non-uniform: cylinder inertia rule
    scales[bodies[0]] = np.full(3, 1.07)                     # uniform: s^2 inertia rule
    return scales


def _generic_model():
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
    return GENERIC_MODEL_PATH


@pytest.mark.parametrize("case,preserve,mass", [
    ("gait2354/OutputReference/subject01_simbody.osim", False, None),  # markers, muscles, moving points
    ("hamner/FullBodyModel_Hamner2010_v2_0.osim", True, 70.0),
    ("generic", False, 80.0),
])
def test_matches_opensim_model_scale(golden, tmp_path, case, preserve, mass):
    src = _generic_model() if case == "generic" else golden / case
    rng = np.random.default_rng(3)
    scales = _random_scales(src, rng)
    ref = _opensim_scaled(src, scales, preserve, mass)
    ours = write_scaled_osim(src, scales, tmp_path / "ours.osim", mass=mass, preserve_mass_distribution=preserve)
    err = _compare(ref, ours, rng)
    assert err["body_origin"] < 1e-12 and err.get("muscle_length", 0.0) < 1e-12
    assert err.get("marker", 0.0) < 1e-12
    assert err["mass_rel"] < 1e-12 and err["com"] < 1e-14 and err["inertia"] < 1e-12
    assert err.get("fiber_rel", 0.0) < 1e-12 and err.get("tendon_rel", 0.0) < 1e-12
    if mass:
        m = opensim.Model(str(ours))
        assert m.getTotalMass(m.initSystem()) == pytest.approx(mass, rel=1e-12)


def test_reproduces_golden_scaled_only_model(golden, tmp_path):
    """Generic gait2354 + the reference ScaleSet (printed to 6 digits) -> OutputReference scaledOnly."""
    g = golden / "gait2354"
    scales = read_scale_set(g / "OutputReference/subject01_scaleSet_applied.xml")
    ours = write_scaled_osim(g / "gait2354_simbody.osim", scales, tmp_path / "s.osim", mass=72.6,
                             preserve_mass_distribution=True, name="subject01")
    a, b = opensim.Model(str(g / "OutputReference/subject01_scaledOnly.osim")), opensim.Model(str(ours))
    assert b.getName() == "subject01"
    sb = b.initSystem()
    assert b.getTotalMass(sb) == pytest.approx(72.6, rel=1e-12)
    worst = body_origin_difference(g / "OutputReference/subject01_scaledOnly.osim", ours)
    assert worst < 2e-6  # metres; the applied scale set is printed with 6 significant digits
    for i in range(a.getMuscles().getSize()):
        assert b.getMuscles().get(i).getOptimalFiberLength() == pytest.approx(
            a.getMuscles().get(i).getOptimalFiberLength(), rel=1e-5)


WRAP_OBJECTS = (
    "<objects>"
    "<WrapCylinder name='c'><xyz_body_rotation>0.1 0.2 0.3</xyz_body_rotation><translation>0.01 0.02 0.03</translation>"
    "<radius>0.05</radius><length>0.2</length></WrapCylinder>"
    "<WrapEllipsoid name='e'><xyz_body_rotation>0.3 -0.2 0.1</xyz_body_rotation>"
    "<translation>0.01 0.02 0.03</translation><dimensions>0.05 0.06 0.07</dimensions></WrapEllipsoid>"
    "<WrapSphere name='s'><translation>0.01 0.02 0.03</translation><radius>0.04</radius></WrapSphere>"
    "<WrapTorus name='t'><xyz_body_rotation>0 0.5 0</xyz_body_rotation><translation>0.01 0.02 0.03</translation>"
    "<inner_radius>0.01</inner_radius><outer_radius>0.05</outer_radius></WrapTorus>"
    "</objects>"
)


def _wrap_properties(model) -> dict[str, np.ndarray]:
    """{object.property: value} of femur_r's wrap objects, through OpenSim."""
    out = {}
    ws = model.getBodySet().get("femur_r").getWrapObjectSet()
    for i in range(ws.getSize()):
        w = ws.get(i)
        out[f"{w.getName()}.translation"] = w.get_translation().to_numpy()
        for cls, keys in ((opensim.WrapCylinder, ("radius", "length")), (opensim.WrapEllipsoid, ("dimensions",)),
                          (opensim.WrapSphere, ("radius",)), (opensim.WrapTorus, ("inner_radius", "outer_radius"))):
            obj = cls.safeDownCast(w)
            for key in keys if obj is not None else ():
                v = getattr(obj, f"get_{key}")()
                out[f"{w.getName()}.{key}"] = np.atleast_1d(v.to_numpy() if hasattr(v, "to_numpy") else v)
    return out


def test_wrap_objects_match_opensim_model_scale(golden, tmp_path):
    """Cylinder, ellipsoid, sphere and torus on a non-uniformly scaled body, rotated in it."""
    text = (golden / "gait2354/gait2354_simbody.osim").read_text()
    body = text.index('<Body name="femur_r">')
    empty = text.index("<objects />", text.index("<WrapObjectSet", body))
    src = tmp_path / "wraps.osim"
    src.write_text(text[:empty] + WRAP_OBJECTS + text[empty + len("<objects />"):])
    scales = {"femur_r": np.array([0.9, 1.15, 1.05]), "pelvis": np.array([1.1, 1.0, 0.95])}
    ours = write_scaled_osim(src, scales, tmp_path / "ours.osim", rescale_paths=False)
    ref = _wrap_properties(_opensim_scaled(src, scales, False, None))
    got = _wrap_properties(opensim.Model(str(ours)))
    assert set(got) == set(ref) and len(ref) == 10
    before = _wrap_properties(opensim.Model(str(src)))
    for key, v in ref.items():
        assert not np.allclose(v, before[key]), key  # every property is scaled
        np.testing.assert_allclose(got[key], v, rtol=1e-14, atol=1e-16, err_msg=key)


def test_uniform_and_cylinder_inertia_rules():
    I = np.diag([0.1, 0.02, 0.1])
    m, out = scale_inertia(10.0, I, np.array([1.1, 1.1, 1.1]), scale_mass=True)
    assert m == pytest.approx(10.0 * 1.1 ** 3)
    np.testing.assert_allclose(out, I * 1.1 ** 3 * 1.1 ** 2)
    m, out = scale_inertia(10.0, I, np.array([1.1, 1.1, 1.1]), scale_mass=False)
    assert m == 10.0
    np.testing.assert_allclose(out, I * 1.1 ** 2)
    # a cylinder along y: stretching y by 2 makes the transverse moments grow, the axial one not
    m, out = scale_inertia(10.0, I, np.array([1.0, 2.0, 1.0]), scale_mass=False)
    assert out[1, 1] == pytest.approx(0.02) and out[0, 0] > 0.1 * 3
    m, out = scale_inertia(0.0, I, np.array([1.0, 2.0, 1.0]), scale_mass=True)
    assert m == 0.0 and not out.any()


def test_written_model_loads_with_marker_offsets(golden, tmp_path):
    src = golden / "gait2354/OutputReference/subject01_simbody.osim"
    out = write_scaled_osim(src, {"pelvis": [1.1, 1.0, 0.9]}, tmp_path / "o.osim",
                            marker_offsets={"R.ASIS": [0.01, 0.02, 0.03]})
    m = opensim.Model(str(out))
    m.initSystem()
    # offsets replace the unscaled location and scale with their body
    np.testing.assert_allclose(m.getMarkerSet().get("R.ASIS").get_location().to_numpy(),
                               np.array([0.01, 0.02, 0.03]) * [1.1, 1.0, 0.9])
    # a marker on an unscaled body keeps its location
    ref = opensim.Model(str(src))
    np.testing.assert_allclose(m.getMarkerSet().get("R.Heel").get_location().to_numpy(),
                               ref.getMarkerSet().get("R.Heel").get_location().to_numpy())


def test_bad_input_raises_and_writes_nothing(golden, tmp_path):
    src = golden / "gait2354/gait2354_simbody.osim"
    out = tmp_path / "never.osim"
    with pytest.raises(KinematicsError, match="'femur'.*not a body of the model"):
        write_scaled_osim(src, {"femur": [1, 1, 1]}, out)
    with pytest.raises(KinematicsError, match="3 positive numbers"):
        write_scaled_osim(src, {"pelvis": [1, -1, 1]}, out)
    with pytest.raises(KinematicsError, match="markers not in the model: Nope"):
        write_scaled_osim(golden / "gait2354/OutputReference/subject01_simbody.osim", {"pelvis": [1, 1, 1]}, out,
                          marker_offsets={"Nope": [0, 0, 0]})
    bad = tmp_path / "bad.osim"
    bad.write_text("<OpenSimDocument><Model name='x'><BodySet")
    with pytest.raises(KinematicsError, match="not valid XML"):
        write_scaled_osim(bad, {}, out)
    bad.write_text("<Something/>")
    with pytest.raises(KinematicsError, match="not an OpenSim model"):
        write_scaled_osim(bad, {}, out)
    # a joint type whose scaling odah does not implement: an error naming it, never a silent skip
    tree = ET.parse(src)
    knee = next(j for j in tree.getroot().iter("CustomJoint") if j.get("name") == "knee_r")
    knee.tag = "EllipsoidJoint"
    tree.write(bad)
    with pytest.raises(KinematicsError, match="EllipsoidJoint 'knee_r'.*not supported"):
        write_scaled_osim(bad, {"femur_r": [1.1, 1.1, 1.1]}, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.osim"]


def test_scale_set_round_trip_through_opensim(golden, tmp_path):
    applied = read_scale_set(golden / "gait2354/OutputReference/subject01_scaleSet_applied.xml")
    assert applied["femur_r"] == pytest.approx([1.14724] * 3)
    assert len(applied) == 13
    p = write_scale_set(tmp_path / "ss.xml", {"pelvis": [1.1, 1.2, 1.3], "torso": [0.9, 0.9, 0.9]})
    ss = opensim.ScaleSet(str(p))
    assert ss.getSize() == 2 and ss.get(0).getSegmentName() == "pelvis"
    np.testing.assert_allclose(ss.get(0).getScaleFactors().to_numpy(), [1.1, 1.2, 1.3])
    back = read_scale_set(p)
    np.testing.assert_allclose(back["torso"], [0.9, 0.9, 0.9])
    with pytest.raises(KinematicsError, match="no <Scale>"):
        (tmp_path / "e.xml").write_text("<ScaleSet/>")
        read_scale_set(tmp_path / "e.xml")


def test_scales_json(tmp_path):
    p = write_scales_json(tmp_path / "scales.json", {"pelvis": np.array([1.0, 1.1, 1.2])}, mass=70.0,
                          marker_offsets={"RASI": [0.1, 0.0, 0.05]}, model="generic", method="torch")
    doc = read_scales_json(p)
    np.testing.assert_allclose(doc["scales"]["pelvis"], [1.0, 1.1, 1.2])
    np.testing.assert_allclose(doc["marker_offsets"]["RASI"], [0.1, 0.0, 0.05])
    assert doc["mass"] == 70.0 and doc["format"] == "odah-scales-1"
    (tmp_path / "b.json").write_text(json.dumps({"scales": {"pelvis": [1, 2]}}))
    with pytest.raises(KinematicsError, match="scales.pelvis: expected 3 numbers"):
        read_scales_json(tmp_path / "b.json")
    (tmp_path / "c.json").write_text("{")
    with pytest.raises(KinematicsError, match="not valid JSON"):
        read_scales_json(tmp_path / "c.json")


@pytest.mark.parametrize("case", ["gait2354/OutputReference/subject01_simbody.osim",
                                  "hamner/outputReference/subject02_registered.osim", "generic"])
def test_matches_torch_fk_with_the_same_scales(golden, tmp_path, case):
    """OpenSim FK of the written file == odah's torch FK of the source model with those scales."""
    import torch

    from pipeline.kinematics.fk import Skeleton
    from pipeline.kinematics.opensim_fk import opensim_fk
    from pipeline.kinematics.osim import load_osim

    src = _generic_model() if case == "generic" else golden / case
    model = load_osim(src)
    rng = np.random.default_rng(7)
    scales = {b: rng.uniform(0.85, 1.2, 3) for b in model.body_names}
    offsets = {model.marker_names[0]: np.array([0.01, -0.02, 0.03])}
    out = write_scaled_osim(src, scales, tmp_path / "s.osim", marker_offsets=offsets)
    lo = np.array([c.range[0] for c in model.coordinates])
    hi = np.array([c.range[1] for c in model.coordinates])
    q = rng.uniform(lo, hi, size=(6, len(lo)))
    ref = opensim_fk(out, q)
    sk = Skeleton(model, dtype=torch.float64)
    s_tab = torch.tensor(np.stack([scales[b] for b in model.body_names]))
    mo = torch.tensor(np.stack([offsets.get(m.name, m.location) for m in model.markers]))
    fk = sk(torch.tensor(q), scales=s_tab, marker_offsets=mo)
    order = [ref.marker_names.index(n) for n in model.marker_names]
    assert np.abs(fk.markers.numpy() - ref.markers[:, order]).max() < 1e-12  # metres (measured ~1e-15)
    jorder = [ref.joint_names.index(n) for n in model.joint_names]
    assert np.abs(fk.joint_centres.numpy() - ref.joint_centres[:, jorder]).max() < 1e-12
    border = [ref.body_names.index(n) for n in model.body_names]
    assert np.abs(fk.body_coms.numpy() - ref.body_coms[:, border]).max() < 1e-12
