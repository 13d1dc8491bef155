"""The motion library: every motion loads, is smooth, stays inside the generic model's ranges,
stands on the floor, and shows the features its sources describe."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from pipeline.body import motion_library as ml
from pipeline.errors import MotionSourceError
from pipeline.kinematics import generic_model as gm
from pipeline.kinematics.mot import Motion, read_mot, write_mot

MOTIONS = ["arm_raises", "jumping_jack", "lunge", "running", "sit_to_stand", "squat", "throwing", "walking"]
NAMES = list(gm.COORDINATE_NAMES)


@pytest.fixture(scope="module")
def motions() -> dict[str, Motion]:
    return {name: ml.load_motion(name) for name in MOTIONS}


def deg(m: Motion, name: str) -> np.ndarray:
    return np.degrees(m.column(name))


def phase_of(m: Motion) -> np.ndarray:
    return (m.times / m.meta["cycle_duration"]) % 1.0


def lowest_sole(m: Motion) -> dict[str, np.ndarray]:
    """(T,) height of each foot's lowest sole point (m), torch FK."""
    soles = ml.sole_points_world(m.values)
    return {s: np.minimum(soles[f"calcn_{s}"][..., 1].min(1), soles[f"toes_{s}"][..., 1].min(1)) for s in "rl"}


# ------------------------------------------------------------------------------------ all motions
def test_library_lists_the_issue_motions():
    assert ml.list_motions() == MOTIONS


@pytest.mark.parametrize("name", MOTIONS)
def test_motion_is_complete_smooth_in_range_and_on_the_floor(name, motions):
    m = motions[name]
    spec = ml.parse_motion(ml.motion_path(name))
    assert m.names == NAMES and m.values.shape == (len(m.times), len(NAMES))
    assert np.isfinite(m.values).all()
    np.testing.assert_allclose(np.diff(m.times), 1 / 60)
    assert m.times[-1] == pytest.approx(spec.default_duration, abs=1 / 60)
    assert list(m.rotational) == [n not in gm.TRANSLATIONAL for n in NAMES]
    # Sources are cited (author, year) and the keyframes themselves lie inside the ranges.
    assert spec.sources and all(re.search(r"\((19|20)\d\d\)", s) for s in spec.sources)
    for key, kf in spec.keyframes.items():
        if key in ("lift",) or key in gm.TRANSLATIONAL:
            continue
        lo, hi = (math.degrees(v) for v in gm.coordinate_range(key))
        assert lo <= kf[:, 1].min() and kf[:, 1].max() <= hi, f"{name}: keyframes of {key}"
    # Every coordinate inside the model's ranges.
    for k, n in enumerate(NAMES):
        lo, hi = gm.coordinate_range(n)
        assert lo - 1e-9 <= m.values[:, k].min() and m.values[:, k].max() <= hi + 1e-9, (name, n)
    # Smooth: bounded angular velocity and acceleration (deg/s, deg/s^2), bounded pelvis speed.
    rot = [k for k, n in enumerate(NAMES) if n not in gm.TRANSLATIONAL]
    d = np.degrees(m.values[:, rot])
    vel = np.gradient(d, m.times, axis=0)
    acc = np.gradient(vel, m.times, axis=0)
    assert np.abs(vel).max() < 1500.0, NAMES[rot[int(np.abs(vel).max(0).argmax())]]
    assert np.abs(acc).max() < 40000.0, NAMES[rot[int(np.abs(acc).max(0).argmax())]]
    speed = np.linalg.norm(np.gradient(m.values[:, 3:6], m.times, axis=0), axis=1)
    assert speed.max() < 5.0
    # The soles never go below the floor, and the body stands on it.
    low = lowest_sole(m)
    both = np.minimum(low["r"], low["l"])
    assert both.min() > -1e-6
    assert np.mean(both < 1e-3) > 0.5


