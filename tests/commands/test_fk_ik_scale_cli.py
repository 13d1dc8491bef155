"""``odah fk / ik / scale`` end to end on golden and tiny inputs, both backends, and bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import build_parser, main
from pipeline.kinematics.mot import read_mot
from pipeline.kinematics.opensim_tools import import_opensim
from pipeline.kinematics.osim_writer import read_scale_set, read_scales_json
from pipeline.kinematics.trc import read_trc, write_trc



@pytest.fixture
def g(golden):
    return golden / "gait2354"


@pytest.fixture
def trc_reads(monkeypatch):
    """The paths read_trc reads, in order (the CLI's reader and the OpenSim tools' share it)."""
    import pipeline.kinematics.opensim_tools as opensim_tools
    import pipeline.kinematics.trc as trc

    reads, read = [], trc.read_trc

    def counting(path, *args, **kwargs):
        reads.append(Path(path))
        return read(path, *args, **kwargs)

    monkeypatch.setattr(trc, "read_trc", counting)
    monkeypatch.setattr(opensim_tools, "read_trc", counting)
    return reads


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _help(name):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return " ".join(sub.choices[name].format_help().split())  # independent of the terminal width


def test_help_shows_units_and_defaults():
    ik = _help("ik")
    assert "kinematics.ik.backend = 'torch'" in ik and "--device {cpu,cuda}" in ik and "seconds" in ik
    sc = _help("scale")
    assert "mass in kg" in sc and "height in metres" in sc and "kinematics.scale.backend = 'torch'" in sc
    assert "scales.json beside --out" in sc
    fk = _help("fk")
    assert "metres" in fk and "'generic'" in fk and "(T, M, 3)" in fk


def test_fk_matches_opensim(g, tmp_path, capsys):
    from pipeline.kinematics.opensim_fk import opensim_fk

    model = g / "OutputReference/subject01_simbody.osim"
    mot = g / "OutputReference/subject01_walk1_ik.mot"
    out = tmp_path / "k.npz"
    assert main(["fk", "--model", str(model), "--motion", str(mot), "--out", str(out), "--batch", "16"]) == 0
    k = np.load(out)
    assert k["markers"].shape == (73, 39, 3) and k["joint_centres"].shape == (73, 12, 3)
    assert k["body_coms"].shape == (73, 12, 3) and k["keypoints"].shape == (73, 24, 3)
    assert len(k["keypoint_names"]) == 24 and str(k["units"]) == "m"
    motion = read_mot(mot, model=model)
    ref = opensim_fk(model, motion.values[::10])
    order = [ref.marker_names.index(n) for n in k["marker_names"]]
    assert np.abs(k["markers"][::10] - ref.markers[:, order]).max() < 1e-8
    jorder = [ref.joint_names.index(n) for n in k["joint_names"]]
    assert np.abs(k["joint_centres"][::10] - ref.joint_centres[:, jorder]).max() < 1e-8
    np.testing.assert_allclose(k["times"], motion.times)


def test_fk_with_scales_and_partial_motion(g, tmp_path, capsys):
    from pipeline.kinematics.opensim_fk import opensim_fk
    from pipeline.kinematics.osim_writer import write_scales_json

    model = g / "gait2354_simbody.osim"
    ref_mot = read_mot(g / "OutputReference/subject01_walk1_ik.mot", model=model)
    part = ref_mot.reorder([n for n in ref_mot.names if not n.startswith("lumbar")]).select_frames(slice(0, 5))
    from pipeline.kinematics.mot import write_mot

    mot = write_mot(tmp_path / "part.mot", part)
    sj = write_scales_json(tmp_path / "s.json", {"femur_r": [1.1, 1.2, 1.0], "pelvis": [0.9, 0.9, 0.9]})
    out = tmp_path / "k.npz"
    assert main(["fk", "--model", str(model), "--motion", str(mot), "--scales", str(sj), "--out", str(out)]) == 0
    assert "lumbar_extension" in capsys.readouterr().err  # coordinates taking their default are listed
    k = np.load(out)
    q = ref_mot.values[:5].copy()
    q[:, [ref_mot.names.index(n) for n in ("lumbar_extension", "lumbar_bending", "lumbar_rotation")]] = 0.0
    ref = opensim_fk(model, q, scales={"femur_r": np.array([1.1, 1.2, 1.0]), "pelvis": np.full(3, 0.9)})
    jorder = [ref.joint_names.index(n) for n in k["joint_names"]]
    assert np.abs(k["joint_centres"] - ref.joint_centres[:, jorder]).max() < 1e-8


def test_ik_opensim_backend(g, tmp_path, capsys, trc_reads):
    out = tmp_path / "walk.mot"
    rc = main(["ik", "--backend", "opensim", "--model", str(g / "OutputReference/subject01_simbody.osim"),
               "--markers", str(g / "subject01_walk1.trc"), "--setup", str(g / "subject01_Setup_IK.xml"),
               "--out", str(out)])
    assert rc == 0
    assert _files(tmp_path) == ["walk.mot", "walk_ik_report.json"]
    ref = read_mot(g / "OutputReference/subject01_walk1_ik.mot")
    got = read_mot(out)
    rot = got.rotational
    assert np.rad2deg(np.abs(got.values - ref.values)[:, rot]).max() < 0.2
    rep = json.loads((tmp_path / "walk_ik_report.json").read_text())
    assert rep["backend"] == "opensim" and rep["frames"] == 73 and len(rep["marker_rmse"]) == 73
    assert rep["summary"]["rmse_median"] < 0.05 and rep["units"] == "m"
    assert trc_reads == [g / "subject01_walk1.trc"]  # read once, passed on to the OpenSim tool


def test_ik_torch_backend_matches_golden(g, tmp_path, capsys):
    out = tmp_path / "walk.mot"
    rc = main(["ik", "--backend", "torch", "--model", str(g / "OutputReference/subject01_simbody.osim"),
               "--markers", str(g / "subject01_walk1.trc"), "--setup", str(g / "subject01_Setup_IK.xml"),
               "--out", str(out)])
    assert rc == 0
    ref = read_mot(g / "OutputReference/subject01_walk1_ik.mot")
    got = read_mot(out).reorder(ref.names)
    assert got.n_frames == ref.n_frames
    rms = np.rad2deg(np.sqrt(np.mean((got.values - ref.values) ** 2, axis=0)))[ref.rotational]
    assert np.median(rms) <= 0.5 and rms.max() <= 1.5  # the acceptance on gait2354
    rep = json.loads((tmp_path / "walk_ik_report.json").read_text())
    assert rep["backend"] == "torch" and rep["frames"] == 73


def test_ik_nan_gaps_and_unknown_markers_are_handled(g, tmp_path, capsys):
    """Documented handling: a missing sample has weight zero in its frame; data markers the model
    lacks are ignored and listed."""
    d = read_trc(g / "subject01_walk1.trc").select_frames(slice(30, 40))
    d.positions[2:5, d.index("R.Shank.Front")] = np.nan       # a gap
    d.positions[:, d.index("L.Heel")] = np.nan                # a marker never seen
    d = d.rename({"Top.Head": "Hat"})                         # a marker the model lacks
    trc = write_trc(tmp_path / "gaps.trc", d, units="mm")
    backends = ["opensim", "torch"]
    for backend in backends:
        out = tmp_path / f"{backend}.mot"
        rc = main(["ik", "--backend", backend, "--model", str(g / "OutputReference/subject01_simbody.osim"),
                   "--markers", str(trc), "--out", str(out)])
        assert rc == 0, backend
        got = read_mot(out)
        assert got.n_frames == 10 and np.isfinite(got.values).all()
        rep = json.loads((tmp_path / f"{backend}_ik_report.json").read_text())
        assert "Hat" not in rep["marker_names"] and rep["summary"]["rmse_max"] < 0.05


def test_ik_bad_input_clear_errors_and_no_output(g, tmp_path, capsys):
    model = str(g / "OutputReference/subject01_simbody.osim")
    d = read_trc(g / "subject01_walk1.trc").select_frames(slice(0, 5))
    wrong_units = tmp_path / "wrong_units.trc"
    write_trc(wrong_units, d, units="mm")
    wrong_units.write_text(wrong_units.read_text().replace("\tmm\t", "\tm\t", 1))  # mm data labelled m
    unknown = write_trc(tmp_path / "unknown.trc", d.rename({n: f"M{i}" for i, n in enumerate(d.names)}))
    inputs = sorted(p.name for p in tmp_path.iterdir())
    for backend in ["opensim", "torch"]:
        out = tmp_path / "out" / "a.mot"
        assert main(["ik", "--backend", backend, "--model", model, "--markers", str(wrong_units), "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert "wrong_units.trc" in err and "probably in mm" in err
        assert main(["ik", "--backend", backend, "--model", model, "--markers", str(unknown), "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert "M0" in err or "no marker of the model" in err
        assert main(["ik", "--backend", backend, "--model", model, "--markers", str(tmp_path / "absent.trc"),
                     "--out", str(out)]) == 1
        assert "absent.trc" in capsys.readouterr().err
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == inputs
        assert not out.exists() and not (tmp_path / "out" / "a_ik_report.json").exists()
    # unknown marker names fail on any device; without CUDA the device request itself is the error
    import torch

    assert main(["ik", "--backend", "torch", "--device", "cuda", "--model", model,
                 "--markers", str(unknown), "--out", str(tmp_path / "c.mot")]) == 1
    err = capsys.readouterr().err
    assert ("cuda" in err.lower()) if not torch.cuda.is_available() else ("unknown.trc" in err)
    assert not (tmp_path / "c.mot").exists()


def test_unsupported_osim_element_is_a_clear_error(g, tmp_path, capsys):
    tree = ET.parse(g / "OutputReference/subject01_simbody.osim")
    knee = next(j for j in tree.getroot().iter("CustomJoint") if j.get("name") == "knee_r")
    knee.tag = "FancyJoint"
    bad = tmp_path / "fancy.osim"
    tree.write(bad)
    out = tmp_path / "k.npz"
    rc = main(["fk", "--model", str(bad), "--motion", str(g / "OutputReference/subject01_walk1_ik.mot"),
               "--out", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "FancyJoint" in err and "fancy.osim" in err
    assert not out.exists()
    rc = main(["ik", "--backend", "torch", "--model", str(bad), "--markers", str(g / "subject01_walk1.trc"),
               "--out", str(tmp_path / "a.mot")])
    assert rc == 1 and "FancyJoint" in capsys.readouterr().err
    assert _files(tmp_path) == ["fancy.osim"]


def test_scale_opensim_with_setup(g, tmp_path, capsys):
    out = tmp_path / "subj" / "scaled.osim"
    assert main(["scale", "--backend", "opensim", "--setup", str(g / "subject01_Setup_Scale.xml"),
                 "--out", str(out)]) == 0
    assert _files(tmp_path) == ["subj/scaled.osim", "subj/scales.json"]
    doc = read_scales_json(tmp_path / "subj/scales.json")
    ref = read_scale_set(g / "OutputReference/subject01_scaleSet_applied.xml")
    for body, s in ref.items():
        np.testing.assert_allclose(doc["scales"][body], s, atol=5e-7)
    assert doc["method"] == "opensim"
    osim = import_opensim()
    m = osim.Model(str(out))
    assert m.getTotalMass(m.initSystem()) == pytest.approx(72.6, rel=1e-9)


def test_scale_opensim_without_setup(g, tmp_path, capsys, trc_reads):
    out = tmp_path / "s.osim"
    rc = main(["scale", "--backend", "opensim", "--model", str(g / "OutputReference/subject01_scaledOnly.osim"),
               "--static", str(g / "subject01_static.trc"), "--mass", "70", "--height", "1.80",
               "--out", str(out), "--scales-out", str(tmp_path / "f.json")])
    assert rc == 0
    assert _files(tmp_path) == ["f.json", "s.osim"]
    doc = read_scales_json(tmp_path / "f.json")
    assert doc["mass"] == 70.0 and doc["height"] == 1.8
    # the input is already the subject's size: factors near 1
    for body in ("pelvis", "femur_r", "tibia_r", "torso"):
        assert doc["scales"][body][0] == pytest.approx(1.0, abs=0.1)
    assert trc_reads == [g / "subject01_static.trc"]  # read once, passed on to the OpenSim scaling
    err = capsys.readouterr().err
    assert "(backend opensim), factors x y z: pelvis" in err and "ground" not in err  # the summary lists bodies


def test_scale_bad_input(g, tmp_path, capsys):
    model = str(g / "OutputReference/subject01_scaledOnly.osim")
    static = str(g / "subject01_static.trc")
    assert main(["scale", "--backend", "opensim", "--model", model, "--static", static, "--out",
                 str(tmp_path / "a.osim")]) == 1
    assert "--mass" in capsys.readouterr().err
    assert main(["scale", "--backend", "opensim", "--model", model, "--static", static, "--mass", "70",
                 "--height", "1800", "--out", str(tmp_path / "a.osim")]) == 1
    assert "metres" in capsys.readouterr().err
    assert main(["scale", "--backend", "torch", "--setup", str(g / "subject01_Setup_Scale.xml"), "--static", static,
                 "--out", str(tmp_path / "a.osim")]) == 1
    assert "--backend opensim" in capsys.readouterr().err
    d = read_trc(static).select_frames(slice(0, 10))
    wrong = write_trc(tmp_path / "w.trc", d, units="mm")
    wrong.write_text(wrong.read_text().replace("\tmm\t", "\tm\t", 1))
    assert main(["scale", "--backend", "opensim", "--model", model, "--static", str(wrong), "--mass", "70",
                 "--out", str(tmp_path / "a.osim")]) == 1
    assert "probably in mm" in capsys.readouterr().err
    assert _files(tmp_path) == ["w.trc"]


def test_scale_torch_backend(g, tmp_path, capsys):
    out = tmp_path / "t.osim"
    rc = main(["scale", "--backend", "torch", "--model", str(g / "OutputReference/subject01_scaledOnly.osim"),
               "--static", str(g / "subject01_static.trc"), "--mass", "72.6", "--height", "1.80",
               "--frames", "5", "--out", str(out)])
    assert rc == 0
    assert _files(tmp_path) == ["scales.json", "t.osim"]
    doc = read_scales_json(tmp_path / "scales.json")
    assert doc["method"] == "torch" and doc["marker_rmse"] < 0.03
    osim = import_opensim()
    m = osim.Model(str(out))
    assert m.getTotalMass(m.initSystem()) == pytest.approx(72.6, rel=1e-9)
    err = capsys.readouterr().err
    femur = " ".join(f"{x:.3f}" for x in doc["scales"]["femur_r"])  # x y z: not x alone, read as a length's
    assert "factors x y z: pelvis " in err and f"femur_r {femur}," in err, err
    assert "height 1.80 m given" not in err  # agrees with the markers: no warning


def test_scale_warns_when_the_height_disagrees_with_the_markers(g, tmp_path, capsys):
    assert main(["scale", "--model", str(g / "OutputReference/subject01_scaledOnly.osim"), "--static",
                 str(g / "subject01_static.trc"), "--height", "0.3", "--frames", "2", "--out", str(tmp_path / "t.osim")]) == 0
    err = capsys.readouterr().err
    assert "WARNING: scaling: height 0.30 m given, but the markers are those of a 1." in err, err


def test_generic_model_resolution(tmp_path, capsys):
    from pipeline.commands.fk import resolve_model
    from pipeline.config import load_config
    from pipeline.errors import KinematicsError

    cfg = load_config(None, [])
    assert resolve_model("generic", cfg).suffix == ".osim"
    assert resolve_model(None, cfg).is_file()  # config default kinematics.model = generic
    with pytest.raises(KinematicsError, match="nope.osim not found"):
        resolve_model(str(tmp_path / "nope.osim"), cfg)


def test_generic_model_fk_then_ik_round_trip(tmp_path, capsys):
    """--model generic: a motion -> odah fk -> its markers as a TRC (mm) -> odah ik (both backends)
    gives the markers back (sub-millimetre) and the motion back."""
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
    from pipeline.kinematics.mot import Motion, write_mot
    from pipeline.kinematics.osim import load_osim
    from pipeline.kinematics.trc import MarkerData

    model = load_osim(GENERIC_MODEL_PATH)
    rng = np.random.default_rng(1)
    lo = np.array([c.range[0] for c in model.coordinates])
    hi = np.array([c.range[1] for c in model.coordinates])
    q0 = np.clip(model.default_q(), lo, hi)
    q = q0 + 0.15 * (rng.uniform(lo, hi, size=(6, len(lo))) - q0)   # moderate poses around the default
    locked = np.array([c.locked for c in model.coordinates])
    q[:, locked] = q0[locked]                                        # IK keeps locked coordinates
    motion = Motion(names=model.coordinate_names, values=q, times=np.arange(6) / 30.0,
                    rotational=np.array([c.motion_type == "rotational" for c in model.coordinates]))
    mot = write_mot(tmp_path / "m.mot", motion)
    assert main(["fk", "--model", "generic", "--motion", str(mot), "--out", str(tmp_path / "k.npz")]) == 0
    k = np.load(tmp_path / "k.npz")
    trc = write_trc(tmp_path / "m.trc", MarkerData([str(n) for n in k["marker_names"]], k["markers"], rate=30.0),
                    units="mm")
    for backend in ["opensim", "torch"]:
        out = tmp_path / f"{backend}.mot"
        assert main(["ik", "--model", "generic", "--backend", backend, "--markers", str(trc), "--out", str(out)]) == 0
        rep = json.loads((tmp_path / f"{backend}_ik_report.json").read_text())
        # OpenSim's IK stops at its accuracy (1e-5) about a millimetre from the exact fit here
        assert rep["summary"]["rmse_max"] < 2e-3, backend  # metres
        got = read_mot(out, model=GENERIC_MODEL_PATH).reorder(model.coordinate_names)
        # the large joints come back (pelvis Euler angles may come back as an equivalent triple)
        major = [model.coordinate_names.index(n) for n in ("hip_flexion_r", "knee_angle_r", "ankle_angle_r",
                                                              "hip_flexion_l", "knee_angle_l", "lumbar_extension")]
        err = np.abs(got.values - q)[:, major]
        assert np.rad2deg(err).max() < 1.0, backend


def test_opensim_backend_gets_no_versionless_model(tmp_path, capsys):
    bad = tmp_path / "garbage.osim"
    bad.write_text("<OpenSimDocument><Model name='x'/></OpenSimDocument>")
    trc = tmp_path / "w.trc"
    trc.write_text("x")
    for argv in (["ik", "--backend", "opensim", "--markers", trc, "--out", tmp_path / "a.mot"],
                 ["scale", "--backend", "opensim", "--static", trc, "--mass", "70", "--out", tmp_path / "s.osim"]):
        rc = main([str(a) for a in [*argv, "--model", bad]])
        err = capsys.readouterr().err
        assert rc == 1 and "garbage.osim: <OpenSimDocument> has no Version attribute" in err, err
        assert "std::exception" not in err


def test_scales_are_not_applied_to_a_model_they_were_not_made_for(g, tmp_path, capsys):
    """scales.json records the model it was fitted on: --scales with another model (such as the
    scaled model written with those factors) is an error with a hint, for fk and ik; a copy of the
    recorded model is the same model."""
    import shutil

    from pipeline.kinematics.osim_writer import write_scaled_osim, write_scales_json

    generic = g / "OutputReference/subject01_simbody.osim"
    factors = {"femur_r": [1.1, 1.2, 1.0]}
    sj = write_scales_json(tmp_path / "scales.json", factors, model=str(generic))
    scaled = write_scaled_osim(generic, factors, tmp_path / "scaled.osim")
    copy = shutil.copy(generic, tmp_path / "copy.osim")
    mot = g / "OutputReference/subject01_walk1_ik.mot"
    trc = write_trc(tmp_path / "w.trc", read_trc(g / "subject01_walk1.trc").select_frames(slice(0, 2)))
    for argv in (["fk", "--motion", mot, "--out", tmp_path / "k.npz"],
                 ["ik", "--backend", "torch", "--markers", trc, "--out", tmp_path / "a.mot"]):
        rc = main([str(a) for a in [*argv, "--model", scaled, "--scales", sj]])
        err = capsys.readouterr().err
        assert rc == 1 and f"scales.json was made for {generic}; --model is {scaled}" in err
        assert "drop --scales" in err
        assert main([str(a) for a in [*argv, "--model", copy, "--scales", sj]]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mot", "a_ik_report.json", "copy.osim", "k.npz",
                                                          "scaled.osim", "scales.json", "w.trc"]


@pytest.mark.parametrize("factors", [[1.0, 0.0, 1.0], [1.0, -1.0, 1.0], [1.0, float("nan"), 1.0]])
def test_scales_json_factors_must_be_positive_and_finite(tmp_path, factors):
    from pipeline.errors import KinematicsError

    path = tmp_path / "s.json"
    path.write_text(json.dumps({"scales": {"femur_r": factors, "pelvis": [1, 1, 1]}}))
    with pytest.raises(KinematicsError, match=r"s.json: scale factors must be positive finite numbers; "
                                              r"not so for femur_r \["):
        read_scales_json(path)


def test_input_messages_fit_the_command_line(g, tmp_path, capsys):
    """A folder given for a file says so; the unit hint names --units; a trial whose markers are
    not the model's names some of each and suggests a mapping; an empty trial is named."""
    folder = tmp_path / "dir.trc"
    folder.mkdir()
    model = g / "OutputReference/subject01_simbody.osim"
    trc = g / "subject01_walk1.trc"
    cases = [
        (["scale", "--model", model, "--static", folder, "--out", tmp_path / "s.osim"], f"marker file {folder} is a folder"),
        (["ik", "--model", tmp_path, "--markers", trc, "--out", tmp_path / "a.mot"], f"{tmp_path} is a folder, not a file"),
        (["ik", "--model", model, "--markers", folder, "--out", tmp_path / "a.mot"], f"marker file {folder} is a folder"),
        (["markers", folder, "--out", tmp_path / "m.trc"], f"{folder}: a folder, not a motion file"),
        (["markers", tmp_path, "--out", tmp_path / "m.trc"], f"{tmp_path}: a folder, not a motion file"),
    ]
    d = read_trc(g / "subject01_static.trc").select_frames(slice(0, 3))
    mm = write_trc(tmp_path / "mm.trc", d, units="mm")
    mm.write_text(mm.read_text().replace("\tmm\t", "\tm\t", 1))
    cases.append((["ik", "--model", model, "--markers", mm, "--out", tmp_path / "a.mot"], "--units mm"))
    cases.append((["scale", "--model", "generic", "--static", g / "subject01_static.trc", "--out", tmp_path / "s.osim"],
                  "only 0 of its 49 markers (R.ASIS, L.ASIS, V.Sacral, R.Thigh.Upper, ...) are markers of model"))
    empty = d.rename({"R.ASIS": "LFHD", "L.ASIS": "RFHD", "V.Sacral": "LBHD"})
    empty.positions[:] = np.nan
    empty.positions[:, :2] = 0.5  # two of the model's markers per frame, the rest blank
    empty = write_trc(tmp_path / "cut.trc", empty)
    cases.append((["scale", "--model", "generic", "--static", empty, "--out", tmp_path / "s.osim"],
                  f"{empty}: no frame has at least 3 of the model's markers"))
    for argv, says in cases:
        rc = main([str(a) for a in argv])
        err = capsys.readouterr().err
        assert rc == 1 and says in err, (argv, err)
    main(["scale", "--model", "generic", "--static", str(g / "subject01_static.trc"), "--out", str(tmp_path / "s.osim")])
    err = capsys.readouterr().err
    assert "(LFHD, RFHD, LBHD, RBHD, ...)" in err and "--mapping MAP.yaml" in err and "motion.marker_mapping" in err
    assert not (tmp_path / "s.osim").exists() and not (tmp_path / "a.mot").exists()


