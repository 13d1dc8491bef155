"""Every output of ``odah markers / scale / ik / fk`` is checked before the work starts: a clear
one-line error naming the flag and the path, and nothing written."""

from __future__ import annotations

import os

import pytest

from pipeline.cli import main
from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _run(capsys, *argv):
    """(exit code, stderr) of ``odah argv``."""
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


@pytest.fixture
def inputs(tmp_path, golden):
    """A folder holding a model, markers, a motion, a file and a folder (never to be written)."""
    import shutil

    g = golden / "gait2354"
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(GENERIC_MODEL_PATH, d / "m.osim")
    shutil.copy(g / "subject01_static.trc", d / "static.trc")
    shutil.copy(g / "OutputReference/subject01_walk1_ik.mot", d / "walk.mot")
    (d / "file.txt").write_text("x")
    (d / "folder").mkdir()
    return d


def _bad_outputs(d):
    """(path, what the message says) for outputs that cannot be written."""
    bad = [(d / "file.txt" / "sub" / "a.x", "is not a folder"), (d / "folder", "existing folder")]
    if os.geteuid() != 0:
        locked = d / "locked"
        locked.mkdir(mode=0o500, exist_ok=True)
        bad.append((locked / "a.x", "cannot write"))
    return bad


def test_unwritable_outputs_fail_before_any_work(inputs, capsys, monkeypatch):
    import pipeline.kinematics.ik as ik
    import pipeline.kinematics.labels as labels
    import pipeline.kinematics.scaling as scaling

    def never(*a, **k):
        raise AssertionError("the work started before the outputs were checked")

    monkeypatch.setattr(ik, "solve_ik", never)
    monkeypatch.setattr(scaling, "scale_torch", never)
    monkeypatch.setattr(labels, "compute_fk", never)
    d = inputs
    before = _files(d)
    for bad, says in _bad_outputs(d):
        mot = bad.with_suffix(".mot") if bad.suffix else bad
        runs = [
            ("--out", ["ik", "--model", d / "m.osim", "--markers", d / "static.trc", "--out", mot]),
            ("--report", ["ik", "--model", d / "m.osim", "--markers", d / "static.trc", "--out", d / "o.mot",
                          "--report", bad]),
            ("--out", ["fk", "--model", d / "m.osim", "--motion", d / "walk.mot", "--out", bad]),
            ("--out", ["scale", "--model", d / "m.osim", "--static", d / "static.trc", "--out", bad]),
            ("--scales-out", ["scale", "--model", d / "m.osim", "--static", d / "static.trc",
                              "--out", d / "new" / "s.osim", "--scales-out", bad]),
            ("--static", ["markers", "library:walking", "--out", d / "w.trc", "--static", bad]),
            ("--reference", ["markers", "library:walking", "--out", d / "w.trc", "--reference", bad]),
        ]
        for flag, argv in runs:
            rc, err = _run(capsys, *argv)
            assert rc == 1, argv
            assert "Traceback" not in err and says in err and flag in err, (argv, err)
            assert _files(d) == before, argv  # nothing written, no folder made
