"""TRC reading/writing: units, gaps, malformed files, OpenSim round trips."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import MotionIOError
from pipeline.kinematics.opensim_tools import import_opensim
from pipeline.kinematics.trc import MarkerData, read_trc, write_trc


def _body_like(t: int = 5, m: int = 4, seed: int = 0) -> MarkerData:
    """A marker cloud the size of a person (about 1.7 m tall), metres."""
    rng = np.random.default_rng(seed)
    base = np.array([[0.0, 0.1, 0.0], [0.1, 1.0, 0.1], [-0.1, 1.7, 0.0], [0.2, 0.5, -0.1], [0.0, 1.3, 0.2]])[:m]
    pos = base[None] + rng.normal(scale=0.01, size=(t, m, 3))
    return MarkerData(names=[f"M{i}" for i in range(m)], positions=pos, rate=100.0)


def _trc_text(units="mm", names=("A", "B", "C"), rows=None, num_markers=None, rate="100"):
    n = len(names) if num_markers is None else num_markers
    rows = rows if rows is not None else []
    head = [
        "PathFileType\t4\t(X/Y/Z)\tt.trc",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{len(rows)}\t{n}\t{units}\t{rate}\t1\t{len(rows)}",
        "Frame#\tTime\t" + "\t\t\t".join(names) + "\t\t",
        "\t\t" + "\t".join(f"{a}{i + 1}" for i in range(len(names)) for a in "XYZ"),
        "",
    ]
    return "\n".join(head + rows) + "\n"


ROW1 = "1\t0.00\t0\t100\t0\t100\t1000\t0\t0\t1700\t50"
ROW2 = "2\t0.01\t1\t101\t1\t101\t1001\t1\t1\t1701\t51"


def test_read_mm_header_and_values(tmp_path):
    p = tmp_path / "a.trc"
    p.write_text(_trc_text(rows=[ROW1, ROW2]))
    d = read_trc(p)
    assert d.names == ["A", "B", "C"]
    assert d.positions.shape == (2, 3, 3) and d.positions.dtype == np.float64
    assert d.rate == 100.0
    np.testing.assert_allclose(d.times, [0.0, 0.01])
    np.testing.assert_array_equal(d.frame_numbers, [1, 2])
    np.testing.assert_allclose(d.positions[0, 2], [0.0, 1.7, 0.05])  # mm -> m
    assert d.meta["units"] == "mm" and d.source == p


@pytest.mark.parametrize("units,factor", [("m", 1.0), ("cm", 0.01), ("mm", 0.001), ("Millimeters", 0.001)])
def test_units_from_header(tmp_path, units, factor):
    vals = np.array([0, 0.1, 0, 0.1, 1.0, 0, 0, 1.7, 0.05]) / factor
    p = tmp_path / "u.trc"
    p.write_text(_trc_text(units=units, rows=["1\t0\t" + "\t".join(f"{v:.6f}" for v in vals)]))
    np.testing.assert_allclose(read_trc(p).positions[0, 2], [0.0, 1.7, 0.05], rtol=1e-9)


def test_forced_units_override_header(tmp_path):
    p = tmp_path / "f.trc"
    p.write_text(_trc_text(units="m", rows=[ROW1]))  # values are really mm
    with pytest.raises(MotionIOError, match="probably in mm"):
        read_trc(p)
    d = read_trc(p, units="mm")
    np.testing.assert_allclose(d.positions[0, 2], [0.0, 1.7, 0.05])
    assert d.meta["units"] == "mm"


def test_wrong_units_mm_label_on_metre_data(tmp_path):
    p = tmp_path / "w.trc"
    p.write_text(_trc_text(units="mm", rows=["1\t0\t0\t0.1\t0\t0.1\t1.0\t0\t0\t1.7\t0.05"]))
    with pytest.raises(MotionIOError, match=r"w\.trc.*Units.*probably in m\b"):
        read_trc(p)
    assert read_trc(p, check_units=False).positions[0, 2, 1] == pytest.approx(0.0017)


def test_unknown_or_missing_units(tmp_path):
    p = tmp_path / "x.trc"
    p.write_text(_trc_text(units="furlong", rows=[ROW1]))
    with pytest.raises(MotionIOError, match="x.trc.*Units.*furlong"):
        read_trc(p)
    text = _trc_text(rows=[ROW1]).splitlines()
    text[1] = text[1].replace("\tUnits", "")
    text[2] = text[2].replace("\tmm", "")
    p.write_text("\n".join(text))
    with pytest.raises(MotionIOError, match="no 'Units'"):
        read_trc(p)
    assert read_trc(p, units="mm").n_markers == 3


def test_missing_markers_blank_cells_short_rows_nan(tmp_path):
    rows = [
        "1\t0.00\t0\t100\t0\t\t\t\t0\t1700\t50\t",       # B blank, trailing tab
        "2\t0.01\t1\t101\t1\t101\t1001",                 # C cut off, B.Z missing
        "3\t0.02\tNaN\tNaN\tNaN\t102\t1002\t2\t2\t1702\t52",
    ]
    p = tmp_path / "gaps.trc"
    p.write_text(_trc_text(rows=rows))
    d = read_trc(p)
    miss = d.missing
    np.testing.assert_array_equal(miss, [[False, True, False], [False, True, True], [True, False, False]])
    assert np.isnan(d.positions[1, 2]).all()
    np.testing.assert_allclose(d.positions[2, 1], [0.102, 1.002, 0.002])


def test_zero_triplets_are_gaps_single_zero_components_are_not(tmp_path, caplog):
    rows = [
        "1\t0.00\t0\t0\t0\t0\t100\t0\t1\t1\t1",        # A at exactly (0, 0, 0): a gap
        "2\t0.01\t0.0\t0.0\t0.0\t0\t0\t1\t1\t1\t1",    # A again (as 0.0); B has two zero components
    ]
    p = tmp_path / "zeros.trc"
    p.write_text(_trc_text(rows=rows))
    with caplog.at_level("INFO", logger="odah"):
        d = read_trc(p)
    np.testing.assert_array_equal(d.missing, [[True, False, False], [True, False, False]])
    np.testing.assert_allclose(d.positions[1, 1], [0, 0, 0.001])
    assert "A (2 of 2)" in caplog.text and "B (" not in caplog.text
    assert d.meta["zero_gaps"] == 2  # recorded: OpenSim's tools must get a converted file


def test_a_dead_marker_written_as_zeros_in_real_data_is_missing(golden):
    d = read_trc(golden / "hamner" / "subject02_running.trc")
    miss = d.missing
    assert miss[:, d.names.index("L.Bicep")].all()  # zeros in all 600 frames: weight zero, not the lab origin
    assert not miss[:, d.names.index("R.Bicep")].any()


def test_blank_time_column_derived_from_frames(tmp_path):
    p = tmp_path / "nt.trc"
    p.write_text(_trc_text(rows=[ROW1.replace("\t0.00\t", "\t\t", 1), ROW2.replace("\t0.01\t", "\t\t", 1)]))
    np.testing.assert_allclose(read_trc(p).times, [0.0, 0.01])


def test_duplicate_names_error(tmp_path):
    p = tmp_path / "dup.trc"
    p.write_text(_trc_text(names=("A", "B", "A"), rows=[ROW1]))
    with pytest.raises(MotionIOError, match=r"dup\.trc.*line 4.*duplicate.*A"):
        read_trc(p)


def test_non_numeric_cell_names_line_and_column(tmp_path):
    p = tmp_path / "bad.trc"
    p.write_text(_trc_text(rows=[ROW1, ROW2.replace("1001", "x1001")]))
    with pytest.raises(MotionIOError, match=r"bad\.trc: line 8, column 7 \(B Y\): 'x1001'"):
        read_trc(p)


def test_malformed_headers(tmp_path):
    p = tmp_path / "h.trc"
    p.write_text("hello\n")
    with pytest.raises(MotionIOError, match="not a TRC"):
        read_trc(p)
    p.write_text(_trc_text(rows=[ROW1], num_markers=5))
    with pytest.raises(MotionIOError, match="NumMarkers=5 but 3 marker names"):
        read_trc(p)
    p.write_text(_trc_text(rows=[ROW1], rate="0"))
    with pytest.raises(MotionIOError, match="DataRate"):
        read_trc(p)
    p.write_text(_trc_text(rows=[ROW1 + "\t5\t5\t5"]))
    with pytest.raises(MotionIOError, match="line 7: 14 columns, expected at most 11"):
        read_trc(p)
    p.write_text(_trc_text(rows=[]))
    with pytest.raises(MotionIOError, match="no data rows"):
        read_trc(p)
    with pytest.raises(MotionIOError, match="cannot read"):
        read_trc(tmp_path / "absent.trc")


@pytest.mark.parametrize("units", ["m", "mm", "cm"])
def test_write_read_round_trip(tmp_path, units):
    d = _body_like()
    d.positions[2, 1] = np.nan
    p = write_trc(tmp_path / f"r_{units}.trc", d, units=units)
    r = read_trc(p)
    assert r.names == d.names and r.meta["units"] == units
    np.testing.assert_allclose(r.positions, d.positions, atol=2e-7, equal_nan=True)
    np.testing.assert_allclose(r.times, d.times, atol=1e-8)
    assert r.rate == d.rate


def test_write_is_atomic_and_rejects_bad_units(tmp_path):
    d = _body_like()
    p = tmp_path / "keep.trc"
    write_trc(p, d)
    before = p.read_text()
    with pytest.raises(MotionIOError, match="furlong"):
        write_trc(p, d, units="furlong")
    assert p.read_text() == before
    with pytest.raises(MotionIOError, match="without tabs"):
        write_trc(p, d.rename({"M0": "bad\tname"}))
    assert p.read_text() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["keep.trc"]


def test_marker_data_helpers():
    d = _body_like(t=11, m=4)
    s = d.subset(["M2", "M0"])
    assert s.names == ["M2", "M0"]
    np.testing.assert_array_equal(s.positions[:, 0], d.positions[:, 2])
    with pytest.raises(MotionIOError, match="not in the data: Zed"):
        d.subset(["M0", "Zed"])
    n = d.subset(["M0", "Zed"], missing="nan")
    assert np.isnan(n.positions[:, 1]).all()
    assert d.subset(["M0", "Zed"], missing="drop").names == ["M0"]
    assert d.select_frames(slice(2, 5)).n_frames == 3
    tr = d.time_range(0.02, 0.05)
    np.testing.assert_allclose(tr.times, [0.02, 0.03, 0.04, 0.05])
    with pytest.raises(MotionIOError, match="no frame in time range"):
        d.time_range(5.0, 6.0)
    with pytest.raises(MotionIOError, match="duplicate"):
        d.rename({"M1": "M0"})
    assert d.rename({"M1": "hip"}).names == ["M0", "hip", "M2", "M3"]
    with pytest.raises(MotionIOError, match=r"\(T, M, 3\)"):
        MarkerData(names=["a"], positions=np.zeros((3, 1, 2)), rate=10)
    with pytest.raises(MotionIOError, match="rate"):
        MarkerData(names=["a"], positions=np.zeros((3, 1, 3)), rate=0)


def test_resample_linear_and_never_bridges_gaps():
    t = np.arange(5) / 10.0
    pos = np.zeros((5, 2, 3))
    pos[:, 0, 0] = t * 2.0          # linear in time: resampling is exact
    pos[:, 1, 0] = 1.0
    pos[2, 1] = np.nan              # gap at t = 0.2
    d = MarkerData(names=["lin", "gap"], positions=pos, rate=10.0)
    r = d.resample(40.0)
    assert r.n_frames == 17 and r.rate == 40.0
    np.testing.assert_allclose(r.positions[:, 0, 0], r.times * 2.0, atol=1e-12)
    gap = np.isnan(r.positions[:, 1, 0])
    np.testing.assert_array_equal(np.flatnonzero(gap), np.arange(5, 12))  # 0.125 .. 0.275 s
    assert not np.isnan(r.positions[4, 1, 0]) and not np.isnan(r.positions[12, 1, 0])


def test_golden_walk_matches_opensim_reader(golden):
    opensim = import_opensim()  # no opensim.log left in the working directory
    path = golden / "gait2354" / "subject01_walk1.trc"
    d = read_trc(path)
    assert (d.n_frames, d.n_markers, d.rate) == (151, 41, 60.0)
    table = opensim.TimeSeriesTableVec3(str(path))
    assert list(table.getColumnLabels()) == d.names
    ref = np.array([[list(table.getRowAtIndex(i)[j].to_numpy()) for j in range(d.n_markers)]
                    for i in range(0, d.n_frames, 10)])
    np.testing.assert_allclose(d.positions[::10], ref / 1000.0, atol=1e-12)


def test_written_trc_loads_in_opensim(tmp_path):
    opensim = import_opensim()  # no opensim.log left in the working directory
    d = _body_like(t=6, m=5)
    d.positions[3, 4] = np.nan
    p = write_trc(tmp_path / "os.trc", d)
    table = opensim.TimeSeriesTableVec3(str(p))
    assert table.getNumRows() == 6 and list(table.getColumnLabels()) == d.names
    assert table.getTableMetaDataAsString("Units") == "m"
    row = table.getRowAtIndex(3)
    np.testing.assert_allclose(row[0].to_numpy(), d.positions[3, 0], atol=1e-7)
    assert np.isnan(row[4].to_numpy()).all()
    md = opensim.MarkerData(str(p))
    assert md.getNumFrames() == 6 and md.getUnits().getAbbreviation() == "m"
    # mm files too
    p2 = write_trc(tmp_path / "os_mm.trc", d, units="mm")
    t2 = opensim.TimeSeriesTableVec3(str(p2))
    np.testing.assert_allclose(t2.getRowAtIndex(0)[1].to_numpy(), d.positions[0, 1] * 1000, atol=1e-4)