def test_coupler_driven_coordinates_are_not_reported_missing(tmp_path, capsys):
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
    from pipeline.kinematics.mot import Motion, write_mot
    from pipeline.kinematics.osim import load_osim

    model = load_osim(GENERIC_MODEL_PATH)
    driven = model.dependent_coordinates
    assert "knee_angle_r_beta" in driven
    names = [n for n in model.coordinate_names if n not in driven and n != "lumbar_bending"]
    q = np.array([model.default_q()[[model.coordinate_names.index(n) for n in names]]] * 2)
    mot = write_mot(tmp_path / "m.mot", Motion(names=names, values=q, times=np.array([0.0, 0.1]),
                                               rotational=np.ones(len(names), bool)))
    assert main(["fk", "--model", "generic", "--motion", str(mot), "--out", str(tmp_path / "k.npz")]) == 0
    err = capsys.readouterr().err
    assert "1 coordinates not in the motion take their default value: lumbar_bending" in err
    assert "beta" not in err


def test_ik_backends_agree_on_zero_gaps(g, tmp_path, capsys):
    """A marker written as exactly 0 0 0 (an exporter's gap) is missing for both backends: OpenSim
    gets a converted TRC with blanks, not the zeros it would fit as a position."""
    d = read_trc(g / "subject01_walk1.trc").select_frames(slice(30, 36))
    d.positions[:, d.index("R.Shank.Front")] = 0.0
    trc = write_trc(tmp_path / "zeros.trc", d, units="mm")
    got = {}
    for backend in ["opensim", "torch"]:
        out = tmp_path / f"{backend}.mot"
        assert main(["ik", "--backend", backend, "--model", str(g / "OutputReference/subject01_simbody.osim"),
                     "--markers", str(trc), "--out", str(out)]) == 0, backend
        got[backend] = read_mot(out)
        rep = json.loads((tmp_path / f"{backend}_ik_report.json").read_text())
        assert rep["summary"]["rmse_max"] < 0.03, backend
    a, b = got["opensim"], got["torch"].reorder(got["opensim"].names)
    assert np.rad2deg(np.abs(a.values - b.values)[:, a.rotational]).max() < 0.5


