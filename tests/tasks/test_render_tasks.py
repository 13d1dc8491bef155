"""Luigi tasks per clip: scene -> frames -> videos, labels; complete only when all outputs exist."""

from __future__ import annotations

import json

import luigi
import numpy as np
import pytest

from pipeline.config import load_config, save_config
from pipeline.layout import VIEWS, Layout
from pipeline.scene.mannequin import mannequin
from pipeline.tasks.render import ClipTask, EncodeTask, LabelsTask, RenderFramesTask
from pipeline.tasks.scene import SceneTask


@pytest.fixture()
def clip_params(tmp_path):
    mesh, kp, names = mannequin(frames=2, fps=30.0, n_around=8, n_len=4, n_cap=1)
    mesh.save(tmp_path / "mesh.npz")
    np.savez(tmp_path / "kp.npz", keypoints=kp, names=np.array(names))
    from pipeline.kinematics.mot import Motion, write_mot

    write_mot(tmp_path / "ik.mot", Motion(names=["knee_angle_r"], values=np.zeros((2, 1)), times=np.arange(2) / 30.0))
    (tmp_path / "scales.json").write_text("{}\n")
    cfg = load_config(None, ["render.width=64", "render.height=48", "render.samples=1", "render.fps=30",
                             "render.preset=ultrafast"])
    save_config(cfg, tmp_path / "cfg.yaml")  # the tasks take the resolved config as YAML text
    return dict(root=str(tmp_path / "out"), clip_id="t1", mesh=str(tmp_path / "mesh.npz"),
                keypoints=str(tmp_path / "kp.npz"), kinematics=str(tmp_path / "ik.mot"),
                scales=str(tmp_path / "scales.json"), config=(tmp_path / "cfg.yaml").read_text())


def test_scene_task_and_failure_record(clip_params, tmp_path):
    assert luigi.build([SceneTask(**clip_params)], local_scheduler=True, log_level="WARNING")
    spec = json.loads(Layout(clip_params["root"]).clip("t1").scene.read_text())
    assert spec["clip_id"] == "t1"
    bad = dict(clip_params, clip_id="t2", keypoints=str(tmp_path / "kp.npz"))
    (tmp_path / "broken.npz").write_bytes(b"nope")
    bad["mesh"] = str(tmp_path / "broken.npz")
    assert not luigi.build([SceneTask(**bad)], local_scheduler=True, log_level="CRITICAL")
    lines = [json.loads(x) for x in Layout(clip_params["root"]).failures.read_text().splitlines()]
    assert lines[-1]["clip"] == "t2" and "broken.npz: not a mesh sequence .npz" in lines[-1]["error"]
    assert not Layout(clip_params["root"]).clip("t2").scene.exists()


def test_config_is_parsed_once_per_task(clip_params):
    task = SceneTask(**clip_params)
    assert task.cfg.render.width == 64 and task.cfg is task.cfg
    assert SceneTask(**clip_params).cfg is task.cfg  # luigi hands out one instance per parameter set
    assert task.clone(EncodeTask).param_kwargs == EncodeTask(**clip_params).param_kwargs


@pytest.mark.slow
def test_clip_task_makes_the_whole_clip(clip_params):
    task = ClipTask(**clip_params)
    assert not task.complete()
    assert luigi.build([task], local_scheduler=True, log_level="WARNING")
    p = Layout(clip_params["root"]).clip("t1")
    for f in (*(p.video(v) for v in VIEWS), *(p.masks(v) for v in VIEWS), p.render_info, p.cameras,
              p.keypoints2d, p.keypoints3d, p.kinematics, p.scales, p.scene):
        assert f.exists(), f
    assert not p.frames_root.exists()  # scratch frames removed after encoding
    assert RenderFramesTask(**clip_params).complete() and EncodeTask(**clip_params).complete()
    assert LabelsTask(**clip_params).complete() and task.complete()
    # A missing output makes the unit incomplete again, and only that part is redone.
    stamp = p.render_info.stat().st_mtime_ns
    p.keypoints2d.unlink()
    assert not task.complete()
    assert luigi.build([task], local_scheduler=True, log_level="WARNING")
    assert p.keypoints2d.exists() and p.render_info.stat().st_mtime_ns == stamp
