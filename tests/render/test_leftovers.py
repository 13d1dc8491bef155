"""What an interrupted render or encode left in a clip folder goes at the next render of that clip."""

from __future__ import annotations

import shutil

import pytest

from pipeline.errors import RenderError
from pipeline.layout import VIEWS, Layout
from pipeline.render.clip import encode_clip, render_frames
from pipeline.scene.sampling import sample_scene

from render_helpers import tiny_config


def _seed(folder, names: list[str]) -> None:
    """Create ``names`` in ``folder``: folders for the scratch and frames temporaries, else files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.startswith((".render.", ".frames.")) and name.endswith(".tmp"):
            (folder / name / "job").mkdir(parents=True)
            (folder / name / "job" / "mesh.pc2").write_bytes(b"x" * 1000)
        else:
            (folder / name).write_text("x")


def test_render_removes_a_killed_render_s_temporaries(small_walker, tmp_path):
    mesh = small_walker[0]
    cfg = tiny_config("render.python=/bin/false")  # the render itself fails at once
    paths = Layout(tmp_path).clip("c1")
    stale = [".render.k2j3.tmp", ".frames.a8f1.tmp", ".scene.blend.zz.tmp.blend"]
    kept = [".video_front.mp4.q1.tmp.mp4", "notes.tmp", ".renderer.tmp", "render.log"]  # not the render's
    _seed(paths.dir, stale + kept)
    with pytest.raises(RenderError, match="exit code 1"):
        render_frames(sample_scene(mesh, cfg, "c1"), mesh, cfg, paths)
    left = sorted(p.name for p in paths.dir.iterdir())
    assert not set(stale) & set(left), left
    assert set(kept) - {"render.log"} <= set(left)


def test_encode_removes_a_killed_encode_s_temporaries(rendered_clip, tmp_path):
    paths = Layout(tmp_path).clip("walk_tiny")
    shutil.copytree(rendered_clip["paths"].frames_root, paths.frames_root)
    stale = [f".video_{v}.mp4.x{i}.tmp.mp4" for i, v in enumerate(VIEWS)] + [".masks_side.mp4.y.tmp.mp4",
                                                                             ".render_info.json.z.tmp"]
    kept = [".cameras.json.w.tmp"]  # the labels task's, which may be writing now
    _seed(paths.dir, stale + kept)
    encode_clip(paths, rendered_clip["cfg"], "walk_tiny")
    left = {p.name for p in paths.dir.iterdir()}
    assert not set(stale) & left and set(kept) <= left
    assert all(paths.video(v).exists() and paths.masks(v).exists() for v in VIEWS)
