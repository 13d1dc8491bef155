"""Dataset planning and splits (no rendering; the end-to-end run is tests/tasks/test_dataset_build.py)."""

import json

import pytest

from pipeline.config import load_config
from pipeline.dataset import assign_splits, motion_id, plan_units
from pipeline.errors import ConfigError


def cfg(*over):
    return load_config(None, ["motion.fps=30", "render.fps=30", *over])


def test_sampled_subjects_cross_library_motions_and_share_one_scaling():
    units = plan_units(cfg("dataset.subjects=3", "dataset.motions=[library:walking, library:squat, anny:walk]"))
    assert [u.clip_id for u in units][:3] == ["s000-walking", "s000-squat", "s000-anny_walk"]
    assert len(units) == 9 and len({u.clip_id for u in units}) == 9
    for u in units:  # every clip of a subject is scaled from the subject's first motion
        assert (u.scale_motion, u.scale_source) == ("walking", "library:walking")


def test_file_sources_form_one_subject_per_folder(tmp_path):
    for sub, name in [("SubjA", "walk.mot"), ("SubjA", "run.mot"), ("SubjB", "walk.trc")]:
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / name).write_text("x")
    a1, a2, b = (str(tmp_path / "SubjA/walk.mot"), str(tmp_path / "SubjA/run.mot"), str(tmp_path / "SubjB/walk.trc"))
    units = plan_units(cfg("dataset.subjects=1", f"dataset.motions=[{a1}, {b}]"))
    # .mot sources are performed by the sampled subjects; marker files bring their own subject
    assert [(u.subject, u.motion) for u in units] == [("s000", "walk"), ("SubjB", "walk")]
    units = plan_units(cfg("dataset.subjects=2", f"dataset.motions=[{a1}, {a2}]"))
    assert {u.subject for u in units} == {"s000", "s001"} and len(units) == 4
    assert motion_id("library:sit_to_stand") == "sit_to_stand" and motion_id("anny:walk") == "anny_walk"


def test_planning_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"motion\.fps.*render\.fps"):
        plan_units(load_config(None, ["motion.fps=60", "render.fps=30"]))
    with pytest.raises(ConfigError, match=r"dataset\.motions.*not found"):
        plan_units(cfg(f"dataset.motions=[{tmp_path / 'nope.npz'}]"))
    with pytest.raises(ConfigError, match=r"dataset\.motions.*unknown kind"):
        plan_units(cfg("dataset.motions=[walk.xyz]"))
    with pytest.raises(ConfigError, match=r"dataset\.motions.*both named 'walking'"):
        plan_units(cfg("dataset.motions=[library:walking, library:walking]"))
    with pytest.raises(ConfigError, match=r"dataset\.subjects"):
        plan_units(cfg("dataset.subjects=0"))


def test_splits_are_by_subject_seeded_and_keep_a_training_subject():
    subjects = [f"s{i:03d}" for i in range(40)]
    a = assign_splits(subjects, [0.75, 0.125, 0.125], seed=1)
    assert a == assign_splits(list(reversed(subjects)), [0.75, 0.125, 0.125], seed=1)
    assert a != assign_splits(subjects, [0.75, 0.125, 0.125], seed=2)
    counts = {s: list(a.values()).count(s) for s in ("train", "val", "test")}
    assert counts == {"train": 30, "val": 5, "test": 5}
    assert assign_splits(["a"], [0.0, 0.5, 0.5], seed=0) == {"a": "train"}
    two = assign_splits(["a", "b"], [0.5, 0.0, 0.5], seed=0)
    assert sorted(two.values()) == ["test", "train"]
    with pytest.raises(ConfigError, match="dataset.splits"):
        assign_splits(subjects, [1.0, 0.0], seed=0)


def test_plan_rejects_an_unknown_library_motion():
    with pytest.raises(ConfigError, match=r"config key 'dataset.motions': 'library:nosuch': no such library motion "
                                          r"\(library: .*walking"):
        plan_units(load_config(None, ["dataset.motions=[library:walking, library:nosuch]"]))


def test_manifest_only_plans_from_the_datasets_own_config(tmp_path, capsys):
    """--manifest-only describes ROOT as ROOT/config.yaml built it, not the command line's defaults."""
    from pipeline.cli import main

    root = tmp_path / "ds"
    one = ["-s", "dataset.subjects=1", "-s", "dataset.motions=[library:walking]"]
    assert main(["config", *one, "--out", str(root / "config.yaml")]) == 0
    capsys.readouterr()
    assert main(["dataset", "--manifest-only", "--out", str(root)]) == 1  # nothing rendered: its one clip failed
    assert "{'clips': 1, 'ok': 0, 'failed': 1}" in capsys.readouterr().out
    manifest = json.loads((root / "manifest.json").read_text())
    assert [c["clip_id"] for c in manifest["clips"]] == ["s000-walking"]
    for flags in (one, ["-c", "demo"]):
        assert main(["dataset", "--manifest-only", "--out", str(root), *flags]) == 2
        assert f"--manifest-only describes the dataset as {root / 'config.yaml'} built it" in capsys.readouterr().err


def test_a_run_into_a_dataset_built_with_other_settings_is_refused_before_any_work(tmp_path, capsys):
    """Finished clips are skipped on a re-run: other output settings would mix two datasets."""
    from pipeline.cli import main
    from pipeline.config import save_config
    from pipeline.dataset import EXECUTION_KEYS, check_same_config

    root = tmp_path / "ds"
    built = ["-s", "render.width=64", "-s", "dataset.subjects=1", "-s", "dataset.motions=[library:walking]"]
    assert main(["config", *built, "--out", str(root / "config.yaml")]) == 0
    stored = (root / "config.yaml").read_text()
    capsys.readouterr()
    assert main(["dataset", "--out", str(root), *built, "-s", "render.width=80", "-s", "dataset.seed=3"]) == 2
    err = capsys.readouterr().err
    assert "render.width: 64 -> 80; dataset.seed: 0 -> 3" in err
    assert "Build into a new --out, or use the same settings" in err and f"-c {root / 'config.yaml'}" in err
    assert sorted(p.name for p in root.iterdir()) == ["config.yaml"]  # nothing started, nothing rewritten
    assert (root / "config.yaml").read_text() == stored
    # execution-only keys may differ; so may a new folder (no config.yaml yet)
    cfg = load_config(None, [*built[1::2], "dataset.workers=4", "dataset.scheduler=http://h:8082",
                             "render.device=cpu", "render.timeout=60", "paths.output_root=elsewhere"])
    check_same_config(cfg, root)
    check_same_config(load_config(), tmp_path / "new")
    assert {"dataset.workers", "dataset.scheduler"} <= EXECUTION_KEYS
    save_config(load_config(), root / "config.yaml")
    with pytest.raises(ConfigError, match="dataset.subjects: 2 -> 1"):
        check_same_config(cfg, root)
