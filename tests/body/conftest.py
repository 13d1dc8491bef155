"""Fixtures of the body tests: one Anny model per session (stand-in SMPL-family files: tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def anny_body():
    """The Anny body model (float64, CPU); loads from the shared anny cache."""
    from pipeline.body.models.anny_model import AnnyBody

    return AnnyBody()

