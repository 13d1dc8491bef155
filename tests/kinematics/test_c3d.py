"""C3D reading through ezc3d: units, residuals, labels, renaming. Files are written at test time."""

from __future__ import annotations

import ezc3d
import numpy as np
import pytest

from pipeline.errors import MotionIOError
from pipeline.kinematics.c3d import read_c3d



def _write_c3d(path, labels, xyz_mm, rate=100.0, units="mm", residuals=None, angles=None):
    """xyz_mm: (T, N, 3) in ``units``."""
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [rate]
    c["parameters"]["POINT"]["LABELS"]["value"] = tuple(labels)
    t, n, _ = xyz_mm.shape
    pts = np.ones((4, n, t))
    pts[:3] = xyz_mm.transpose(2, 1, 0)
    c["data"]["points"] = pts
    if residuals is not None:
        c["data"]["meta_points"] = {"residuals": residuals[None].transpose(0, 2, 1),
                                    "camera_masks": np.zeros((7, n, t), dtype=bool)}
    if units:
        c.add_parameter("POINT", "UNITS", units)
    if angles:
        c.add_parameter("POINT", "ANGLES", tuple(angles))
    c.write(str(path))
    return path


def _cloud(t=6, n=3, seed=0):
    rng = np.random.default_rng(seed)
    base = np.array([[0, 100, 0], [100, 1000, 50], [-50, 1700, 0], [0, 500, 200]], float)[:n]
    return base[None] + rng.normal(scale=5, size=(t, n, 3))


def test_read_mm_labels_rate(tmp_path):
    xyz = _cloud()
    p = _write_c3d(tmp_path / "a.c3d", ["  LASI ", "RASI", "C7"], xyz)
    d = read_c3d(p)
    assert d.names == ["LASI", "RASI", "C7"]
    assert d.rate == 100.0 and d.n_frames == 6
    np.testing.assert_allclose(d.positions, xyz / 1000.0, atol=1e-6)  # C3D stores float32
    np.testing.assert_allclose(d.times, np.arange(6) / 100.0)
    assert d.meta["units"] == "mm"


def test_metre_units(tmp_path):
    xyz = _cloud() / 1000.0
    d = read_c3d(_write_c3d(tmp_path / "m.c3d", ["A", "B", "C"], xyz, units="m"))
    np.testing.assert_allclose(d.positions, xyz, atol=1e-6)


def test_negative_residual_and_nan_are_missing(tmp_path):
    xyz = _cloud()
    xyz[2, 1] = np.nan
    res = np.zeros((6, 3))
    res[4, 0] = -1.0
    d = read_c3d(_write_c3d(tmp_path / "r.c3d", ["A", "B", "C"], xyz, residuals=res))
    assert np.isnan(d.positions[2, 1]).all() and np.isnan(d.positions[4, 0]).all()
    assert d.missing.sum() == 2


def test_marker_map_and_non_marker_points(tmp_path):
    xyz = _cloud(n=4)
    p = _write_c3d(tmp_path / "m.c3d", ["LASI", "RASI", "C7", "LKneeAngles"], xyz, angles=["LKneeAngles"])
    d = read_c3d(p, marker_map={"LASI": "L.ASIS", "RASI": "R.ASIS"})
    assert d.names == ["L.ASIS", "R.ASIS", "C7"]  # angle output left out
    assert read_c3d(p, marker_map={"RASI": "R.ASIS"}, only_mapped=True).names == ["R.ASIS"]
    with pytest.raises(MotionIOError, match="labels not in the file: RTOE"):
        read_c3d(p, marker_map={"RTOE": "R.Toe"})
    with pytest.raises(MotionIOError, match="duplicate marker name"):
        read_c3d(p, marker_map={"LASI": "C7"})


def test_bad_files(tmp_path):
    with pytest.raises(MotionIOError, match="not found"):
        read_c3d(tmp_path / "absent.c3d")
    bad = tmp_path / "bad.c3d"
    bad.write_bytes(b"not a c3d file at all" * 10)
    with pytest.raises(MotionIOError, match="bad.c3d"):
        read_c3d(bad)
    p = _write_c3d(tmp_path / "u.c3d", ["A", "B", "C"], _cloud() / 1000.0, units="mm")  # metres labelled mm
    with pytest.raises(MotionIOError, match="probably in m"):
        read_c3d(p)
    np.testing.assert_allclose(read_c3d(p, units="m").positions[0, 2, 1], _cloud()[0, 2, 1] / 1000, atol=1e-6)
