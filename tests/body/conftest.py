"""Fixtures of the body tests: one Anny model per session, stand-in SMPL-family model files."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def anny_body():
    """The Anny body model (float64, CPU); loads from the shared anny cache."""
    from pipeline.body.models.anny_model import AnnyBody

    return AnnyBody()


@pytest.fixture(scope="session")
def standin_folder(tmp_path_factory):
    """A folder with stand-in SMPL-X / SMPL-H / SMPL files (neutral, male, female), built now.

    They are procedural bodies with the keys and shapes smplx loads; NEVER ship one.
    """
    from tests.body.standin_smpl import write_standin

    folder = tmp_path_factory.mktemp("standin_models")
    for mt in ("smplx", "smplh", "smpl"):
        for gender in ("neutral", "male", "female"):
            write_standin(folder, mt, gender)
    return folder
