"""Kinematics fixtures: the zoo model (every joint type and function) and the generic model, loaded."""

import pytest
from osim_zoo import write_zoo

from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
from pipeline.kinematics.osim import load_osim


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """The zoo model of osim_zoo.py."""
    return load_osim(write_zoo(tmp_path_factory.mktemp("zoo") / "zoo.osim"))


@pytest.fixture(scope="module")
def generic():
    """The shipped generic full-body model."""
    return load_osim(GENERIC_MODEL_PATH)
