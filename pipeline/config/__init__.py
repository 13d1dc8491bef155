"""Typed configuration: dataclasses with defaults, YAML presets and ``key=value`` overrides.

    cfg = load_config("demo", ["render.width=320", "dataset.seed=7"])
    save_config(cfg, out_dir / "config.yaml")
    same = config_from_yaml(config_to_yaml(cfg))  # the YAML text the Luigi tasks take

An unknown key, a wrong type or a value out of range raises :class:`~pipeline.errors.ConfigError`
naming the dotted key and what was expected.
"""

from .loader import (
    available_presets,
    preset_description,
    check_config,
    config_from_dict,
    config_from_yaml,
    config_to_dict,
    config_to_yaml,
    describe_config,
    load_config,
    save_config,
    set_key,
)
from .schema import Config

__all__ = [
    "Config",
    "available_presets",
    "preset_description",
    "check_config",
    "config_from_dict",
    "config_from_yaml",
    "config_to_dict",
    "config_to_yaml",
    "describe_config",
    "load_config",
    "save_config",
    "set_key",
]