def test_fps_duration_and_one_off_hold():
    m = ml.load_motion("walking", fps=30.0, duration=2.0)
    assert m.values.shape[0] == 61 and m.times[-1] == pytest.approx(2.0)
    assert m.rate == pytest.approx(30.0)
    sts = ml.load_motion("sit_to_stand", fps=50.0, duration=3.0)
    after = sts.times > 2.0 + 1e-9  # the one-off movement lasts 2 s, then holds its last pose
    assert after.sum() == 50
    np.testing.assert_allclose(sts.values[after], sts.values[after][:1].repeat(after.sum(), 0), atol=1e-9)


def test_seeded_variation_is_deterministic_and_bounded():
    a = ml.load_motion("walking", rng=np.random.default_rng(7))
    b = ml.load_motion("walking", rng=np.random.default_rng(7))
    c = ml.load_motion("walking", rng=np.random.default_rng(8))
    base = ml.load_motion("walking")
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values[:50], c.values[:50])
    for m in (a, c):
        assert 0.9 <= m.meta["speed_factor"] <= 1.1 and 0.9 <= m.meta["amplitude_factor"] <= 1.1
        assert m.meta["cycle_duration"] == pytest.approx(1.10 / m.meta["speed_factor"])
        assert m.meta["forward_speed"] == pytest.approx(1.30 * m.meta["speed_factor"])
        # amplitude scales the knee's excursion about its mean
        ratio = np.ptp(deg(m, "knee_angle_r")) / np.ptp(deg(base, "knee_angle_r"))
        assert ratio == pytest.approx(m.meta["amplitude_factor"], rel=0.03)
    assert base.meta["speed_factor"] == 1.0 and base.meta["amplitude_factor"] == 1.0
    with pytest.raises(MotionSourceError, match="numpy.random.Generator"):
        ml.load_motion("walking", rng=7)


def test_library_motion_round_trips_through_a_mot_file(tmp_path, motions):
    m = motions["squat"]
    path = tmp_path / "squat.mot"
    write_mot(path, m, model=gm.GENERIC_MODEL_PATH)
    back = read_mot(path, model=gm.GENERIC_MODEL_PATH)
    assert back.names == m.names
    np.testing.assert_allclose(back.values, m.values, atol=1e-6)


# ------------------------------------------------------------------------------------ features
def test_walking_features(motions):
    m = motions["walking"]
    ph = phase_of(m)
    knee = deg(m, "knee_angle_r")
    assert 60.0 <= knee[(ph > 0.6) & (ph < 0.85)].max() <= 70.0  # swing peak
    assert 15.0 <= knee[(ph > 0.05) & (ph < 0.25)].max() <= 20.0  # loading response
    hip = deg(m, "hip_flexion_r")
    assert 35.0 <= np.ptp(hip) <= 50.0  # about 40 deg of hip flexion/extension
    ankle = deg(m, "ankle_angle_r")
    assert ankle.min() < -12.0 and ankle.max() > 8.0  # push-off plantarflexion, stance dorsiflexion
    # The left leg repeats the right half a stride later.
    half = int(round(0.5 * m.meta["cycle_duration"] * 60))
    np.testing.assert_allclose(deg(m, "knee_angle_l")[half:half + 30], knee[:30], atol=0.5)
    # The pelvis moves forward at the stated speed, with a few cm of vertical excursion.
    slope = np.polyfit(m.times, m.column("pelvis_tx"), 1)[0]
    assert slope == pytest.approx(1.30, abs=0.01)
    # Stance: the right foot stays on the floor from loading response to heel rise; swing: the
    # foot rises (heel strike at phase 0, toe off near 0.6).
    low = lowest_sole(m)["r"]
    assert low[(ph > 0.05) & (ph < 0.45)].max() < 0.005
    assert low[(ph > 0.65) & (ph < 0.75)].min() > 0.01
    assert 0.01 < np.ptp(m.column("pelvis_ty")) < 0.06


def test_walking_stance_foot_is_on_the_floor_through_opensim(motions):
    """Independent of our torch FK: OpenSim places the soles of one stride."""
    from pipeline.kinematics.opensim_tools import import_opensim

    import_opensim()  # no opensim.log in the working directory
    from pipeline.kinematics.opensim_fk import opensim_fk

    m = motions["walking"]
    stride = m.values[: int(round(m.meta["cycle_duration"] * 60)) + 1: 2]
    ref = opensim_fk(gm.GENERIC_MODEL_PATH, stride)
    low = []
    for body, pts in gm.foot_contact_points().items():
        b = ref.body_names.index(body)
        world = np.einsum("tij,pj->tpi", ref.body_rotations[:, b], pts) + ref.body_origins[:, b, None]
        low.append(world[..., 1].min(1))
    low = np.min(low, axis=0)
    assert low.min() > -0.001  # never meaningfully below the ground
    assert low.max() < 0.002  # and in every frame a foot is on it


