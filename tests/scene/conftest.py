"""Fixtures for scene tests: a small animated mannequin."""

from __future__ import annotations

import pytest

from pipeline.scene.mannequin import mannequin


@pytest.fixture(scope="session")
def walker():
    """(mesh, keypoints, names): 12 frames of a walk at 30 fps, heading 20 degrees."""
    return mannequin(frames=12, fps=30.0, heading_deg=20.0, n_around=10, n_len=5, n_cap=2)
