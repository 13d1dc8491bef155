"""Flags that stand for config keys are validated as the keys are (``-s KEY=VALUE``): the
message names the flag, the key and the range, and nothing runs."""

from __future__ import annotations

import pytest

from pipeline.cli import main


@pytest.mark.parametrize("argv, says", [
    (["markers", "library:walking", "--noise", "5"], "--noise 5.0: config key 'markers.noise': 5.0 m is above the maximum 0.1 m"),
    (["markers", "library:walking", "--noise", "-0.01"], "'markers.noise': -0.01 m is below the minimum 0.0 m"),
    (["markers", "library:walking", "--fps", "0"], "--fps 0.0: config key 'motion.fps': 0.0 Hz is below the minimum 1.0 Hz"),
    (["markers", "library:walking", "--seconds", "-1"], "--seconds -1.0: config key 'motion.max_seconds'"),
    (["scale", "--model", "generic", "--static", "s.trc", "--frames", "0"], "--frames 0: config key 'kinematics.scale.frames'"),
    (["scale", "--model", "generic", "--static", "s.trc", "--frames", "1000000"], "above the maximum 100000"),
    (["scale", "--model", "generic", "--static", "s.trc", "--mass", "1000"],
     "--mass 1000.0: config key 'kinematics.scale.mass': 1000.0 kg is above the maximum 500.0 kg"),
])
def test_flag_out_of_range_names_flag_key_and_range(tmp_path, capsys, argv, says):
    out = tmp_path / ("o.trc" if argv[0] == "markers" else "o.osim")
    assert main([*argv, "--out", str(out)]) == 2  # a configuration error
    err = capsys.readouterr().err
    assert says in err, err
    assert "walking.yaml" not in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("batch", ["0", "-5", "x"])
def test_fk_batch_must_be_positive(tmp_path, capsys, batch):
    with pytest.raises(SystemExit) as info:
        main(["fk", "--motion", "m.mot", "--out", str(tmp_path / "k.npz"), "--batch", batch])
    assert info.value.code == 2 and "--batch" in capsys.readouterr().err


@pytest.mark.parametrize("argv, says", [
    (["--height", "178"], "--height 178.0: expected metres, 0.3 to 3.0 (e.g. 1.78); 178 looks like centimetres"),
    (["--height", "3.2"], "--height 3.2: expected metres, 0.3 to 3.0"),
    (["--height", "0.1"], "--height 0.1: expected metres, 0.3 to 3.0"),
    (["-s", "kinematics.scale.height=0.2"], "kinematics.scale.height 0.2: expected metres, 0.3 to 3.0"),
    (["-s", "kinematics.scale.height=178"], "'kinematics.scale.height': 178.0 m is above the maximum 3.0 m"),
])
def test_scale_height_out_of_range(tmp_path, capsys, argv, says):
    rc = main(["scale", "--model", "generic", "--static", "s.trc", "--out", str(tmp_path / "o.osim"), *argv])
    assert rc in (1, 2) and says in capsys.readouterr().err


@pytest.mark.parametrize("height", ["0.3", "3.0"])
def test_scale_height_boundaries_are_accepted(tmp_path, capsys, monkeypatch, height, golden):
    import pipeline.commands.scale as scale

    seen = {}
    monkeypatch.setattr(scale, "_torch_scale", lambda *a, **k: seen.update(k) or {"scales": {}})
    for argv in (["--height", height], ["-s", f"kinematics.scale.height={height}"]):
        assert main(["scale", "--model", "generic", "--static", str(golden / "gait2354/subject01_static.trc"),
                     "--out", str(tmp_path / "o.osim"), *argv]) == 0, capsys.readouterr().err
        assert seen.pop("height") == float(height)


def test_scale_fits_marker_offsets_unless_told_not_to(tmp_path, capsys, monkeypatch, golden):
    import pipeline.commands.scale as scale

    seen = {}
    monkeypatch.setattr(scale, "_torch_scale", lambda *a, **k: seen.update(k) or {"scales": {}})
    trial = str(golden / "gait2354/subject01_static.trc")
    for argv, fit in ([], True), (["--no-fit-marker-offsets"], False), (["--fit-marker-offsets"], True), \
            (["-s", "kinematics.scale.fit_marker_offsets=false"], False):
        assert main(["scale", "--model", "generic", "--static", trial, "--out", str(tmp_path / "o.osim"), *argv]) == 0, \
            capsys.readouterr().err
        assert seen.pop("fit_offsets") is fit, argv
