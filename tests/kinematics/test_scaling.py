"""Torch scaling on synthetic data: the generic model with known per-body scale factors and poses,
1 cm marker noise -> the scale factors the markers determine within 3 %, marker RMSE < 1.5 cm."""


import dataclasses
import re

import numpy as np
import pytest
import torch
from osim_zoo import moving_pose, random_q, write_zoo

from pipeline.errors import KinematicsError
from pipeline.kinematics.fk import Skeleton
from pipeline.kinematics.osim import load_marker_set, load_osim
from pipeline.kinematics.scaling import default_groups, model_height, scale_torch
from pipeline.kinematics.trc import read_trc

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# the bodies issue 3 names: pelvis, thighs, shanks, feet, torso, upper arms, forearms
LISTED = ["pelvis", "femur_r", "femur_l", "tibia_r", "tibia_l", "calcn_r", "calcn_l", "torso",
          "humerus_r", "humerus_l", "radius_r", "radius_l"]


def synthetic_trial(model, seed, T=60, noise=0.01, marker_shift=0.0):
    """Known scales (per group, per axis: a random overall size, +-8 % per body, +-5 % per
    axis), a moving pose, isotropic Gaussian marker noise of ``noise`` metres RMS (3D)."""
    rng = np.random.default_rng(seed)
    groups = default_groups(model)
    base = rng.uniform(0.9, 1.1)
    per_group = {g: base * rng.uniform(0.92, 1.08) * rng.uniform(0.95, 1.05, 3) for g in sorted(set(groups.values()))}
    S = np.stack([per_group[groups[b]] for b in model.body_names])
    q = moving_pose(model, T, rng, ramp="pelvis_tx")
    sk = Skeleton(model)
    loc = sk.marker_locations + torch.tensor(rng.normal(0, marker_shift / np.sqrt(3), sk.marker_locations.shape))
    mk = sk(torch.tensor(q), torch.tensor(S), loc).markers.numpy()
    mk = mk + rng.normal(0, noise / np.sqrt(3), mk.shape)
    return mk, S, base, loc.numpy()


def test_recovers_known_scales_with_1cm_noise(generic):
    mk, S, base, _ = synthetic_trial(generic, seed=0)
    # the markers sit exactly where the model has them: no offsets, so the markers pin the factors
    res = scale_torch(generic, mk, generic.marker_names, mass=70.0, height=1.75 * base, frames=20,
                      fit_marker_offsets=False, progress=False)
    assert set(res.scales) == set(generic.body_names) and res.q.shape == (20, len(generic.coordinates))
    assert np.nanmean(res.marker_rmse) < 0.015
    for b in LISTED:
        err = np.abs(res.scales[b] / S[generic.body_names.index(b)] - 1)
        det = res.scale_std[res.groups[b]] < 0.01  # the markers pin these factors to 1 %
        assert det.any(), f"{b}: no scale factor determined by the markers"
        assert np.all(err[det] < 0.03), (b, err, res.scale_std[res.groups[b]])
        assert np.all(err < 0.12), (b, err)  # the rest follow the priors, within reason
    # the length of the long bones and the torso, the foot's length, are among the determined ones
    for b, axis in [("femur_r", 1), ("tibia_l", 1), ("humerus_r", 1), ("radius_l", 1), ("torso", 1), ("calcn_r", 0)]:
        assert res.scale_std[res.groups[b]][axis] < 0.01, b
    # tied bodies share their group's factors
    assert np.array_equal(res.scales["patella_r"], res.scales["femur_r"])
    assert np.array_equal(res.scales["hand_l"], res.scales["radius_l"])


def test_marker_offsets_absorb_misplaced_markers(generic):
    mk, S, base, loc = synthetic_trial(generic, seed=1, noise=0.002, marker_shift=0.015)
    plain = scale_torch(generic, mk, generic.marker_names, frames=12, fit_marker_offsets=False, progress=False)
    fitted = scale_torch(generic, mk, generic.marker_names, frames=12, fit_marker_offsets=True, progress=False)
    assert set(fitted.marker_offsets) == set(generic.marker_names) and plain.marker_offsets is None
    assert np.nanmean(fitted.marker_rmse) < 0.6 * np.nanmean(plain.marker_rmse)
    assert np.nanmean(fitted.marker_rmse) < 0.005


