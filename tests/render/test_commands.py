"""The CLI: odah scene, odah render (direct and as Luigi tasks), odah preview."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.layout import VIEWS, Layout
from pipeline.render.encode import probe_video
from pipeline.scene.spec import load_spec

TINY = ["-s", "render.width=64", "-s", "render.height=48", "-s", "render.samples=1", "-s", "render.fps=30",
        "-s", "render.preset=ultrafast"]


def test_scene_command_prints_and_saves(tmp_path, capsys):
    out = tmp_path / "scene.json"
    assert main(["scene", "walk_02", "--out", str(out), "-s", "dataset.seed=3"]) == 0
    text = capsys.readouterr().out
    assert "clip walk_02" in text and "camera front" in text and "33 mm on 36 mm" in text
    spec = load_spec(out)
    assert spec.clip_id == "walk_02" and spec.dataset_seed == 3
    assert main(["scene", "walk_02", "--json", "-s", "dataset.seed=3"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(out.read_text())


def test_scene_command_bad_manifest(tmp_path, capsys):
    bad = tmp_path / "manifest.yaml"
    bad.write_text("version: 1\nupper: {}\n")
    assert main(["scene", "c1", "-s", f"scene.manifest={bad}"]) == 1
    assert "clip 'c1'" in capsys.readouterr().err


def test_render_requires_keypoints_with_mesh(tmp_path, capsys):
    assert main(["render", "c1", "--mesh", str(tmp_path / "m.npz"), "-s", f"paths.output_root={tmp_path}"]) == 1
    assert "--keypoints is required" in capsys.readouterr().err


@pytest.mark.slow
def test_render_mannequin_then_preview(tmp_path, capsys):
    root = tmp_path / "out"
    args = ["-s", f"paths.output_root={root}", *TINY]
    assert main(["render", "demo", "--mannequin", "--frames", "3", *args]) == 0
    clip = Layout(root).clip("demo")
    for v in VIEWS:
        info = probe_video(clip.video(v))
        assert (info["codec"], info["width"], info["height"], info["frames"]) == ("h264", 64, 48, 3)
    assert (clip.dir / "config.yaml").exists()
    # As Luigi tasks: everything is complete already, so nothing is rendered again.
    stamp = clip.render_info.stat().st_mtime_ns
    assert main(["render", "demo", "--mannequin", "--frames", "3", "--tasks", *args]) == 0
    assert clip.render_info.stat().st_mtime_ns == stamp
    assert main(["preview", "demo", "--frames", "2", "--width", "128", *args]) == 0
    with Image.open(clip.preview) as im:
        assert im.size[0] == 256 and im.size[1] > 2 * 96
        assert np.asarray(im).std() > 10


def test_render_failing_checks_write_nothing(tmp_path, capsys):
    """Inputs are checked before the first file is written: a bad scene or interpreter leaves no folder."""
    root = tmp_path / "out"
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["render", "y", "--mannequin", "--scene", str(bad), "-s", f"paths.output_root={root}"]) == 1
    assert "field 'clip_id': missing" in capsys.readouterr().err
    assert main(["render", "y", "--mannequin", "--tasks", "-s", f"paths.output_root={root}",
                 "-s", f"render.python={tmp_path / 'nope'}"]) == 1
    assert main(["render", "y", "--mannequin", "-s", f"paths.output_root={root}",
                 "-s", f"render.python={tmp_path / 'nope'}"]) == 1
    err = capsys.readouterr().err
    assert f"clip 'y': render environment not found: {tmp_path / 'nope'} does not exist " \
           f"(config render.python={tmp_path / 'nope'})" in err
    assert not root.exists()


def test_render_check_bad_interpreter_writes_nothing(tmp_path, capsys):
    out = tmp_path / "check"
    assert main(["render-check", "--out", str(out), "-s", "render.python=/bin"]) == 1
    assert "render-check: render environment not found: /bin is not an executable file (config render.python=/bin)" \
        in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("seed, message", [("-3", "-3 is out of range: must be at least 0"),
                                           ("x", "expected an integer, got 'x'")])
def test_scene_seed_must_be_a_non_negative_integer(capsys, seed, message):
    with pytest.raises(SystemExit) as exit_:
        main(["scene", "c1", "--seed", seed])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --seed: {message}" in err and "Traceback" not in err


def test_preview_of_a_folder_that_is_no_clip(tmp_path, capsys):
    folder = tmp_path / "m"
    folder.mkdir()
    assert main(["preview", str(folder), "-s", f"paths.output_root={tmp_path / 'out'}"]) == 1
    err = capsys.readouterr().err
    assert f"{folder}: not a clip folder (no keypoints2d.npz)" in err and "clip id" not in err


def test_scene_out_is_checked_before_sampling(tmp_path, capsys):
    """A folder, or a path under a file, is one error line naming --out; nothing is printed first."""
    (tmp_path / "afile").write_text("x")
    for out, why in ((tmp_path, "the scene spec is an existing folder; give a file name"),
                     (tmp_path / "afile" / "s.json", f"cannot write the scene spec: {tmp_path / 'afile'} is not a folder")):
        assert main(["scene", "c1", "--out", str(out)]) == 1
        printed, err = capsys.readouterr()
        assert printed == "" and f"{out}: {why}" in err


def test_render_mannequin_refuses_keypoints(tmp_path, capsys):
    """--keypoints belongs to --mesh; with --mannequin it would be silently ignored."""
    assert main(["render", "c1", "--mannequin", "--frames", "1", "--keypoints", str(tmp_path / "w.trc"),
                 "-s", f"paths.output_root={tmp_path / 'out'}", *TINY]) == 1  # tiny: were it rendered
    assert "--keypoints is for --mesh" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name, magic", [("p.png", b"\x89PNG"), ("p.jpg", b"\xff\xd8\xff"), ("p.JPEG", b"\xff\xd8\xff")])
def test_preview_is_written_in_the_format_its_extension_names(tmp_path, monkeypatch, name, magic):
    from pipeline.layout import ClipPaths
    from pipeline.render import preview

    monkeypatch.setattr(preview, "contact_sheet", lambda *a, **k: Image.new("RGB", (32, 24), (200, 40, 40)))
    out = preview.write_preview(ClipPaths(tmp_path / "clip"), tmp_path / name)
    assert out.read_bytes().startswith(magic)


def test_preview_refuses_other_extensions_and_a_file_as_clip(tmp_path, capsys):
    args = ["-s", f"paths.output_root={tmp_path / 'out'}"]
    assert main(["preview", "demo", "--out", str(tmp_path / "p.gif"), *args]) == 1
    assert f"{tmp_path / 'p.gif'}: a preview is written as .png, .jpg or .jpeg" in capsys.readouterr().err
    trc = tmp_path / "w.trc"
    trc.write_text("x")
    assert main(["preview", str(trc), *args]) == 1
    err = capsys.readouterr().err
    assert f"{trc}: a file, not a clip folder or clip id" in err and "not found" not in err
