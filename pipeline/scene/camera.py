"""The pinhole camera model, exactly as Blender renders it.

Conventions of every label we write:

- World: OpenSim axes (Y up, X forward, Z right), metres. Blender-axes variants go through
  :mod:`pipeline.axes` only.
- Camera: OpenCV axes (x right, y down, z forward); ``x_cam = R @ x_world + t``.
- Pixels: origin at the top-left image corner, x right, y down, **the centre of the top-left
  pixel is (0, 0)** (OpenCV), so the principal point of an unshifted Blender camera is
  ``((W - 1) / 2, (H - 1) / 2)``.

Intrinsics follow Blender's sensor fit: HORIZONTAL maps the sensor size onto the image width
(``fx = f_mm / sensor_mm * W``), VERTICAL onto the height, AUTO onto the larger side. Pixels are
square, there is no lens shift and no distortion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import axes
from ..errors import SceneError

#: Blender camera axes (x right, y up, z backwards) -> OpenCV camera axes (x right, y down, z forward).
BLENDER_CAM_TO_CV = np.diag([1.0, -1.0, -1.0])


def focal_pixels(focal_mm: float, sensor_mm: float, sensor_fit: str, width: int, height: int) -> float:
    """Focal length in pixels (square pixels) for Blender's sensor fit."""
    if sensor_fit == "HORIZONTAL":
        side = width
    elif sensor_fit == "VERTICAL":
        side = height
    elif sensor_fit == "AUTO":
        side = max(width, height)
    else:
        raise SceneError(f"sensor fit {sensor_fit!r}: expected HORIZONTAL, VERTICAL or AUTO")
    return focal_mm / sensor_mm * side


def intrinsics(focal_mm: float, sensor_mm: float, sensor_fit: str, width: int, height: int) -> np.ndarray:
    """``(3, 3)`` K in pixels (OpenCV pixel-centre convention, see the module docstring)."""
    f = focal_pixels(focal_mm, sensor_mm, sensor_fit, width, height)
    return np.array([[f, 0.0, width / 2.0 - 0.5], [0.0, f, height / 2.0 - 0.5], [0.0, 0.0, 1.0]])


def look_at_rotation(location, target, roll_deg: float = 0.0) -> np.ndarray:
    """``(3, 3)`` world(OpenSim) -> camera(OpenCV) rotation of a camera at ``location`` aimed at ``target``.

    The image's up is the world's up (+Y) projected into the image, turned by ``roll_deg``
    (positive: the image content turns clockwise).
    """
    loc, tgt = np.asarray(location, float), np.asarray(target, float)
    forward = tgt - loc
    n = np.linalg.norm(forward)
    if n < 1e-9:
        raise SceneError("camera: look_at equals the location")
    forward /= n
    up = np.array([0.0, 1.0, 0.0])
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-6:
        raise SceneError("camera: looking straight up or down; the image's up is undefined")
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    r = math.radians(roll_deg)
    c, s = math.cos(r), math.sin(r)
    right, down = c * right + s * down, -s * right + c * down
    return np.stack([right, down, forward])


