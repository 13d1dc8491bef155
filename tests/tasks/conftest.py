"""Fixtures of the stage-1 task tests (stand-in SMPL-family models come from tests/body)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def standin_folder(tmp_path_factory):
    """Stand-in SMPL-X / SMPL-H model files built now (procedural bodies; NEVER ship one)."""
    from tests.body.standin_smpl import write_standin

    folder = tmp_path_factory.mktemp("standin_models")
    for mt in ("smplx", "smplh"):
        for gender in ("neutral", "male", "female"):
            write_standin(folder, mt, gender)
    return folder
