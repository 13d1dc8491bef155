import dataclasses
import textwrap

import pytest
import yaml

from pipeline.config import (available_presets, config_from_yaml, config_to_dict, config_to_yaml, describe_config,
                             load_config, save_config)
from pipeline.errors import ConfigError


def write(tmp_path, text):
    p = tmp_path / "preset.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_defaults_and_shipped_presets_load():
    assert {"demo", "odah"} <= set(available_presets())
    for name in available_presets():
        cfg = load_config(name)
        assert cfg.render.width >= 16
    odah = load_config("odah")
    assert (odah.render.width, odah.render.height, odah.render.fps) == (1080, 720, 60.0)


def test_preset_then_overrides(tmp_path):
    p = write(tmp_path, """
        render:
          width: 640
        dataset:
          seed: 3
    """)
    cfg = load_config(p, ["render.height=100", "kinematics.ik.backend=opensim", "motion.fps=30"])
    assert cfg.render.width == 640 and cfg.render.height == 100
    assert cfg.kinematics.ik.backend == "opensim"
    assert cfg.dataset.seed == 3
    assert cfg.motion.fps == 30.0 and isinstance(cfg.motion.fps, float)
    # untouched keys keep their defaults
    assert cfg.render.samples == load_config().render.samples


def test_unknown_key_names_the_key(tmp_path):
    p = write(tmp_path, """
        render:
          widht: 640
    """)
    with pytest.raises(ConfigError, match=r"render\.widht.*unknown key") as exc:
        load_config(p)
    assert str(p) in str(exc.value)
    with pytest.raises(ConfigError, match=r"'nosuchsection'.*unknown key"):
        load_config(None, ["nosuchsection.x=1"])


def test_wrong_type_names_the_key(tmp_path):
    p = write(tmp_path, """
        render:
          width: wide
    """)
    with pytest.raises(ConfigError, match=r"render\.width.*expected an integer"):
        load_config(p)
    with pytest.raises(ConfigError, match=r"kinematics\.scale\.fit_marker_offsets.*true or false"):
        load_config(None, ["kinematics.scale.fit_marker_offsets=3"])
    with pytest.raises(ConfigError, match=r"render'.*expected a mapping"):
        load_config(None, ["render=5"])


def test_out_of_range_names_the_key_and_bound(tmp_path):
    p = write(tmp_path, """
        render:
          crf: 99
    """)
    with pytest.raises(ConfigError, match=r"render\.crf.*above the maximum 51"):
        load_config(p)
    with pytest.raises(ConfigError, match=r"motion\.fps.*below the minimum"):
        load_config(None, ["motion.fps=0"])
    with pytest.raises(ConfigError, match=r"kinematics\.ik\.device.*one of cpu, cuda"):
        load_config(None, ["kinematics.ik.device=tpu"])


