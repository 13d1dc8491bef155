"""Projection truth: emissive spheres rendered at known 3D points land where the labels say.

Renders at 1080x720 (1 sample) so errors are measured directly at full scale; the spheres move
between frames, so frame t of the render must match frame t of the labels.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from pipeline.layout import VIEWS, Layout
from pipeline.render.clip import render_frames
from pipeline.scene.labels import project_view
from pipeline.scene.camera import PinholeCamera
from pipeline.scene.sampling import sample_scene

from render_helpers import tiny_config

pytestmark = pytest.mark.slow


def _points(mesh, frames: int) -> np.ndarray:
    """(T, K, 3): a spread of points around the body's volume, moving 5 cm per frame."""
    lo = mesh.vertices.min(axis=(0, 1))
    hi = mesh.vertices.max(axis=(0, 1))
    c = (lo + hi) / 2
    base = np.array([[0.0, 0.0, 0.0], [0.3, 0.6, 0.2], [-0.3, -0.6, 0.25], [0.25, -0.3, -0.3],
                     [-0.2, 0.55, -0.25], [0.0, 0.85, 0.0], [0.0, -0.85, 0.1]])
    pts = c + base * [1.0, 1.0, 1.0]
    return np.stack([pts + [0.05 * t, 0.03 * t, -0.04 * t] for t in range(frames)])


def test_rendered_spheres_match_labelled_keypoints(small_walker, tmp_path):
    mesh, _, _ = small_walker
    mesh = dataclasses.replace(mesh, vertices=mesh.vertices[:2])  # two frames are enough
    cfg = tiny_config("render.width=1080", "render.height=720", "render.samples=1", "render.keep_frames=true")
    spec = sample_scene(mesh, cfg, "spheres")
    pts = _points(mesh, mesh.num_frames)
    paths = Layout(tmp_path).clip("spheres")
    render_frames(spec, mesh, cfg, paths, debug={"spheres": pts, "sphere_radius": 0.02,
                                                 "hide_person": True, "hide_room": True})
    worst = 0.0
    for v in VIEWS:
        labels = project_view(PinholeCamera.from_spec(spec.cameras[v]), pts, None)
        assert (labels["visibility"] == 2).all()
        for t in range(mesh.num_frames):
            img = np.asarray(Image.open(paths.frames_dir(v) / f"{t + 1:06d}.png").convert("L"), float)
            blobs, n = ndimage.label(img > 40)
            assert n == pts.shape[1], f"{v} frame {t}: found {n} spheres, expected {pts.shape[1]}"
            centroids = np.array(ndimage.center_of_mass(img, blobs, range(1, n + 1)))[:, ::-1]  # (x, y)
            for k, xy in enumerate(labels["xy"][t]):
                d = np.linalg.norm(centroids - xy, axis=1)
                worst = max(worst, float(d.min()))
                assert d.min() < 1.0, f"{v} frame {t} point {k}: {d.min():.3f} px from its label"
    print(f"projection truth: worst sphere-centroid error {worst:.3f} px at 1080x720")
