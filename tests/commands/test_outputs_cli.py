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
    """A folder holding a model, markers, a motion and a file (never to be written)."""
    import shutil

    g = golden / "gait2354"
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(GENERIC_MODEL_PATH, d / "m.osim")
    shutil.copy(g / "subject01_static.trc", d / "static.trc")
    shutil.copy(g / "OutputReference/subject01_walk1_ik.mot", d / "walk.mot")
    (d / "file.txt").write_text("x")
    return d


def _bad_outputs(d, suffix):
    """(path, what the message says) for ``suffix`` outputs that cannot be written."""
    (d / f"folder{suffix}").mkdir(exist_ok=True)
    bad = [(d / "file.txt" / "sub" / f"a{suffix}", "is not a folder"), (d / f"folder{suffix}", "existing folder")]
    if os.geteuid() != 0:
        locked = d / "locked"
        locked.mkdir(mode=0o500, exist_ok=True)
        bad.append((locked / f"a{suffix}", "cannot write"))
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
    runs = [
        ("--out", ".mot", ["ik", "--model", d / "m.osim", "--markers", d / "static.trc", "--out"]),
        ("--report", ".json", ["ik", "--model", d / "m.osim", "--markers", d / "static.trc", "--out", d / "o.mot",
                               "--report"]),
        ("--out", ".npz", ["fk", "--model", d / "m.osim", "--motion", d / "walk.mot", "--out"]),
        ("--out", ".osim", ["scale", "--model", d / "m.osim", "--static", d / "static.trc", "--out"]),
        ("--scales-out", ".json", ["scale", "--model", d / "m.osim", "--static", d / "static.trc",
                                   "--out", d / "new" / "s.osim", "--scales-out"]),
        ("--static", ".trc", ["markers", "library:walking", "--out", d / "w.trc", "--static"]),
        ("--reference", ".mot", ["markers", "library:walking", "--out", d / "w.trc", "--reference"]),
    ]
    for flag, suffix, argv in runs:
        for bad, says in _bad_outputs(d, suffix):
            before = _files(d)
            rc, err = _run(capsys, *argv, bad)
            assert rc == 1, argv
            assert "Traceback" not in err and says in err and flag in err, (argv, err)
            assert _files(d) == before, argv  # nothing written, no folder made


def test_outputs_have_their_file_type_and_never_overwrite_an_input(inputs, capsys):
    d = inputs
    ik = ["ik", "--model", d / "m.osim", "--markers", d / "static.trc"]
    scale = ["scale", "--model", d / "m.osim", "--static", d / "static.trc"]
    fk = ["fk", "--model", d / "m.osim", "--motion", d / "walk.mot"]
    cases = [
        ([*ik, "--out", d / "static.trc"], "--out " + str(d / "static.trc") + ": expected a .mot or .sto file"),
        ([*ik, "--out", d / "a.txt"], "expected a .mot or .sto file"),
        ([*ik, "--out", d / "walk.mot", "--markers", d / "walk.mot"], "the same file as --markers"),
        ([*ik, "--out", d / "a.mot", "--report", d / "a.mot"], "--report " + str(d / "a.mot") + ": expected a .json"),
        ([*scale, "--out", d / "m.osim"], "the same file as --model"),
        ([*scale, "--out", d / "s.trc"], "expected a .osim file"),
        ([*scale, "--out", d / "s.osim", "--scales-out", d / "s.osim"], "expected a .json file"),
        ([*scale, "--out", d / "s.osim", "--scales-out", d / "s.json", "--setup", d / "s.json"],
         "the same file as --setup"),
        ([*fk, "--out", d / "k.trc"], "expected a .npz file"),
        ([*fk, "--out", d / "k.npz", "--scales", d / "k.npz"], "the same file as --scales"),
        (["markers", "library:walking", "--out", d / "w.mot"], "expected a .trc file"),
        (["markers", d / "static.trc", "--out", d / "static.trc"], "the same file as source"),
        (["markers", "library:walking", "--out", d / "w.trc", "--static", d / "w.trc"], "the same file as --out"),
        (["markers", "library:walking", "--out", d / "w.trc", "--static", d / "s.trc", "--reference", d / "s_pose.mot"],
         "the same file as --static-pose"),  # the static pose's default place
        (["markers", "library:walking", "--out", d / "w.trc", "--static-pose", d / "p.mot"], "give --static"),
        ([*scale, "--out", d / "s.osim", "--static-pose", d / "p.mot"], "--static-pose and --trial go together"),
    ]
    before = {p: p.read_bytes() for p in d.iterdir() if p.is_file()}
    for argv, says in cases:
        rc, err = _run(capsys, *argv)
        assert rc == 1 and says in err, (argv, err)
    assert {p: p.read_bytes() for p in d.iterdir() if p.is_file()} == before


def test_outputs_appear_together_or_not_at_all(tmp_path):
    from pipeline.io_utils import atomic_outputs

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
    assert _files(tmp_path) == ["s.trc", "s_pose.mot", "w.trc"]  # the static trial's pose beside it
    assert out.read_text().splitlines()[0].endswith("\tw.trc")  # not the temporary's name
    assert static.read_text().splitlines()[0].endswith("\ts.trc") and read_trc(static).n_frames >= 1

