"""odah dataset on the command line: settings checked before any work, one error line per failed unit."""

from __future__ import annotations

import pytest

from pipeline.cli import main


@pytest.mark.parametrize("flags", [["--plan"], []])
def test_unknown_library_motion_fails_before_any_work(tmp_path, capsys, flags):
    root = tmp_path / "ds"
    assert main(["dataset", *flags, "--out", str(root), "-s", "dataset.motions=[library:nosuch]"]) == 2
    out, err = capsys.readouterr()
    assert "config key 'dataset.motions': 'library:nosuch': no such library motion" in err
    assert out == "" and not root.exists()


@pytest.mark.parametrize("command", [["config"], ["dataset", "--plan"]])
def test_minimum_above_maximum_is_rejected(capsys, command):
    assert main([*command, "-s", "scene.lights_min=10", "-s", "scene.lights_max=2"]) == 2
    assert "config key 'scene.lights_min': 10 is above scene.lights_max (2)" in capsys.readouterr().err


@pytest.mark.parametrize("verbose", [False, True])
def test_a_failed_unit_is_one_line_without_verbose(tmp_path, capsys, verbose):
    bad = tmp_path / "lab" / "bad.trc"
    bad.parent.mkdir()
    bad.write_text("not a trc\n")
    root = tmp_path / "ds"
    assert main(["dataset", "--out", str(root), "-s", f"dataset.motions=[{bad}]", *(["-v"] if verbose else [])]) == 1
    err = capsys.readouterr().err
    assert f"MotionTask of subject lab motion bad failed: {bad}: not a TRC file" in err
    assert ("Traceback" in err) == verbose
    assert "Traceback" in (root / "failures.jsonl").read_text()


def test_manifest_only_needs_a_dataset_and_reports_failures(tmp_path, capsys):
    root = tmp_path / "nonexist_ds"
    assert main(["dataset", "--manifest-only", "--out", str(root)]) == 1
    assert f"{root}: no dataset here (no config.yaml)" in capsys.readouterr().err
    assert not root.exists()
    root.mkdir()
    assert main(["config", "--out", str(root / "config.yaml")]) == 0
    assert main(["dataset", "--manifest-only", "--out", str(root)]) == 1  # nothing rendered: every clip failed
    assert "'failed': 4" in capsys.readouterr().out and (root / "manifest.json").is_file()


def test_plan_counts_read_as_english(capsys):
    assert main(["dataset", "--plan", "-s", "dataset.subjects=1", "-s", "dataset.motions=[library:walking]"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 clip, 1 subject"