def test_scales_json_marker_offsets_apply_as_the_scaled_model_has_them(tmp_path, capsys):
    """--model generic --scales scales.json (factors and fitted marker locations) is the model
    'odah scale' wrote with them: the same FK, and IK of that model's markers fits exactly."""
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
    from pipeline.kinematics.mot import Motion, write_mot
    from pipeline.kinematics.osim import load_osim
    from pipeline.kinematics.osim_writer import write_scaled_osim, write_scales_json
    from pipeline.kinematics.trc import MarkerData

    model = load_osim(GENERIC_MODEL_PATH)
    rng = np.random.default_rng(2)
    scales = {b: rng.uniform(0.85, 1.2, 3) for b in model.body_names}
    offsets = {m.name: m.location + rng.uniform(-0.03, 0.03, 3) for m in model.markers[::2]}
    write_scaled_osim(GENERIC_MODEL_PATH, scales, tmp_path / "scaled.osim", marker_offsets=offsets)
    sj = write_scales_json(tmp_path / "scales.json", scales, marker_offsets=offsets, model=str(GENERIC_MODEL_PATH))
    q = np.repeat(model.default_q()[None], 4, 0) + rng.normal(0, 0.1, (4, len(model.coordinates)))
    mot = write_mot(tmp_path / "m.mot", Motion(names=model.coordinate_names, values=q, times=np.arange(4) / 30.0,
                                                rotational=np.array([c.motion_type == "rotational"
                                                                     for c in model.coordinates])))
    assert main(["fk", "--model", "generic", "--scales", str(sj), "--motion", str(mot),
                 "--out", str(tmp_path / "a.npz")]) == 0
    assert main(["fk", "--model", str(tmp_path / "scaled.osim"), "--motion", str(mot),
                 "--out", str(tmp_path / "b.npz")]) == 0
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    for key in ("markers", "joint_centres", "body_coms"):
        assert np.abs(a[key] - b[key]).max() < 1e-9, key
    trc = write_trc(tmp_path / "m.trc", MarkerData([str(n) for n in b["marker_names"]], b["markers"], rate=30.0))
    for name, flags in (("a", ["--model", "generic", "--scales", str(sj)]),
                        ("b", ["--model", str(tmp_path / "scaled.osim")])):
        assert main(["ik", *flags, "--backend", "torch", "--markers", str(trc), "--out", str(tmp_path / f"{name}.mot")]) == 0
    ra, rb = (json.loads((tmp_path / f"{n}_ik_report.json").read_text()) for n in "ab")
    np.testing.assert_allclose(ra["marker_rmse"], rb["marker_rmse"], atol=1e-6)
    assert ra["summary"]["rmse_median"] < 5e-3  # metres
    np.testing.assert_allclose(read_mot(tmp_path / "a.mot").values, read_mot(tmp_path / "b.mot").values, atol=1e-5)
