"""The camera model: Blender's sensor fit, look-at extrinsics, Blender-axes variants."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import axes
from pipeline.errors import SceneError
from pipeline.scene.camera import (
    PinholeCamera, blender_projection_to_pixels, focal_pixels, intrinsics, look_at_rotation,
)
from pipeline.scene.spec import CameraSpec


def test_focal_pixels_follow_sensor_fit():
    # 33 mm on a 36 mm sensor, horizontal fit at 1080 px wide: 990 px.
    assert focal_pixels(33, 36, "HORIZONTAL", 1080, 720) == pytest.approx(990.0)
    assert focal_pixels(33, 36, "VERTICAL", 1080, 720) == pytest.approx(660.0)
    assert focal_pixels(33, 36, "AUTO", 720, 1080) == pytest.approx(990.0)
    K = intrinsics(33, 36, "HORIZONTAL", 1080, 720)
    assert K[0, 2] == 539.5 and K[1, 2] == 359.5 and K[0, 0] == K[1, 1]
    with pytest.raises(SceneError):
        focal_pixels(33, 36, "DIAGONAL", 10, 10)


def test_look_at_puts_target_at_principal_point_and_up_is_up():
    cam = PinholeCamera.from_spec(CameraSpec("front", [4.0, 1.1, 0.3], [0.0, 0.9, 0.0], width=1080, height=720))
    uv, z = cam.project(np.array([[0.0, 0.9, 0.0], [0.0, 1.9, 0.0], [0.0, 0.9, 1.0]]))
    np.testing.assert_allclose(uv[0], [539.5, 359.5], atol=1e-9)
    assert uv[1, 1] < uv[0, 1]  # higher in the world -> smaller image y
    # Camera at +X looking at -X: world +Z (the subject's right) is on the image's left.
    assert uv[2, 0] < uv[0, 0]
    assert z[0] == pytest.approx(np.linalg.norm([4.0, 0.2, 0.3]))
    R = cam.R
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)


def test_roll_turns_image():
    R0 = look_at_rotation([3, 1, 0], [0, 1, 0])
    R1 = look_at_rotation([3, 1, 0], [0, 1, 0], roll_deg=90)
    np.testing.assert_allclose(R1[2], R0[2])
    np.testing.assert_allclose(R1[0], R0[1], atol=1e-12)


def test_blender_variants_agree_with_opensim_projection():
    rng = np.random.default_rng(0)
    cam = PinholeCamera.from_spec(CameraSpec("side", [0.5, 1.2, 3.5], [0.2, 0.8, 0.0], width=270, height=180))
    pts = rng.normal(size=(20, 3)) * 0.5 + [0.2, 0.9, 0.0]
    uv, _ = cam.project(pts)
    pts_bl = axes.opensim_to_blender(pts)
    # world_to_camera_blender applied to Blender-axes points gives the same camera coordinates.
    w2c = cam.world_to_camera_blender()
    pc = pts_bl @ w2c[:3, :3].T + w2c[:3, 3]
    np.testing.assert_allclose(pc, cam.to_camera(pts), atol=1e-12)
    # Blender's own OpenGL-style projection of a camera with matrix_world gives our pixels.
    f = cam.K[0, 0]
    near, far = 0.05, 100.0
    proj = np.array([
        [2 * f / cam.width, 0, 0, 0],
        [0, 2 * f / cam.height, 0, 0],
        [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
        [0, 0, -1, 0],
    ])
    uv_bl = blender_projection_to_pixels(proj, cam.blender_matrix_world(), pts_bl, cam.width, cam.height)
    np.testing.assert_allclose(uv_bl, uv, atol=1e-9)
    # The Blender camera looks down its local -Z.
    m = cam.blender_matrix_world()
    fwd_bl = -m[:3, 2]
    np.testing.assert_allclose(axes.blender_to_opensim(fwd_bl), cam.R[2], atol=1e-12)


def test_in_image_bounds():
    cam = PinholeCamera.from_spec(CameraSpec("front", [4.0, 1.0, 0.0], [0.0, 1.0, 0.0], width=64, height=48))
    uv = np.array([[-0.5, 0], [63.5, 47.5], [63.6, 10], [10, -0.6]])
    assert cam.in_image(uv, np.ones(4)).tolist() == [True, True, False, False]
    assert not cam.in_image(uv[:1], -np.ones(1))[0]
