"""The opensim backend: OpenSim's ScaleTool and InverseKinematicsTool on the golden cases."""

from __future__ import annotations

import numpy as np
import pytest
from opensim_compare import body_origin_difference

from pipeline.errors import KinematicsError
from pipeline.kinematics.mot import read_mot
from pipeline.kinematics.opensim_tools import (
    auto_measurements,
    import_opensim,
    opensim_session,
    run_ik_tool,
    run_scale,
    run_scale_tool,
)
from pipeline.kinematics.osim_writer import read_scale_set
from pipeline.kinematics.trc import read_trc, write_trc

opensim = import_opensim()  # no opensim.log left in the working directory


def _listing(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_scale_tool_reproduces_gait2354_reference_scale_factors(golden, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory (no opensim.log)
    g = golden / "gait2354"
    before = _listing(g)
    out = tmp_path / "out"
    res = run_scale_tool(g / "subject01_Setup_Scale.xml", out)
    ref = read_scale_set(g / "OutputReference/subject01_scaleSet_applied.xml")
    assert set(res.scales) == set(ref)
    for seg, s in ref.items():
        np.testing.assert_allclose(res.scales[seg], s, rtol=0, atol=5e-7)  # the reference prints 6 digits
    # the scaled-only model is the reference one (full precision, not just 6 digits)
    assert body_origin_difference(g / "OutputReference/subject01_scaledOnly.osim", res.scaled_only_path) < 1e-6
    assert res.model_path.name == "subject01_simbody.osim" and res.model_path.parent == out
    assert _listing(out) == sorted(["subject01_scaledOnly.osim", "subject01_scaleSet_applied.xml",
                                    "subject01_simbody.osim", "subject01_static_output.mot"])
    m = opensim.Model(str(res.model_path))
    m.initSystem()
    assert m.getMarkerSet().getSize() == 39
    assert _listing(g) == before              # the golden folder is untouched
    assert _listing(tmp_path) == ["out"] + [f"out/{n}" for n in _listing(out)]


def test_scale_tool_overrides_and_errors(golden, tmp_path):
    g = golden / "gait2354"
    with pytest.raises(KinematicsError, match="scale setup .*not found"):
        run_scale_tool(tmp_path / "absent.xml", tmp_path)
    bad = tmp_path / "setup.xml"
    bad.write_text((g / "subject01_Setup_Scale.xml").read_text().replace("gait2354_simbody.osim", "nope.osim"))
    with pytest.raises(KinematicsError, match=r"GenericModelMaker <model_file> .*nope\.osim not found"):
        run_scale_tool(bad, tmp_path / "o1")
    # the Hamner setup names no model: an error, or the model given here
    with pytest.raises(KinematicsError, match="model_file> is not set"):
        run_scale_tool(golden / "hamner/Setup_Scale.xml", tmp_path / "o2")
    assert not (tmp_path / "o2").exists() or _listing(tmp_path / "o2") == []
    # overriding the mass changes masses, not factors
    res = run_scale_tool(g / "subject01_Setup_Scale.xml", tmp_path / "o3", mass=80.0)
    m = opensim.Model(str(res.scaled_only_path))
    assert m.getTotalMass(m.initSystem()) == pytest.approx(80.0, rel=1e-9)
    assert res.scales["femur_r"] == pytest.approx([1.14724] * 3)


def test_scale_tool_failure_carries_opensim_message(golden, tmp_path):
    g = golden / "gait2354"
    broken = tmp_path / "broken.osim"
    broken.write_text("<OpenSimDocument Version='40000'><Model name='x'><BodySet><objects><Body name='a'>"
                      "<mass>oops</mass></Body></objects></BodySet></Model></OpenSimDocument>")
    with pytest.raises(KinematicsError, match="ScaleTool"):
        run_scale_tool(g / "subject01_Setup_Scale.xml", tmp_path / "o", model=broken)
    assert _listing(tmp_path) in (["broken.osim"], ["broken.osim", "o"])
    if (tmp_path / "o").exists():
        assert _listing(tmp_path / "o") == []


def test_ik_tool_matches_golden_motion(golden, tmp_path):
    g = golden / "gait2354"
    out = tmp_path / "ik" / "walk.mot"
    res = run_ik_tool(g / "OutputReference/subject01_simbody.osim", g / "subject01_walk1.trc", out,
                      setup_xml=g / "subject01_Setup_IK.xml")
    assert res.mot_path == out and out.is_file()
    ref = read_mot(g / "OutputReference/subject01_walk1_ik.mot", model=g / "gait2354_simbody.osim")
    assert res.motion.names == ref.names and res.motion.values.shape == ref.values.shape == (73, 23)
    rot = res.motion.rotational
    assert np.rad2deg(np.abs(res.motion.values - ref.values)[:, rot]).max() < 0.2       # degrees
    assert np.abs(res.motion.values - ref.values)[:, ~rot].max() < 1e-3                  # metres
    assert res.marker_rmse.shape == (73,) and (res.marker_max >= res.marker_rmse).all()
    assert 0.005 < np.median(res.marker_rmse) < 0.05
    np.testing.assert_allclose(res.times, res.motion.times)
    assert _listing(tmp_path) == ["ik", "ik/walk.mot"]
    # the written file is OpenSim's own .mot in degrees
    assert opensim.Storage(str(out)).isInDegrees()


def test_ik_tool_without_setup(golden, tmp_path):
    g = golden / "gait2354"
    res = run_ik_tool(g / "OutputReference/subject01_simbody.osim", g / "subject01_walk1.trc", tmp_path / "a.mot",
                      time_range=(0.5, 0.7))
    assert res.motion.n_frames == 13 and res.motion.times[0] == pytest.approx(0.5, abs=1e-6)
    model = opensim.Model(str(g / "OutputReference/subject01_simbody.osim"))
    model_markers = model.getMarkerSet()
    in_both = {model_markers.get(i).getName() for i in range(model_markers.getSize())} & set(
        read_trc(g / "subject01_walk1.trc").names)
    assert sorted(res.marker_names) == sorted(in_both) and len(in_both) == 31
    res2 = run_ik_tool(g / "OutputReference/subject01_simbody.osim", g / "subject01_walk1.trc", tmp_path / "b.mot",
                       tasks={"R.ASIS": 1, "L.ASIS": 1, "V.Sacral": 1, "R.Knee.Lat": 1, "L.Knee.Lat": 1,
                              "R.Heel": 1, "L.Heel": 1, "Sternum": 1}, time_range=(0.5, 0.55))
    assert res2.motion.n_frames == 4


def test_ik_tool_bad_input_leaves_nothing(golden, tmp_path):
    g = golden / "gait2354"
    model = g / "OutputReference/subject01_simbody.osim"
    with pytest.raises(KinematicsError, match="not in the model: Nose"):
        run_ik_tool(model, g / "subject01_walk1.trc", tmp_path / "x.mot", tasks={"Nose": 1.0})
    d = read_trc(g / "subject01_walk1.trc").rename({n: f"X{i}" for i, n in enumerate(read_trc(g / "subject01_walk1.trc").names)})
    write_trc(tmp_path / "unknown.trc", d)
    with pytest.raises(KinematicsError, match="no marker of the model"):
        run_ik_tool(model, tmp_path / "unknown.trc", tmp_path / "x.mot")
    with pytest.raises(KinematicsError, match="time range"):
        run_ik_tool(model, g / "subject01_walk1.trc", tmp_path / "x.mot", time_range=(5.0, 4.0))
    with pytest.raises(KinematicsError, match="model .*not found"):
        run_ik_tool(tmp_path / "none.osim", g / "subject01_walk1.trc", tmp_path / "x.mot")
    assert _listing(tmp_path) == ["unknown.trc"]


def test_hamner_ik_tool_short(golden, tmp_path):
    h = golden / "hamner"
    res = run_ik_tool(h / "outputReference/subject02_registered.osim", h / "subject02_running.trc",
                      tmp_path / "run.mot", setup_xml=h / "Setup_IK.xml", time_range=(1.0, 1.2))
    ref = read_mot(h / "outputReference/ResultsIK/subject02_running_ik.mot",
                   model=h / "FullBodyModel_Hamner2010_v2_0.osim").time_range(1.0, 1.2)
    assert res.motion.n_frames == ref.n_frames == 13
    rms = np.sqrt(np.mean((res.motion.reorder(ref.names).values - ref.values) ** 2, axis=0))
    rot = ref.rotational
    assert np.median(np.rad2deg(rms[rot])) < 1.0  # README: median 0.49 deg over the whole trial


def test_run_scale_without_setup(golden, tmp_path):
    g = golden / "gait2354"
    out = tmp_path / "s" / "subject.osim"
    res = run_scale(g / "gait2354_simbody.osim", g / "subject01_static.trc", 72.6, out, height=1.8034,
                    marker_set=g / "gait2354_Scale_MarkerSet.xml", time_range=(1.0, 1.5))
    assert res.model_path == out and _listing(tmp_path) == ["s", "s/subject.osim"]
    ref = read_scale_set(g / "OutputReference/subject01_scaleSet_applied.xml")
    for body in ("pelvis", "femur_r", "femur_l", "tibia_r", "calcn_r", "torso"):
        assert res.scales[body][0] == pytest.approx(ref[body][0], rel=0.08)  # a heuristic measurement set
    assert res.scales["femur_r"] == pytest.approx(res.scales["femur_l"])    # left/right share a measurement
    m = opensim.Model(str(out))
    assert m.getTotalMass(m.initSystem()) == pytest.approx(72.6, rel=1e-9)
    ik = run_ik_tool(out, g / "subject01_static.trc", tmp_path / "static.mot", time_range=(1.0, 1.1))
    assert ik.marker_rmse.max() < 0.01


def test_auto_measurements_pairs_and_inheritance():
    markers = {"a": ("pelvis", np.zeros(3)), "b": ("pelvis", np.array([0.2, 0, 0])),
               "k_r": ("femur_r", np.array([0, -0.4, 0.1])), "k_l": ("femur_l", np.array([0, -0.4, -0.1])),
               "close": ("pelvis", np.array([0.01, 0, 0]))}
    parents = {"pelvis": "ground", "femur_r": "pelvis", "femur_l": "pelvis", "toes_r": "femur_r"}
    m = auto_measurements(markers, parents, ["pelvis", "femur_r", "femur_l", "toes_r"], set(markers))
    assert m["pelvis"]["pairs"][0] == ("a", "b") or m["pelvis"]["pairs"][0] == ("b", "a")
    assert all("close" not in p or np.linalg.norm(markers[p[0]][1] - markers[p[1]][1]) >= 0.05
               for p in m["pelvis"]["pairs"])
    assert sorted(m["femur"]["bodies"]) == ["femur_l", "femur_r", "toes_r"]  # joint-spanning, mirrored, inherited


def test_opensim_session_wraps_errors():
    with pytest.raises(KinematicsError, match="loading junk failed"):
        with opensim_session("loading junk") as (osim, _):
            osim.Model("/nonexistent/junk.osim")


def test_run_scale_recovers_known_factors_on_the_generic_model(tmp_path):
    """Synthetic static trial of the generic model scaled by known (left/right symmetric) factors,
    2 mm marker noise: the setup-free OpenSim scaling finds the factors of every body that carries
    two or more markers; bodies without markers take their parent's factor."""
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
    from pipeline.kinematics.opensim_fk import opensim_fk
    from pipeline.kinematics.osim import load_osim
    from pipeline.kinematics.osim_writer import write_scaled_osim
    from pipeline.kinematics.trc import MarkerData

    model = load_osim(GENERIC_MODEL_PATH)
    rng = np.random.default_rng(0)
    true = {b: np.full(3, rng.uniform(0.9, 1.15)) for b in model.body_names}
    for b in model.body_names:
        if b.endswith("_l"):
            true[b] = true[b[:-2] + "_r"]
    write_scaled_osim(GENERIC_MODEL_PATH, true, tmp_path / "true.osim")
    fk = opensim_fk(tmp_path / "true.osim", np.tile(model.default_q(), (20, 1)))
    pos = fk.markers + rng.normal(scale=0.002, size=fk.markers.shape)
    trc = write_trc(tmp_path / "static.trc", MarkerData(fk.marker_names, pos, rate=50.0), units="mm")
    res = run_scale(GENERIC_MODEL_PATH, trc, 75.0, tmp_path / "s.osim")
    on_body = {}
    for mk in model.markers:
        on_body[mk.body] = on_body.get(mk.body, 0) + 1
    measured = [b for b in model.body_names if on_body.get(b, 0) >= 2]
    assert {"pelvis", "femur_r", "tibia_r", "torso", "humerus_r"} <= set(measured)
    for b in measured:
        assert res.scales[b][0] == pytest.approx(true[b][0], rel=0.03), b


def test_scale_tool_with_the_generic_models_setup_and_overrides(tmp_path):
    """The generic model's shipped ScaleTool setup names a static.trc that is not there: the
    marker file, mass and time range come from the call."""
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH, SCALE_SETUP_PATH
    from pipeline.kinematics.opensim_fk import opensim_fk
    from pipeline.kinematics.osim import load_osim
    from pipeline.kinematics.osim_writer import write_scaled_osim
    from pipeline.kinematics.trc import MarkerData

    model = load_osim(GENERIC_MODEL_PATH)
    write_scaled_osim(GENERIC_MODEL_PATH, {b: [1.08, 1.08, 1.08] for b in model.body_names}, tmp_path / "t.osim")
    fk = opensim_fk(tmp_path / "t.osim", np.tile(model.default_q(), (10, 1)))
    trc = write_trc(tmp_path / "s.trc", MarkerData(fk.marker_names, fk.markers, rate=20.0), units="mm")
    before = _listing(SCALE_SETUP_PATH.parent)
    res = run_scale_tool(SCALE_SETUP_PATH, tmp_path / "out", static_trc=trc, mass=81.0, time_range=(0.0, 0.45))
    assert _listing(SCALE_SETUP_PATH.parent) == before
    for body in ("pelvis", "femur_r", "tibia_r", "torso", "humerus_l"):
        assert res.scales[body][0] == pytest.approx(1.08, rel=0.01), body  # uniform scaling: exact measurements
    m = opensim.Model(str(res.model_path))
    assert m.getTotalMass(m.initSystem()) == pytest.approx(81.0, rel=1e-9)