def test_running_features(motions):
    m = motions["running"]
    knee = deg(m, "knee_angle_r")
    assert knee.max() > 90.0  # swing
    ph = phase_of(m)
    assert 35.0 <= knee[ph < 0.3].max() <= 50.0  # stance flexion
    assert np.polyfit(m.times, m.column("pelvis_tx"), 1)[0] == pytest.approx(3.2, abs=0.02)
    low = lowest_sole(m)
    assert np.minimum(low["r"], low["l"]).max() > 0.01  # float phases: both feet off the ground
    assert 0.05 < np.ptp(m.column("pelvis_ty")) < 0.10  # vertical excursion of running


def _planted(m: Motion, bodies=("calcn_r", "calcn_l")) -> float:
    """Largest horizontal drift (m) of the given bodies' origins."""
    o = ml.body_origins_world(m.values, list(bodies))
    return float(max(np.ptp(o[:, :, 0], axis=0).max(), np.ptp(o[:, :, 2], axis=0).max()))


def test_squat_features(motions):
    m = motions["squat"]
    assert deg(m, "knee_angle_r").max() > 100.0 and deg(m, "knee_angle_l").max() > 100.0
    assert deg(m, "hip_flexion_r").max() > 90.0
    assert 25.0 < deg(m, "ankle_angle_r").max() <= 35.0
    assert m.column("pelvis_ty").min() < 0.65  # the hips go down to about knee height
    assert _planted(m) < 0.002  # feet do not slide
    # Balance: the whole-body centre of mass stays over the feet (heel .. toe tip).
    import torch

    sk = ml._skeleton()
    with torch.no_grad():
        out = sk(torch.as_tensor(m.values))
    mass = np.array([b.mass for b in sk.model.bodies])
    com = (out.body_coms.numpy() * mass[None, :, None]).sum(1) / mass.sum()
    soles = ml.sole_points_world(m.values)
    heel, toe = soles["calcn_r"][:, 0, 0], soles["toes_r"][:, 0, 0]
    assert np.all(com[:, 0] > heel) and np.all(com[:, 0] < toe)


def test_sit_to_stand_features(motions):
    m = motions["sit_to_stand"]
    knee, hip = deg(m, "knee_angle_r"), deg(m, "hip_flexion_r")
    assert knee[0] >= 90.0 and hip[0] >= 80.0  # seated
    assert knee[-1] < 10.0 and hip[-1] < 15.0  # standing
    assert hip.max() > hip[0] + 15.0 and 0.2 < m.times[hip.argmax()] / m.times[-1] < 0.6  # flexion momentum
    assert np.all(np.diff(knee) <= 1e-9)  # the knees only extend
    assert _planted(m) < 0.002


def test_jumping_jack_features(motions):
    m = motions["jumping_jack"]
    for s in "rl":
        assert -deg(m, f"arm_add_{s}").min() > 120.0  # shoulder abduction
        assert -deg(m, f"hip_adduction_{s}").min() > 10.0  # legs apart
    low = lowest_sole(m)
    assert np.minimum(low["r"], low["l"]).max() > 0.03  # hops
    o = ml.body_origins_world(m.values, ["calcn_r", "calcn_l"]).mean(1)
    assert np.ptp(o[:, 0]) < 0.002 and np.ptp(o[:, 2]) < 0.002  # jumps in place


