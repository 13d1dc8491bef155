"""Seeded scene sampling: seeds, determinism, camera framing, ranges from the config."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.errors import SceneError
from pipeline.scene.camera import PinholeCamera
from pipeline.scene.geometry import facing, heading
from pipeline.scene.mannequin import mannequin
from pipeline.scene.sampling import clip_seed, sample_scene


def test_clip_seed_is_stable_and_distinct():
    assert clip_seed(0, "walk_01") == clip_seed(0, "walk_01")
    seeds = {clip_seed(s, c) for s in (0, 1) for c in ("walk_01", "walk_02", "run_01")}
    assert len(seeds) == 6
    assert 0 <= clip_seed(123, "x") < 2**63


def test_same_seed_same_scene_json(walker):
    mesh, _, _ = walker
    cfg = load_config(None, ["dataset.seed=7"])
    a, b = sample_scene(mesh, cfg, "c1"), sample_scene(mesh, cfg, "c1")
    assert a.to_json() == b.to_json()
    assert a.seed == clip_seed(7, "c1")
    assert sample_scene(mesh, cfg, "c2").to_json() != a.to_json()
    assert sample_scene(mesh, cfg, "c1", seed=5).to_json() != a.to_json()


@pytest.mark.parametrize("clip", ["c1", "c2", "c3", "c4", "c5"])
def test_cameras_follow_the_paper_and_frame_every_vertex(walker, clip):
    mesh, _, _ = walker
    cfg = load_config()
    spec = sample_scene(mesh, cfg, clip)
    v = mesh.vertices.reshape(-1, 3).astype(float)
    centre = v.mean(axis=0)
    fwd = facing(mesh).mean(axis=0)
    for view, cam in spec.cameras.items():
        assert cam.focal_mm == 33.0 and cam.sensor_width_mm == 36.0 and cam.sensor_fit == "HORIZONTAL"
        assert (cam.width, cam.height) == (1080, 720)
        floor = mesh.vertices[..., 1].min()
        assert spec.room.floor_height == pytest.approx(floor, abs=1e-6)
        assert 1.0 - 1e-6 <= cam.location[1] - floor <= 1.2 + 1e-6
        pc = PinholeCamera.from_spec(cam)
        uv, z = pc.project(v)
        assert pc.in_image(uv, z).all(), f"{view}: a vertex leaves the frame"
        to_cam = np.asarray(cam.location) - centre
        to_cam[1] = 0
        to_cam /= np.linalg.norm(to_cam)
        cosang = to_cam @ (fwd / np.linalg.norm(fwd))
        if view == "front":
            assert cosang > math.cos(math.radians(cfg.scene.yaw_jitter_deg + 5))
        else:
            assert abs(cosang) < math.sin(math.radians(cfg.scene.yaw_jitter_deg + 5))
    assert cfg.scene.lights_min <= len(spec.lights) <= cfg.scene.lights_max
    for light in spec.lights:
        assert light.location[1] == pytest.approx(spec.room.floor_height + spec.room.height - 0.01)
        assert 2700 <= light.temperature <= 6500 and 150 <= light.power <= 600
        assert abs(light.location[0] - spec.room.center[0]) <= spec.room.size[0] / 2
    for cam in spec.cameras.values():  # cameras are inside the room
        assert abs(cam.location[0] - spec.room.center[0]) < spec.room.size[0] / 2
        assert abs(cam.location[2] - spec.room.center[1]) < spec.room.size[1] / 2


def test_config_ranges_are_used(walker):
    mesh, _, _ = walker
    cfg = load_config(None, ["scene.camera_height=1.5", "scene.camera_height_jitter=0", "scene.focal_mm=50",
                             "scene.lights_min=3", "scene.lights_max=3", "scene.side_view=left",
                             "render.width=320", "render.height=240", "scene.yaw_jitter_deg=0"])
    spec = sample_scene(mesh, cfg, "c1")
    assert all(c.location[1] - spec.room.floor_height == pytest.approx(1.5) for c in spec.cameras.values())
    assert spec.cameras["front"].focal_mm == 50 and spec.cameras["side"].width == 320
    assert len(spec.lights) == 3 and spec.cameras["side"].perturbation["side"] == -1.0
    # Left side: the camera sits on the subject's left (OpenSim: -Z when facing +X).
    h = heading(mesh)
    left = np.array([-math.sin(h), 0, -math.cos(h)])
    to_cam = np.asarray(spec.cameras["side"].location) - mesh.vertices[0].mean(axis=0)
    assert to_cam @ left > 0


def test_long_walk_towards_the_front_camera_stays_in_frame():
    mesh, _, _ = mannequin(frames=90, fps=30, speed=1.5, heading_deg=-60, n_around=8, n_len=4, n_cap=1)
    spec = sample_scene(mesh, load_config(), "long")
    for cam in spec.cameras.values():
        pc = PinholeCamera.from_spec(cam)
        uv, z = pc.project(mesh.vertices.reshape(-1, 3))
        assert pc.in_image(uv, z).all()


def test_floor_and_heights_follow_an_unground_mesh(walker):
    """A mesh centred on the origin (not standing on y = 0) gets its floor at its lowest point."""
    import dataclasses

    mesh, _, _ = walker
    low = dataclasses.replace(mesh, vertices=mesh.vertices - np.float32([0.0, 0.9, 0.0]))
    spec = sample_scene(low, load_config(), "c1")
    assert spec.room.floor_height == pytest.approx(float(low.vertices[..., 1].min()), abs=1e-6)
    for cam in spec.cameras.values():
        assert 1.0 - 1e-6 <= cam.location[1] - spec.room.floor_height <= 1.2 + 1e-6


def test_negative_seed_is_scene_error(walker):
    with pytest.raises(SceneError, match="clip 'c1': seed -1: a clip seed is 0 or more"):
        sample_scene(walker[0], load_config(), "c1", seed=-1)
