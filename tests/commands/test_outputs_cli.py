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


def test_outputs_appear_together_or_not_at_all(tmp_path):
    from pipeline.commands import atomic_outputs

    a, b = tmp_path / "a.mot", tmp_path / "sub" / "b.json"
    with pytest.raises(RuntimeError):
        with atomic_outputs(a, None, b) as (ta, none, tb):
            assert none is None
            ta.write_text("a")
            tb.write_text("b")
            raise RuntimeError("the work failed")
    assert _files(tmp_path) == ["sub"]  # the writer made b's folder; no file, no temporary
    # one rename fails (a folder appeared where a goes) after b's succeeded: b is removed again
    with pytest.raises(OSError):
        with atomic_outputs(a, b) as (ta, tb):
            ta.write_text("a")
            tb.write_text("b")
            a.mkdir()
            (a / "x").write_text("x")
    assert _files(tmp_path) == ["a.mot", "a.mot/x", "sub"]
    with atomic_outputs(tmp_path / "c.mot", b) as (tc, tb):
        tc.write_text("c")
        tb.write_text("b")
    assert (tmp_path / "c.mot").read_text() == "c" and b.read_text() == "b"


def test_markers_writes_every_output_with_its_own_name(tmp_path):
    from pipeline.kinematics.trc import read_trc

    out, static = tmp_path / "w.trc", tmp_path / "s.trc"
    assert main(["markers", "library:walking", "--out", str(out), "--static", str(static),
                 "--fps", "10", "--seconds", "0.2", "-s", "body.shape=average"]) == 0
    assert _files(tmp_path) == ["s.trc", "w.trc"]
    assert out.read_text().splitlines()[0].endswith("\tw.trc")  # not the temporary's name
    assert static.read_text().splitlines()[0].endswith("\ts.trc") and read_trc(static).n_frames >= 1

