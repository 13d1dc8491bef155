""".mot/.sto reading and writing: degrees handling, motion types, malformed files, OpenSim round trips."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import MotionIOError
from pipeline.kinematics.mot import Motion, model_motion_types, naming_motion_type, osim_motion_types, read_mot, write_mot
from pipeline.kinematics.opensim_tools import import_opensim


def _motion(t: int = 4) -> Motion:
    times = np.arange(t) / 100.0
    vals = np.stack([np.linspace(0, 0.5, t), np.linspace(0.9, 1.0, t), np.linspace(-1, 1, t)], axis=1)
    return Motion(names=["hip_flexion_r", "pelvis_ty", "knee_angle_r"], values=vals, times=times)


def _mot_text(header: list[str], labels: str, rows: list[str]) -> str:
    return "\n".join(header + ["endheader", labels] + rows) + "\n"


def test_naming_convention():
    assert naming_motion_type("pelvis_tx") == "translational"
    assert naming_motion_type("pelvis_tilt") == "rotational"
    assert naming_motion_type("knee_angle_r") == "rotational"
    assert naming_motion_type("/jointset/ground_pelvis/pelvis_tx/value") == "translational"
    assert naming_motion_type("/jointset/hip_r/hip_flexion_r/speed") == "rotational"
    m = _motion()
    np.testing.assert_array_equal(m.rotational, [True, False, True])


def test_read_degrees_converts_only_rotational(tmp_path):
    p = tmp_path / "a.mot"
    p.write_text(_mot_text(["Coordinates", "version=1", "nRows=2", "nColumns=4", "inDegrees=yes"],
                           "time\thip_flexion_r\tpelvis_ty\tknee_angle_r",
                           ["0.0\t90\t0.95\t-45", "0.01\t180\t0.96\t-90"]))
    m = read_mot(p)
    assert m.names == ["hip_flexion_r", "pelvis_ty", "knee_angle_r"] and m.name == "Coordinates"
    np.testing.assert_allclose(m.values, [[np.pi / 2, 0.95, -np.pi / 4], [np.pi, 0.96, -np.pi / 2]])
    np.testing.assert_allclose(m.times, [0.0, 0.01])
    assert m.rate == pytest.approx(100.0)
    np.testing.assert_allclose(m.column("pelvis_ty"), [0.95, 0.96])


def test_model_decides_and_coupled_columns_stay_raw(tmp_path):
    p = tmp_path / "c.mot"
    p.write_text(_mot_text(["Coordinates", "version=1", "inDegrees=yes"],
                           "time  knee_angle_r  knee_beta  force_vx",
                           ["0 90 0.5 100", "1 45 0.25 200"]))  # space separated works too
    m = read_mot(p, model={"knee_angle_r": "rotational", "knee_beta": "coupled"})
    # coupled coordinates and non-coordinate columns are left as they are (OpenSim does the same)
    np.testing.assert_allclose(m.values, [[np.pi / 2, 0.5, 100], [np.pi / 4, 0.25, 200]])
    np.testing.assert_array_equal(m.rotational, [True, False, False])
    out = write_mot(tmp_path / "c2.mot", m)
    np.testing.assert_allclose(read_mot(out, model={"knee_angle_r": "rotational"}).values, m.values)
    with pytest.raises(MotionIOError, match="unknown motion type"):
        read_mot(p, model={"knee_angle_r": "spinning"})


def test_header_rules_follow_opensim_storage(tmp_path):
    # SIMM-era .mot (no version line): degrees
    p = tmp_path / "old.mot"
    p.write_text(_mot_text(["name old", "datacolumns 2", "datarows 1", "range 0 0"], "time\thip_flexion_r", ["0\t90"]))
    m = read_mot(p)
    assert m.name == "old" and m.values[0, 0] == pytest.approx(np.pi / 2)
    # versioned .sto without inDegrees: radians
    p = tmp_path / "new.sto"
    p.write_text(_mot_text(["states", "version=1"], "time\thip_flexion_r", ["0\t1.5"]))
    assert read_mot(p).values[0, 0] == pytest.approx(1.5)
    p.write_text(_mot_text(["states", "version=1", "inDegrees=no"], "time\thip_flexion_r", ["0\t1.5"]))
    assert read_mot(p).values[0, 0] == pytest.approx(1.5)


def test_trailing_tabs_and_nan(tmp_path):
    p = tmp_path / "t.mot"
    p.write_text(_mot_text(["x", "version=1", "inDegrees=yes"], "time\tpelvis_tilt\tpelvis_tx\t\t",
                           ["0\t10\t1\t", "1\tNaN\t2\t"]))
    m = read_mot(p)
    assert m.names == ["pelvis_tilt", "pelvis_tx"]
    assert np.isnan(m.values[1, 0]) and m.values[1, 1] == 2.0


def test_malformed_files(tmp_path):
    p = tmp_path / "bad.mot"
    p.write_text("version=1\ntime\ta\n0\t1\n")
    with pytest.raises(MotionIOError, match="no 'endheader'"):
        read_mot(p)
    p.write_text(_mot_text(["version=1"], "frame\ta", ["0\t1"]))
    with pytest.raises(MotionIOError, match="first column must be 'time'"):
        read_mot(p)
    p.write_text(_mot_text(["version=1"], "time\ta\tb", ["0\t1\t2", "1\t2"]))
    with pytest.raises(MotionIOError, match=r"bad\.mot: line 5: 2 values, expected 3"):
        read_mot(p)
    p.write_text(_mot_text(["version=1"], "time\ta\tb", ["0\t1\tx"]))
    with pytest.raises(MotionIOError, match=r"line 4, column 'b': 'x' is not a number"):
        read_mot(p)
    p.write_text(_mot_text(["version=1"], "time\ta\ta", ["0\t1\t2"]))
    with pytest.raises(MotionIOError, match="duplicate column"):
        read_mot(p)
    with pytest.raises(MotionIOError, match="cannot read"):
        read_mot(tmp_path / "absent.mot")


@pytest.mark.parametrize("in_degrees", [True, False])
def test_write_read_round_trip(tmp_path, in_degrees):
    m = _motion(7)
    p = write_mot(tmp_path / "r.mot", m, in_degrees=in_degrees)
    text = p.read_text()
    assert f"inDegrees={'yes' if in_degrees else 'no'}" in text
    r = read_mot(p)
    assert r.names == m.names
    np.testing.assert_allclose(r.values, m.values, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(r.times, m.times, atol=1e-9)
    if in_degrees:  # the file really holds degrees for rotational columns only
        row = text.splitlines()[-1].split("\t")
        assert float(row[1]) == pytest.approx(np.rad2deg(m.values[-1, 0]))
        assert float(row[2]) == pytest.approx(m.values[-1, 1])


def test_write_atomic_and_checks(tmp_path):
    m = _motion()
    p = write_mot(tmp_path / "k.mot", m)
    before = p.read_text()
    bad = Motion(names=["has space"], values=np.zeros((2, 1)), times=[0, 1])
    with pytest.raises(MotionIOError, match="whitespace"):
        write_mot(p, bad)
    assert p.read_text() == before
    assert [x.name for x in tmp_path.iterdir()] == ["k.mot"]
    with pytest.raises(MotionIOError, match=r"\(T, C\)"):
        Motion(names=["a"], values=np.zeros(3), times=np.zeros(3))
    with pytest.raises(MotionIOError, match="times has 2 entries for 3 frames"):
        Motion(names=["a"], values=np.zeros((3, 1)), times=np.zeros(2))


def test_motion_helpers():
    m = _motion(11)
    r = m.reorder(["knee_angle_r", "ankle_angle_r"], fill={"ankle_angle_r": 0.1})
    assert r.names == ["knee_angle_r", "ankle_angle_r"]
    np.testing.assert_allclose(r.values[:, 1], 0.1)
    with pytest.raises(MotionIOError, match="missing: ankle_angle_r"):
        m.reorder(["ankle_angle_r"])
    np.testing.assert_allclose(m.degrees()[:, 0], np.rad2deg(m.values[:, 0]))
    np.testing.assert_allclose(m.degrees()[:, 1], m.values[:, 1])
    assert m.time_range(0.02, 0.04).n_frames == 3
    rs = m.resample(200.0)
    assert rs.n_frames == 21
    np.testing.assert_allclose(rs.values[:, 0], np.interp(rs.times, m.times, m.values[:, 0]))


def test_motion_types_from_osim_match_opensim(golden):
    opensim = import_opensim()  # no opensim.log left in the working directory
    kinds = {1: "rotational", 2: "translational", 3: "coupled"}
    for rel in ("gait2354/gait2354_simbody.osim", "hamner/FullBodyModel_Hamner2010_v2_0.osim"):
        path = golden / rel
        ours = osim_motion_types(path)
        model = opensim.Model(str(path))
        cs = model.getCoordinateSet()
        ref = {cs.get(i).getName(): kinds[int(cs.get(i).getMotionType())] for i in range(cs.getSize())}
        assert ours == ref
    assert model_motion_types(golden / "gait2354/gait2354_simbody.osim")["pelvis_tz"] == "translational"


def test_golden_ik_mot_matches_opensim_conversion(golden):
    opensim = import_opensim()  # no opensim.log left in the working directory
    mot = golden / "gait2354/OutputReference/subject01_walk1_ik.mot"
    osim_path = golden / "gait2354/gait2354_simbody.osim"
    m = read_mot(mot, model=osim_path)
    assert m.values.shape == (73, 23) and m.names[0] == "pelvis_tilt"
    np.testing.assert_allclose(read_mot(mot).values, m.values)  # naming agrees with the model here
    model = opensim.Model(str(osim_path))
    model.initSystem()
    sto = opensim.Storage(str(mot))
    model.getSimbodyEngine().convertDegreesToRadians(sto)
    arr = sto.getColumnLabels()
    labels = [arr.get(i) for i in range(1, arr.getSize())]
    assert labels == m.names
    for j, name in enumerate(labels):
        col = opensim.ArrayDouble()
        sto.getDataColumn(name, col)
        np.testing.assert_allclose([col.get(i) for i in range(col.getSize())], m.values[:, j], atol=1e-12)


def test_written_mot_loads_in_opensim(tmp_path, golden):
    opensim = import_opensim()  # no opensim.log left in the working directory
    m = read_mot(golden / "gait2354/OutputReference/subject01_walk1_ik.mot")
    p = write_mot(tmp_path / "w.mot", m)
    table = opensim.TimeSeriesTable(str(p))
    assert table.getTableMetaDataAsString("inDegrees") == "yes"
    assert list(table.getColumnLabels()) == m.names and table.getNumRows() == m.n_frames
    np.testing.assert_allclose(table.getMatrix().to_numpy(), m.degrees(), atol=1e-8)
    sto = opensim.Storage(str(p))
    assert sto.isInDegrees() and sto.getSize() == m.n_frames
    sto_path = write_mot(tmp_path / "w.sto", m, in_degrees=False)
    assert opensim.TimeSeriesTable(str(sto_path)).getTableMetaDataAsString("inDegrees") == "no"