def test_default_fit_survives_markers_placed_2cm_off_the_model(generic):
    """Real markers never sit where a generic model has them. Without offsets the factors absorb
    the misplacement (up to 60 % wrong on this trial); the default fit keeps every body sane."""
    mk, S, base, _ = synthetic_trial(generic, seed=0, marker_shift=0.02)
    res = scale_torch(generic, mk, generic.marker_names, mass=70.0, height=1.75 * base, frames=20, progress=False)
    assert res.marker_offsets is not None and not res.at_limit
    assert np.nanmean(res.marker_rmse) < 0.015
    worst = max(np.abs(res.scales[b] / S[generic.body_names.index(b)] - 1).max() for b in LISTED)
    assert worst < 0.2, worst
    plain = scale_torch(generic, mk, generic.marker_names, mass=70.0, height=1.75 * base, frames=20,
                        fit_marker_offsets=False, progress=False)
    assert max(np.abs(plain.scales[b] / S[generic.body_names.index(b)] - 1).max() for b in LISTED) > 2 * worst


def test_real_lab_markers_scale_sanely_and_an_absurd_fit_is_flagged(golden, caplog):
    """Hamner's static trial on its generic model: the cluster markers sit elsewhere on the
    subject than on the model. Without offsets the femur factor runs to its limit and says so."""
    h = golden / "hamner"
    model = load_osim(h / "FullBodyModel_Hamner2010_v2_0.osim")
    tr = read_trc(h / "subject02_static.trc")
    res = scale_torch(model, tr.positions, tr.names, mass=65.9, height=1.83, frames=10, progress=False)
    assert not res.at_limit and np.nanmean(res.marker_rmse) < 0.01
    assert all(0.8 < v < 1.5 for b in ("pelvis", "femur_r", "tibia_l", "humerus_r") for v in res.scales[b]), res.scales
    with caplog.at_level("WARNING", logger="odah"):
        plain = scale_torch(model, tr.positions, tr.names, mass=65.9, height=1.83, frames=10,
                            fit_marker_offsets=False, progress=False)
    assert plain.at_limit and "reached their limits" in caplog.text and "fit_marker_offsets" in caplog.text


def test_static_trial_of_known_pose_places_the_markers(generic):
    """Markers 5 cm (RMS) off the model's: placed on a static trial of known pose inside the fit,
    the fit reaches the noise floor and the long bones' lengths come back; the offsets' prior
    toward the model's marker locations (fit_marker_offsets) cannot follow markers that far off."""
    mk, S, base, loc = synthetic_trial(generic, seed=4, noise=0.002, marker_shift=0.05)
    sk = Skeleton(generic)
    q0 = generic.default_q().copy()
    q0[3:6] = [0.3, 0.95, -0.2]  # pelvis translation: any known pose
    xs = sk(torch.tensor(q0), torch.tensor(S), torch.tensor(loc)).markers.numpy()
    xs[generic.marker_names.index("RTIB")] = np.nan  # not in the static trial: fitted with the prior
    res = scale_torch(generic, mk, generic.marker_names, frames=12, static=(xs, q0), fit_marker_offsets=True,
                      progress=False)
    prior = scale_torch(generic, mk, generic.marker_names, frames=12, fit_marker_offsets=True, progress=False)
    assert np.nanmean(res.marker_rmse) < 0.003 and np.nanmean(prior.marker_rmse) > 2 * np.nanmean(res.marker_rmse)
    for b in ("femur_r", "femur_l", "tibia_r", "tibia_l", "torso"):
        assert abs(res.scales[b][1] / S[generic.body_names.index(b)][1] - 1) < 0.03, b
    assert np.all(np.abs(res.scales["pelvis"] / S[generic.body_names.index("pelvis")] - 1) < 0.03)
    # the placed markers sit exactly on the static trial in its pose
    assert set(res.marker_offsets) == set(generic.marker_names)
    table = sk.marker_locations.clone()
    for n, v in res.marker_offsets.items():
        table[generic.marker_names.index(n)] = torch.as_tensor(v)
    S_fit = torch.tensor(np.stack([res.scales[b] for b in generic.body_names]))
    x = sk(torch.tensor(q0), S_fit, table).markers.numpy()
    ok = np.isfinite(xs).all(1)
    assert np.abs(x[ok] - xs[ok]).max() < 1e-9
    with pytest.raises(KinematicsError, match="static must be"):
        scale_torch(generic, mk, generic.marker_names, static=(xs[:3], q0))