@dataclass
class PinholeCamera:
    """A calibrated view. ``K (3, 3)`` pixels; ``R (3, 3)``, ``t (3,)`` metres: world(OpenSim) -> camera(OpenCV)."""

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int
    focal_mm: float
    sensor_mm: float
    sensor_fit: str
    name: str = ""

    @classmethod
    def from_spec(cls, cam) -> "PinholeCamera":
        """From a :class:`~pipeline.scene.spec.CameraSpec`."""
        R = look_at_rotation(cam.location, cam.look_at, cam.roll_deg)
        t = -R @ np.asarray(cam.location, float)
        K = intrinsics(cam.focal_mm, cam.sensor_width_mm, cam.sensor_fit, cam.width, cam.height)
        return cls(K, R, t, cam.width, cam.height, cam.focal_mm, cam.sensor_width_mm, cam.sensor_fit, cam.view)

    @property
    def center(self) -> np.ndarray:
        """Camera centre ``(3,)`` in OpenSim world, metres."""
        return -self.R.T @ self.t

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World(OpenSim) ``(..., 3)`` -> camera(OpenCV) ``(..., 3)`` metres."""
        return np.asarray(points, float) @ self.R.T + self.t

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project world(OpenSim) points ``(..., 3)`` -> pixels ``(..., 2)`` and depth ``(..., )`` metres.

        Depth is the camera-space z (positive in front). Points behind the camera get the
        mirrored projection; check ``depth > 0``.
        """
        pc = self.to_camera(points)
        z = pc[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = pc[..., :2] / z[..., None]
        uv = uv @ self.K[:2, :2].T + self.K[:2, 2]
        return uv, z

    def in_image(self, uv: np.ndarray, depth: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """True where a projected point lies inside the image (pixel centres -0.5 .. W-0.5) and in front."""
        lo = -0.5 + margin
        return (
            (depth > 0) & (uv[..., 0] >= lo) & (uv[..., 0] <= self.width - 0.5 - margin)
            & (uv[..., 1] >= lo) & (uv[..., 1] <= self.height - 0.5 - margin)
        )

    def world_to_camera(self) -> np.ndarray:
        """``(4, 4)`` world(OpenSim) -> camera(OpenCV)."""
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = self.R, self.t
        return m

    def world_to_camera_blender(self) -> np.ndarray:
        """``(4, 4)`` world(Blender axes) -> camera(OpenCV)."""
        m = self.world_to_camera()
        m[:3, :3] = self.R @ axes.BLENDER_TO_OPENSIM  # x_opensim = BLENDER_TO_OPENSIM @ x_blender
        return m

    def blender_matrix_world(self) -> np.ndarray:
        """``(4, 4)`` Blender camera object's ``matrix_world`` (Blender world axes, camera looks down -z)."""
        cam_to_world_cv = self.R.T  # columns: camera x (right), y (down), z (forward) in OpenSim world
        cam_to_world_bl_cam = cam_to_world_cv @ BLENDER_CAM_TO_CV  # columns: right, up, backward
        m = np.eye(4)
        m[:3, :3] = axes.OPENSIM_TO_BLENDER @ cam_to_world_bl_cam
        m[:3, 3] = axes.opensim_to_blender(self.center)
        return m

    def to_json(self) -> dict:
        """The ``cameras.json`` entry of this view."""
        sensor_h = self.sensor_mm * self.height / self.width if self.sensor_fit != "VERTICAL" else self.sensor_mm
        sensor_w = self.sensor_mm if self.sensor_fit != "VERTICAL" else self.sensor_mm * self.width / self.height
        if self.sensor_fit == "AUTO" and self.height > self.width:
            sensor_w, sensor_h = self.sensor_mm * self.width / self.height, self.sensor_mm
        return {
            "width": self.width, "height": self.height,
            "K": self.K.tolist(),
            "focal_mm": self.focal_mm, "sensor_mm": self.sensor_mm, "sensor_fit": self.sensor_fit,
            "sensor_width_mm": sensor_w, "sensor_height_mm": sensor_h,
            "focal_px": float(self.K[0, 0]),
            "world_to_camera": self.world_to_camera().tolist(),
            "world_to_camera_blender": self.world_to_camera_blender().tolist(),
            "blender_matrix_world": self.blender_matrix_world().tolist(),
            "center": self.center.tolist(),
            "distortion": [0.0, 0.0, 0.0, 0.0, 0.0],
        }


def blender_projection_to_pixels(proj: np.ndarray, matrix_world: np.ndarray, points_blender: np.ndarray,
                                 width: int, height: int) -> np.ndarray:
    """Project Blender-world points with Blender's own matrices, into our pixel convention.

    ``proj`` is ``camera.calc_matrix_camera(...)`` (OpenGL clip space), ``matrix_world`` the
    camera object's matrix. Used to check that our K/R/t is the camera Blender rendered with.
    """
    pts = np.asarray(points_blender, float)
    view = np.linalg.inv(np.asarray(matrix_world, float))
    ph = np.concatenate([pts, np.ones(pts.shape[:-1] + (1,))], axis=-1)
    clip = ph @ (np.asarray(proj, float) @ view).T
    ndc = clip[..., :2] / clip[..., 3:4]
    u = (ndc[..., 0] + 1.0) / 2.0 * width - 0.5
    v = (1.0 - ndc[..., 1]) / 2.0 * height - 0.5
    return np.stack([u, v], axis=-1)
