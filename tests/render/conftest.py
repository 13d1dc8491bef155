"""Fixtures for render tests: tiny configs, a mannequin clip rendered once per session."""

from __future__ import annotations

import pytest

from pipeline.layout import Layout
from pipeline.scene.mannequin import mannequin
from pipeline.scene.sampling import sample_scene
from render_helpers import tiny_config

@pytest.fixture(scope="session")
def small_walker():
    """(mesh, keypoints, names): 4 frames at 60 fps of a coarse walking mannequin."""
    return mannequin(frames=4, fps=60.0, heading_deg=15.0, speed=3.0, n_around=12, n_len=6, n_cap=2)


@pytest.fixture(scope="session")
def kinematics_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("kin")
    mot = d / "ik.mot"
    mot.write_text("ik\nversion=1\nnRows=4\nnColumns=2\ninDegrees=yes\nendheader\ntime\tknee_angle_r\n"
                   + "".join(f"{i / 60:.6f}\t{i * 2.0:.3f}\n" for i in range(4)))
    scales = d / "scales.json"
    scales.write_text('{"femur_r": [1.0, 1.02, 1.0]}\n')
    return mot, scales


@pytest.fixture(scope="session")
def rendered_clip(tmp_path_factory, small_walker, kinematics_files):
    """One clip rendered through the whole pipeline (frames kept for the determinism test)."""
    from pipeline.render.clip import render_clip

    mesh, kp, names = small_walker
    cfg = tiny_config("render.keep_frames=true")
    spec = sample_scene(mesh, cfg, "walk_tiny")
    paths = Layout(tmp_path_factory.mktemp("out")).clip("walk_tiny")
    info = render_clip(spec, mesh, kp, names, cfg, paths, kinematics=kinematics_files[0], scales=kinematics_files[1])
    return {"spec": spec, "paths": paths, "info": info, "cfg": cfg, "mesh": mesh, "kp": kp, "names": names}