def test_static_placement_on_offset_frames(tmp_path):
    """Markers on offset frames (of offset frames) are placed exactly too."""
    model = load_osim(write_zoo(tmp_path / "zoo.osim"))
    sk = Skeleton(model)
    assert not sk._marker_direct
    rng = np.random.default_rng(0)
    S = torch.full((len(model.body_names), 3), 1.1, dtype=torch.float64)
    loc = sk.marker_locations + torch.as_tensor(rng.normal(0, 0.02, sk.marker_locations.shape))
    mk = sk(torch.as_tensor(random_q(model, 20, rng, margin=0.1)), S, loc).markers.numpy()
    q0 = model.default_q()
    xs = sk(torch.as_tensor(q0), S, loc).markers.numpy()
    res = scale_torch(model, mk, model.marker_names, frames=8, static=(xs, q0), max_rounds=2, progress=False)
    table = sk.marker_locations.clone()
    for n, v in res.marker_offsets.items():
        table[model.marker_names.index(n)] = torch.as_tensor(v)
    S_fit = torch.tensor(np.stack([res.scales[b] for b in model.body_names]))
    assert np.abs(sk(torch.as_tensor(q0), S_fit, table).markers.numpy() - xs).max() < 1e-9


def test_default_groups(generic, golden):
    g = default_groups(generic)
    assert g["patella_l"] == "femur_l" and g["talus_r"] == g["toes_r"] == "calcn_r"
    assert g["ulna_r"] == g["radius_r"] == g["hand_r"] == "forearm_r" and g["torso"] == "torso"
    gait = load_osim(golden / "gait2354" / "gait2354_simbody.osim")
    gait = gait.with_markers(load_marker_set(golden / "gait2354" / "gait2354_Scale_MarkerSet.xml", gait))
    gg = default_groups(gait)
    assert gg["talus_l"] == "calcn_l" and gg["toes_r"] == "calcn_r" and gg["femur_r"] == "femur_r"
    assert 1.6 < model_height(generic) < 1.9


def test_bad_input(generic):
    mk, *_ = synthetic_trial(generic, seed=2, T=4)
    names = generic.marker_names
    with pytest.raises(KinematicsError, match="only 0 of the data markers"):
        scale_torch(generic, mk, [f"x{i}" for i in range(len(names))])
    with pytest.raises(KinematicsError, match="markers must be"):
        scale_torch(generic, mk[0], names)
    with pytest.raises(KinematicsError, match="height 175.0: expected metres.*175 looks like centimetres"):
        scale_torch(generic, mk, names, height=175.0)
    with pytest.raises(KinematicsError, match="mass must be"):
        scale_torch(generic, mk, names, mass=-1.0)
    with pytest.raises(KinematicsError, match="groups name bodies not in the model"):
        scale_torch(generic, mk, names, groups={"wing": "wing"})
    bad = mk.copy()
    bad[:, 2:] = np.nan
    with pytest.raises(KinematicsError, match="no frame has at least 3"):
        scale_torch(generic, bad[:, :, :], names)


def test_height_range_is_one_truth():
    """Heights from 0.3 to 3 m inclusive pass; the config's maximum is the same; a value out of
    range says which unit it looks like."""
    from pipeline.config.schema import ScaleConfig
    from pipeline.kinematics.scaling import HEIGHT_RANGE, check_height

    meta = {f.name: f.metadata for f in dataclasses.fields(ScaleConfig)}["height"]
    assert meta["max"] == HEIGHT_RANGE[1] and meta["min"] == 0.0  # 0: unknown
    for ok in (0.3, 1.78, 3.0):
        check_height(ok)
    for bad, says in ((0.29, "0.3 to 3.0"), (3.2, "0.3 to 3.0"), (178.0, "178 looks like centimetres (1.78 m)"),
                      (1780.0, "1780 looks like millimetres (1.78 m)")):
        with pytest.raises(KinematicsError, match=re.escape(says)):
            check_height(bad, "--height")
    with pytest.raises(KinematicsError) as info:
        check_height(3.2)
    assert "centimetres" not in str(info.value) and "millimetres" not in str(info.value)

