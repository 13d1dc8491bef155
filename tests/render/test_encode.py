"""Frames -> H264 through ffmpeg-python and imageio-ffmpeg's binary; PyAV probing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pipeline.errors import EncodeError
from pipeline.layout import VIEWS, Layout
from pipeline.render.clip import encode_clip
from pipeline.render.encode import canonical_frames, encode_video, probe_video, read_frames

from render_helpers import tiny_config


def _frames(folder, n, size=(64, 48), gray=False, name="{:04d}.png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        a = np.zeros((size[1], size[0]) + (() if gray else (3,)), np.uint8)
        a[:, : 8 * i] = 255  # a bar growing frame by frame
        Image.fromarray(a).save(folder / name.format(i))


def test_encode_h264_yuv420p(tmp_path):
    _frames(tmp_path / "f", 5)
    out = encode_video(tmp_path / "f", tmp_path / "v.mp4", 60.0, 5, crf=18, preset="veryfast")
    info = probe_video(out)
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"], info["frames"]) == (64, 48, 5)
    assert info["fps"] == pytest.approx(60.0)
    frames = read_frames(out)
    assert frames.shape == (5, 48, 64, 3)
    assert abs(int(frames[2, 10, 20, 0]) - 255) < 20 and frames[2, 10, 40, 0] < 20  # frame order kept


def test_masks_encode_from_grey(tmp_path):
    _frames(tmp_path / "m", 3, gray=True, name="mask{:04d}.png")
    out = encode_video(tmp_path / "m", tmp_path / "m.mp4", 29.97, 3, crf=12, preset="veryfast")
    assert probe_video(out)["fps"] == pytest.approx(29.97, abs=1e-3)
    g = read_frames(out, gray=True)
    assert g.shape == (3, 48, 64) and ((g > 127) == (np.arange(64) < 8 * np.arange(1, 4)[:, None])[:, None, :]).mean() > 0.97


def test_missing_frame_and_odd_size_are_errors(tmp_path):
    _frames(tmp_path / "a", 4)
    (tmp_path / "a" / "0003.png").unlink()
    with pytest.raises(EncodeError, match="1 of 4 frames missing .first: frame 3"):
        encode_video(tmp_path / "a", tmp_path / "a.mp4", 60, 4)
    _frames(tmp_path / "b", 2, size=(63, 48))
    with pytest.raises(EncodeError, match="needs even width and height"):
        encode_video(tmp_path / "b", tmp_path / "b.mp4", 60, 2)
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*"))


def test_canonical_names(tmp_path):
    _frames(tmp_path / "c", 3, name="mask{:04d}.png")
    canonical_frames(tmp_path / "c", 3)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["000001.png", "000002.png", "000003.png"]


def test_encode_clip_all_or_nothing(tmp_path):
    paths = Layout(tmp_path).clip("c")
    for v in VIEWS:
        _frames(paths.frames_dir(v), 3)
        _frames(paths.mask_frames_dir(v), 3, gray=True)
    result = {"views": {v: {"seconds": 1.0} for v in VIEWS}, "engine": "BLENDER_EEVEE", "frames": 3, "fps": 60.0}
    paths.frames_result.write_text(json.dumps(result))
    (paths.mask_frames_dir("side") / "0002.png").unlink()  # the last video cannot be made
    cfg = tiny_config("render.preset=ultrafast")
    with pytest.raises(EncodeError, match="masks_side"):
        encode_clip(paths, cfg, "c")
    assert not [p for p in paths.dir.iterdir() if p.suffix == ".mp4" or p.name.startswith(".")]
    _frames(paths.mask_frames_dir("side"), 3, gray=True)
    info = encode_clip(paths, cfg, "c")
    assert all(paths.video(v).exists() and paths.masks(v).exists() for v in VIEWS)
    assert not paths.frames_root.exists()  # scratch frames removed (render.keep_frames is false)
    assert info["engine"] == "BLENDER_EEVEE" and json.loads(paths.render_info.read_text())["fps"] == 60.0


def test_encode_clip_reads_the_frame_rate_from_the_render_result(tmp_path):
    paths = Layout(tmp_path).clip("c")
    paths.frames_root.mkdir(parents=True)
    paths.frames_result.write_text(json.dumps({"frames": 3}))  # written before render_result.json held fps
    with pytest.raises(EncodeError, match=r"clip 'c': .*render_result.json has no 'fps'.*render the frames again"):
        encode_clip(paths, tiny_config(), "c")
