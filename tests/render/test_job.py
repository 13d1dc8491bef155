"""Render job preparation: point cache, regions, materials, camera matrices (no Blender)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import axes
from pipeline.config import load_config
from pipeline.errors import ConfigError, RenderError
from pipeline.render.job import eevee_settings, prepare_clip_job
from pipeline.render.pc2 import read_pc2, write_pc2
from pipeline.scene.camera import PinholeCamera
from pipeline.scene.clothing import REGION_NAMES, load_manifest

from render_helpers import tiny_config


def test_pc2_round_trip(tmp_path):
    frames = np.random.default_rng(0).normal(size=(5, 7, 3)).astype(np.float32)
    p = write_pc2(tmp_path / "a.pc2", frames)
    assert p.read_bytes()[:12] == b"POINTCACHE2\0"
    np.testing.assert_array_equal(read_pc2(p), frames)
    with pytest.raises(RenderError, match="NaN"):
        write_pc2(tmp_path / "b.pc2", np.full((1, 2, 3), np.nan))


def test_job_carries_blender_axes_and_our_cameras(small_walker, tmp_path):
    from pipeline.scene.sampling import sample_scene

    mesh, _, _ = small_walker
    cfg = tiny_config()
    spec = sample_scene(mesh, cfg, "job_clip")
    job = prepare_clip_job(spec, mesh, load_manifest(), tmp_path, samples=2, device="auto",
                           frames_dirs={"front": "f", "side": "s"}, masks_dirs={"front": "mf", "side": "ms"})
    cache = read_pc2(job["mesh"]["pc2"])
    np.testing.assert_allclose(cache, axes.opensim_to_blender(mesh.vertices.astype(float)), atol=1e-6)
    with np.load(job["mesh"]["npz"]) as z:
        assert z["regions"].shape == (len(mesh.faces),) and z["regions"].max() < len(REGION_NAMES)
        np.testing.assert_allclose(z["rest"], cache[0])
    for v in ("front", "side"):
        np.testing.assert_allclose(job["views"][v]["matrix_world"],
                                   PinholeCamera.from_spec(spec.cameras[v]).blender_matrix_world())
        assert job["views"][v]["lens"] == 33.0 and job["views"][v]["sensor_fit"] == "HORIZONTAL"
    assert job["materials"]["skin"]["person"] and not job["room"]["floor"]["person"]
    assert set(job["materials"]) >= {"skin", "upper", "lower", "shoes"}
    lo, hi = np.array(job["room"]["min"]), np.array(job["room"]["max"])
    assert lo[2] == pytest.approx(spec.room.floor_height) and hi[2] == pytest.approx(spec.room.floor_height + spec.room.height)
    for li in job["lights"]:
        assert lo[0] < li["location"][0] < hi[0] and li["location"][2] < hi[2]


def test_job_carries_the_eevee_settings_of_the_config(small_walker, tmp_path):
    from pipeline.scene.sampling import sample_scene

    mesh, _, _ = small_walker
    cfg = tiny_config("render.shadow_resolution=1.0", "render.shadow_pool=256", "render.shadow_rays=2",
                      "render.shadow_steps=8")
    spec = sample_scene(mesh, cfg, "job_clip")
    dirs = {"front": "f", "side": "s"}
    job = prepare_clip_job(spec, mesh, load_manifest(), tmp_path / "a", samples=1, device="auto",
                           frames_dirs=dirs, masks_dirs=dirs, eevee=eevee_settings(cfg.render))
    assert job["eevee"] == {"shadow_resolution": 1.0, "shadow_pool": 256, "shadow_rays": 2, "shadow_steps": 8}
    # Without settings the job carries the config's defaults (what `odah render` uses).
    job = prepare_clip_job(spec, mesh, load_manifest(), tmp_path / "b", samples=1, device="auto",
                           frames_dirs=dirs, masks_dirs=dirs)
    assert job["eevee"] == eevee_settings(load_config().render) == eevee_settings()
    assert job["eevee"]["shadow_resolution"] == 0.5 and job["eevee"]["shadow_pool"] == 128


def test_automatic_shadow_pool_follows_resolution_and_frame_size():
    """render.shadow_pool=0 sizes the pool from the shadow resolution and the frame size; a set value wins."""
    assert eevee_settings(load_config(None, ["render.shadow_pool=0"]).render)["shadow_pool"] == 128
    full = load_config(None, ["render.shadow_resolution=1.0"]).render
    assert eevee_settings(full)["shadow_pool"] == 512  # Blender's default at 1080x720
    big = load_config(None, ["render.shadow_resolution=1.0", "render.width=1920", "render.height=1080"]).render
    assert eevee_settings(big)["shadow_pool"] == 1024
    assert eevee_settings(load_config(None, ["render.shadow_pool=32"]).render)["shadow_pool"] == 32


@pytest.mark.parametrize("override, expect", [
    ("render.shadow_pool=100", "expected one of 0, 16, 32, 64, 128, 256, 512, 1024"),
    ("render.shadow_resolution=0", "below the minimum"),
    ("render.shadow_rays=5", "above the maximum"),
    ("render.shadow_steps=0", "below the minimum"),
])
def test_bad_shadow_settings_are_config_errors(override, expect):
    with pytest.raises(ConfigError, match=f"render.shadow_.*{expect}"):
        load_config(None, [override])
