"""A clip through the whole pipeline (tiny): videos, masks, labels, determinism. Blender: slow."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from pipeline.layout import VIEWS, Layout
from pipeline.render.clip import render_frames
from pipeline.render.encode import probe_video, read_frames
from pipeline.scene.camera import PinholeCamera

from render_helpers import iou, silhouette

pytestmark = pytest.mark.slow


def test_videos_are_h264_yuv420p_at_the_motion_length(rendered_clip):
    paths, mesh = rendered_clip["paths"], rendered_clip["mesh"]
    for v in VIEWS:
        for path in (paths.video(v), paths.masks(v)):
            info = probe_video(path)
            assert info["codec"] == "h264", path
            assert (info["width"], info["height"]) == (128, 96)
            assert info["pix_fmt"] == "yuv420p"
            assert info["fps"] == pytest.approx(60.0)
            assert info["frames"] == mesh.num_frames


def test_masks_match_the_projected_mesh_in_every_frame(rendered_clip):
    """Masks are the person's silhouette, frame-synchronous with the labels (frame t <-> mesh frame t)."""
    paths, mesh, spec = rendered_clip["paths"], rendered_clip["mesh"], rendered_clip["spec"]
    for v in VIEWS:
        cam = PinholeCamera.from_spec(spec.cameras[v])
        masks = read_frames(paths.masks(v), gray=True) > 127
        assert masks.shape == (mesh.num_frames, 96, 128)
        for t in range(mesh.num_frames):
            ref = silhouette(cam, mesh.vertices[t], mesh.faces)
            assert iou(masks[t], ref) > 0.85, (v, t, iou(masks[t], ref))
            if t:  # the motion moves: the previous frame's silhouette fits worse
                assert iou(masks[t], ref) > iou(masks[t], silhouette(cam, mesh.vertices[t - 1], mesh.faces))
        # The video shows the person where the mask is (it differs from the empty room around it).
        frames = read_frames(paths.video(v))
        assert frames.shape == (mesh.num_frames, 96, 128, 3) and frames.std() > 5


def test_labels_follow_the_contract(rendered_clip, kinematics_files):
    paths, spec, kp = rendered_clip["paths"], rendered_clip["spec"], rendered_clip["kp"]
    cams = json.loads(paths.cameras.read_text())
    for v in VIEWS:
        cam = PinholeCamera.from_spec(spec.cameras[v])
        np.testing.assert_allclose(cams[v]["K"], cam.K)
        np.testing.assert_allclose(cams[v]["world_to_camera"], cam.world_to_camera())
        assert cams[v]["focal_mm"] == 33.0 and cams[v]["sensor_mm"] == 36.0 and cams[v]["width"] == 128
    with np.load(paths.keypoints2d) as z:
        for v in VIEWS:
            assert z[v].shape == kp.shape[:2] + (2,) and z[f"{v}_visibility"].shape == kp.shape[:2]
            uv, _ = PinholeCamera.from_spec(spec.cameras[v]).project(kp)
            np.testing.assert_allclose(z[v], uv, atol=1e-3)
            assert set(np.unique(z[f"{v}_visibility"])) <= {0, 1, 2}
        assert list(z["names"]) == list(rendered_clip["names"])
    with np.load(paths.keypoints3d) as z:
        np.testing.assert_allclose(z["keypoints"], kp, atol=1e-6)
    assert paths.kinematics.read_bytes() == kinematics_files[0].read_bytes()
    assert paths.scales.read_bytes() == kinematics_files[1].read_bytes()
    info = json.loads(paths.render_info.read_text())
    assert info["engine"] == "BLENDER_EEVEE" and info["camera_check_px"] < 0.01
    assert json.loads(paths.scene.read_text())["seed"] == spec.seed
    leftovers = [p.name for p in paths.dir.iterdir() if p.name.startswith(".")]
    assert not leftovers


def test_render_info_reports_the_eevee_settings(rendered_clip):
    """The speed settings reached Blender: fast world probe, room not casting shadows, config shadow keys."""
    info = json.loads(rendered_clip["paths"].render_info.read_text())
    from pipeline.render.job import eevee_settings

    ee = info["eevee"]
    asked = eevee_settings(rendered_clip["cfg"].render)
    assert {k: ee[k] for k in asked} == asked and ee["shadow_pool"] == 128
    assert ee["world_probe_resolution"] == 128
    assert ee["shadow_casters"] and all(name.startswith("person_") for name in ee["shadow_casters"])
    assert "person_skin" in ee["shadow_casters"]
    assert info["shadow_pool_overflow"] is None  # the default pool holds a clip's shadows


def test_same_spec_renders_identical_frames(rendered_clip, tmp_path):
    """Determinism: re-rendering the saved scene.json gives bit-identical frames and masks."""
    from pipeline.scene.spec import load_spec

    first = rendered_clip["paths"]
    spec = load_spec(first.scene)
    again = Layout(tmp_path).clip("walk_tiny")
    render_frames(spec, rendered_clip["mesh"], rendered_clip["cfg"], again)
    for v in VIEWS:
        for a_dir, b_dir in ((first.frames_dir(v), again.frames_dir(v)), (first.mask_frames_dir(v), again.mask_frames_dir(v))):
            names = sorted(p.name for p in a_dir.glob("*.png"))
            assert names == sorted(p.name for p in b_dir.glob("*.png")) and len(names) == rendered_clip["mesh"].num_frames
            for n in names:
                a, b = np.asarray(Image.open(a_dir / n)), np.asarray(Image.open(b_dir / n))
                assert np.array_equal(a, b), (v, n)