def test_lunge_features(motions):
    m = motions["lunge"]
    assert deg(m, "knee_angle_r").max() >= 80.0 and deg(m, "hip_flexion_r").max() >= 80.0  # front
    assert deg(m, "knee_angle_l").max() >= 80.0  # back knee
    assert deg(m, "hip_flexion_l").min() < -15.0  # back hip extended at the top
    low = lowest_sole(m)
    assert low["r"].max() < 0.01 and low["l"].max() < 0.01  # both feet stay on the floor
    soles = ml.sole_points_world(m.values)
    assert soles["calcn_l"][:, 0, 1].min() > 0.08  # back heel raised
    # The back-leg keyframes were solved offline for a fixed back forefoot: a few mm of residual.
    assert _planted(m, ("calcn_r", "toes_l")) < 0.01


def test_arm_raises_features(motions):
    m = motions["arm_raises"]
    for s in "rl":
        assert deg(m, f"arm_flex_{s}").max() > 150.0
        assert -deg(m, f"arm_add_{s}").min() > 150.0
    assert _planted(m) < 0.002


def test_throwing_features(motions):
    m = motions["throwing"]
    assert deg(m, "arm_rot_r").min() < -90.0  # external rotation in arm cocking
    elbow = deg(m, "elbow_flex_r")
    i_max_er = int(deg(m, "arm_rot_r").argmin())
    assert elbow[i_max_er] > 80.0 and elbow[i_max_er:].min() < 35.0  # elbow extends to release
    assert np.ptp(deg(m, "pelvis_rotation")) > 40.0 and np.ptp(deg(m, "lumbar_rotation")) > 30.0
    # Both feet keep their pose exactly while the pelvis turns above them.
    import torch

    sk = ml._skeleton()
    with torch.no_grad():
        out = sk(torch.as_tensor(m.values))
    origins, rotations = out.body_origins.numpy(), out.body_rotations.numpy()
    for s in "rl":
        b = sk.body_names.index(f"calcn_{s}")
        assert np.abs(origins[:, b] - origins[:1, b]).max() < 1e-4
        assert np.abs(rotations[:, b] - rotations[:1, b]).max() < 1e-3


# ------------------------------------------------------------------------------------ bad input
def _write(tmp_path, text: str):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return p


GOOD = """
name: t
kind: cyclic
cycle_duration: 1.0
sources: ["Someone (2000) A paper."]
keyframes:
  knee_angle: [[0.0, 5], [0.5, 40]]
"""


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace("kind: cyclic", "kind: loop"), "kind"),
    (lambda t: t.replace("cycle_duration: 1.0", "cycle_duration: -1"), "cycle_duration"),
    (lambda t: t.replace('sources: ["Someone (2000) A paper."]', "sources: []"), "sources"),
    (lambda t: t.replace("knee_angle:", "elbow_angle:"), "keyframes.elbow_angle"),
    (lambda t: t.replace("[[0.0, 5], [0.5, 40]]", "[[0.0, 5], [0.5, 40], [0.4, 3]]"), "keyframes.knee_angle"),
    (lambda t: t.replace("[[0.0, 5], [0.5, 40]]", "[[0.0, 5], [0.5, 40], [1.0, 7]]"), "keyframes.knee_angle"),
    (lambda t: t.replace("[[0.0, 5], [0.5, 40]]", "[[0.0, 5], [0.5, .nan]]"), "keyframes.knee_angle"),
    (lambda t: t.replace("name: t\n", ""), "name"),
    (lambda t: t + "derive: {knee_angle: foot_flat}\n", "derive.knee_angle"),
])
def test_bad_motion_files_name_the_file_and_field(tmp_path, edit, field):
    path = _write(tmp_path, edit(GOOD))
    with pytest.raises(MotionSourceError) as e:
        ml.load_motion(str(path))
    assert str(path) in str(e.value) and field in str(e.value)


def test_good_custom_file_loads_and_unknown_names_fail(tmp_path):
    m = ml.load_motion(str(_write(tmp_path, GOOD)), fps=20.0)
    assert m.values.shape == (21, len(NAMES))
    assert deg(m, "knee_angle_r").max() == pytest.approx(40.0, abs=1.0)
    with pytest.raises(MotionSourceError, match="unknown motion 'moonwalk'"):
        ml.load_motion("moonwalk")
    with pytest.raises(MotionSourceError, match="not valid YAML"):
        ml.load_motion(str(_write(tmp_path, "name: [unclosed")))
