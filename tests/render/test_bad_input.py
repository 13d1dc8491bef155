"""Bad input: clear errors naming the clip, and no partial videos left behind."""

from __future__ import annotations

import dataclasses
import stat

import numpy as np
import pytest

from pipeline.errors import RenderError, SceneError
from pipeline.layout import VIEWS, Layout
from pipeline.render.clip import render_clip
from pipeline.scene.sampling import sample_scene

from render_helpers import tiny_config


def _no_outputs(paths) -> None:
    for v in VIEWS:
        assert not paths.video(v).exists() and not paths.masks(v).exists()
    assert not paths.frames_root.exists()
    if paths.dir.exists():
        assert not [p.name for p in paths.dir.iterdir() if p.name.startswith(".")], "temporary files left"


@pytest.fixture()
def clip_inputs(small_walker):
    mesh, kp, names = small_walker
    cfg = tiny_config()
    return mesh, kp, names, cfg, sample_scene(mesh, cfg, "bad_clip")


def _fails_leaving_nothing(root, error, match, spec, mesh, kp, names, cfg) -> str:
    """``render_clip`` raises ``error`` (its message matching ``match``) and leaves no outputs; the message."""
    paths = Layout(root).clip("bad_clip")
    with pytest.raises(error, match=match) as err:
        render_clip(spec, mesh, kp, names, cfg, paths)
    _no_outputs(paths)
    return str(err.value)


def test_nan_mesh_names_the_clip(clip_inputs, tmp_path):
    mesh, kp, names, cfg, spec = clip_inputs
    v = mesh.vertices.copy()
    v[2, 5, 1] = np.nan
    bad = dataclasses.replace(mesh, vertices=v)
    _fails_leaving_nothing(tmp_path, RenderError,
                           r"clip 'bad_clip': .*'vertices' has NaN/inf values \(first at frame 2\)",
                           spec, bad, kp, names, cfg)


def test_nan_keypoints_name_the_clip(clip_inputs, tmp_path):
    mesh, kp, names, cfg, spec = clip_inputs
    kp = kp.copy()
    kp[1, 0, 0] = np.inf
    _fails_leaving_nothing(tmp_path, SceneError, r"clip 'bad_clip' keypoints: .*NaN/inf .*frame 1",
                           spec, mesh, kp, names, cfg)


def test_fps_mismatch_and_odd_size(clip_inputs, tmp_path):
    mesh, kp, names, _, spec = clip_inputs
    _fails_leaving_nothing(tmp_path, RenderError,
                           r"clip 'bad_clip': the mesh sequence runs at 60 fps but render.fps is 30",
                           spec, mesh, kp, names, tiny_config("render.fps=30"))
    odd = tiny_config("render.width=127")
    _fails_leaving_nothing(tmp_path, RenderError, "needs even width and height",
                           sample_scene(mesh, odd, "bad_clip"), mesh, kp, names, odd)


def test_missing_render_environment(clip_inputs, tmp_path):
    mesh, kp, names, _, spec = clip_inputs
    cfg = tiny_config(f"render.python={tmp_path / 'no-such-venv' / 'bin' / 'python'}")
    _fails_leaving_nothing(tmp_path, RenderError, r"clip 'bad_clip': render environment not found",
                           spec, mesh, kp, names, cfg)


def test_crashing_render_environment(clip_inputs, tmp_path):
    """The child renders some frames, then dies: its partial frames are discarded."""
    mesh, kp, names, _, spec = clip_inputs
    exe = tmp_path / "crashing-python"
    exe.write_text("#!/bin/sh\n"
                   "echo 'ODAH_PROGRESS {\"view\": \"front\", \"done\": 1, \"total\": 8}'\n"
                   "echo 'Error: EXCEPTION_ACCESS_VIOLATION in eevee' >&2\nexit 139\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    msg = _fails_leaving_nothing(tmp_path, RenderError, "clip 'bad_clip'", spec, mesh, kp, names,
                                 tiny_config(f"render.python={exe}"))
    assert "exit code 139" in msg and "EXCEPTION_ACCESS_VIOLATION" in msg
    assert Layout(tmp_path).clip("bad_clip").render_log.exists()


@pytest.mark.slow
def test_bpy_side_failure_is_reported(clip_inputs, tmp_path):
    """A real bpy process failing mid-build (texture image vanished) -> RenderError with its traceback."""
    import shutil

    from pipeline.scene.clothing import DEFAULT_MANIFEST, load_manifest
    from pipeline.scene.spec import MaterialSpec

    mesh, kp, names, cfg, spec = clip_inputs
    assets = tmp_path / "assets"
    shutil.copytree(DEFAULT_MANIFEST.parent, assets, ignore=shutil.ignore_patterns("*.py"))
    manifest = load_manifest(assets / "manifest.yaml")
    upper = dataclasses.replace(spec.clothing.upper, type="vest", material=MaterialSpec(
        "print_dots", "image", [[0.2, 0.2, 0.2], [0.9, 0.9, 0.9]], image="textures/dots.png"))
    spec = dataclasses.replace(spec, clothing=dataclasses.replace(spec.clothing, upper=upper))
    (assets / "textures" / "dots.png").write_bytes(b"not a png")  # exists, but bpy cannot load it
    paths = Layout(tmp_path / "out").clip("bad_clip")
    with pytest.raises(RenderError) as err:
        from pipeline.render.clip import render_frames

        render_frames(spec, mesh, cfg, paths, manifest=manifest)
    msg = str(err.value)
    assert "clip 'bad_clip'" in msg and "exit code 3" in msg and "dots.png cannot be read" in msg
    _no_outputs(paths)
