"""Shared test fixtures.

Tests build their inputs at test time (tiny sizes). The golden OpenSim data lives beside the
project in ../shared/golden and is read in place, never copied.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pipeline.tasks  # noqa: F401  - odah's luigi config, before any test imports luigi itself

REPO = Path(__file__).resolve().parent.parent
# One anny cache for every test (about 790 MB, built once, ~50 s).
os.environ.setdefault("ANNY_CACHE_DIR", str(REPO / ".cache" / "anny"))


def _golden_dir() -> Path:
    env = os.environ.get("ODAH_GOLDEN")
    return Path(env) if env else REPO.parent / "shared" / "golden"


@pytest.fixture(scope="session")
def golden() -> Path:
    """The folder of golden OpenSim cases (gait2354/, hamner/); fails loudly when absent."""
    path = _golden_dir()
    if not (path / "gait2354").is_dir():
        pytest.fail(f"golden OpenSim data not found at {path} (set ODAH_GOLDEN to its folder)")
    return path


@pytest.fixture
def one_torch_thread():
    """Many small batched ops: one torch thread avoids OpenMP stalls on a busy 2-core machine."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def standin_folder(tmp_path_factory):
    """A folder with stand-in SMPL-X / SMPL-H / SMPL files (neutral, male, female), built once per run.

    They are procedural bodies with the keys and shapes smplx loads; NEVER ship one.
    """
    from tests.body.standin_smpl import write_standin

    folder = tmp_path_factory.mktemp("standin_models")
    for mt in ("smplx", "smplh", "smpl"):
        for gender in ("neutral", "male", "female"):
            write_standin(folder, mt, gender)
    return folder