def test_bad_preset_name_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such preset"):
        load_config("does-not-exist")
    p = tmp_path / "bad.yaml"
    p.write_text("render: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(None, ["render.width"])


def test_save_round_trip(tmp_path):
    cfg = load_config("demo", ["dataset.seed=11"])
    out = save_config(cfg, tmp_path / "sub" / "config.yaml")
    again = load_config(out)
    assert config_to_dict(again) == config_to_dict(cfg)
    assert yaml.safe_load(out.read_text())["dataset"]["seed"] == 11
    assert not list(out.parent.glob("*.tmp*"))
    assert config_to_yaml(cfg) == out.read_text()  # the text the Luigi tasks take
    assert config_to_dict(config_from_yaml(config_to_yaml(cfg))) == config_to_dict(cfg)
    assert config_to_dict(config_from_yaml("")) == config_to_dict(load_config())  # empty: the defaults


def test_every_option_is_documented():
    rows = describe_config()
    assert len(rows) > 10
    for key, _default, _allowed, help_text in rows:
        assert help_text, f"config key {key} has no help text"


@pytest.mark.parametrize("key", ["distance_factor", "lights", "light_power", "light_size", "light_temperature",
                                 "room_margin", "room_height", "ambient", "garment_offset"])
def test_a_minimum_above_its_maximum_is_an_error_on_load(key):
    from pipeline.config import Config

    sc = Config().scene
    lo, hi = getattr(sc, f"{key}_min"), getattr(sc, f"{key}_max")
    assert lo < hi
    swapped = [f"scene.{key}_min={hi}", f"scene.{key}_max={lo}"]  # the default range swapped
    with pytest.raises(ConfigError, match=rf"config key 'scene.{key}_min': {hi} is above scene.{key}_max \({lo}\)"):
        load_config(None, swapped)
    with pytest.raises(ConfigError, match=f"scene.{key}_min"):  # what the tasks parse, too
        config_from_yaml(f"scene: {{{key}_min: {hi}, {key}_max: {lo}}}")


def test_pairs_are_checked_after_every_override():
    """Raising both bounds one override at a time passes through a minimum above the old maximum."""
    cfg = load_config(None, ["scene.lights_min=10", "scene.lights_max=20"])
    assert (cfg.scene.lights_min, cfg.scene.lights_max) == (10, 20)


def test_check_value_types_and_bounds_one_key():
    from pipeline.config.loader import check_value

    assert check_value("render.samples", 4) == 4 and check_value("scene.focal_mm", 35) == 35.0
    with pytest.raises(ConfigError, match=r"config key 'render.samples': 0 is below the minimum 1"):
        check_value("render.samples", 0)
    with pytest.raises(ConfigError, match=r"config key 'render.sample': unknown key"):
        check_value("render.sample", 1)
    with pytest.raises(ConfigError, match=r"'samples' is not a section"):
        check_value("render.samples.x", 1)


@pytest.mark.parametrize("override, message", [
    ("body.age_range=[50,10]", r"'body.age_range': \[50.0, 10.0\]: each value must be below the next"),
    ("body.age_range=[30,30]", r"'body.age_range': \[30.0, 30.0\]: each value must be below the next"),
    ("body.age_range=[50]", r"'body.age_range': expected 2 values, got 1"),
    ("body.phenotypes=[0.5,0.5]", r"'body.phenotypes': expected 0 or 6 values, got 2"),
    ("dataset.splits=[0,0,0]", r"'dataset.splits': \[0.0, 0.0, 0.0\]: the values must not all be 0"),
    ("dataset.splits=[1,0]", r"'dataset.splits': expected 3 values, got 2"),
])
def test_list_lengths_ranges_and_sums_are_checked_on_load(override, message, capsys):
    """Rejected by 'odah config' naming the key, not later by the stage that reads it."""
    from pipeline.cli import main

    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=key):
        config_from_yaml("{%s: {%s: %s}}" % (*key.split("."), override.split("=")[1]))
    assert main(["config", "-s", override]) == 2
    assert f"config key '{key}'" in capsys.readouterr().err


def test_list_rules_accept_the_defaults_and_match_the_body_model():
    from pipeline.body.models.anny_model import PHENOTYPES
    from pipeline.config import Config

    cfg = load_config(None, ["body.age_range=[20,30]", "body.phenotypes=[0,0.2,0.4,0.6,0.8,1]",
                             "dataset.splits=[1,0,0]"])
    assert cfg.body.age_range == [20.0, 30.0] and cfg.dataset.splits == [1.0, 0.0, 0.0]
    lengths = {f.name: f.metadata["lengths"] for f in dataclasses.fields(Config().body)}
    assert len(PHENOTYPES) in lengths["phenotypes"]


def test_scientific_notation_is_a_number_and_nan_never_passes_a_range():
    """PyYAML (YAML 1.1) reads 1e-3 as text; an override, a file and a flag all take it as a number."""
    from pipeline.commands import set_from_flags

    cfg = load_config(None, ["markers.noise=1e-3", "scene.light_power_min=1e2", "render.timeout=1.5E+3"])
    assert (cfg.markers.noise, cfg.scene.light_power_min, cfg.render.timeout) == (0.001, 100.0, 1500.0)
    assert config_from_yaml("markers: {noise: 2e-3}").markers.noise == 0.002
    with pytest.raises(ConfigError, match=r"'scene.light_power_max': 1000000000.0 W is above the maximum"):
        load_config(None, ["scene.light_power_max=1e9"])
    assert load_config(None, ["motion.source=1e3"]).motion.source == "1e3"  # text keys keep text
    for bad in (".nan", "nan", ".NaN"):
        with pytest.raises(ConfigError, match="'markers.noise': expected a number, got"):
            load_config(None, [f"markers.noise={bad}"])
    with pytest.raises(ConfigError, match=r"--noise nan: config key 'markers.noise': expected a number, got nan"):
        set_from_flags(load_config(), {"--noise": ("markers.noise", float("nan"))})
    with pytest.raises(ConfigError, match="'markers.noise': inf m is above the maximum"):
        load_config(None, ["markers.noise=.inf"])
    assert load_config(None, ["render.timeout=.inf"]).render.timeout == float("inf")  # no maximum: inf allowed
