"""Load, validate, override, describe and save configurations."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..io_utils import atomic_write_text, read_document
from .schema import Config

PRESET_DIR = Path(__file__).resolve().parent / "presets"


def available_presets() -> list[str]:
    """Names of the shipped presets (``pipeline/config/presets/*.yaml``)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_description(name: str) -> str:
    """The comment a shipped preset opens with (what it is for), as one line of text."""
    lines = []
    for line in (PRESET_DIR / f"{name}.yaml").read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        inner = ", ".join(_type_name(a) for a in args if a is not Ellipsis)
        return f"list of {inner}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


#: A decimal number as YAML 1.2 writes one: an exponent needs neither a dot nor a sign.
_NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _coerce(key: str, tp: Any, value: Any, meta: dict) -> Any:
    """Check ``value`` against the annotation ``tp`` and the field metadata; return it typed."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, arg, value, meta)
            except ConfigError:
                continue
        raise ConfigError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}")
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        item_tp = args[0] if args else Any
        items = [_coerce(f"{key}[{i}]", item_tp, v, meta) for i, v in enumerate(value)]
        _check_list(key, items, meta)
        if origin is tuple and len(args) > 1 and Ellipsis not in typing.get_args(tp):
            if len(items) != len(args):
                raise ConfigError(f"config key '{key}': expected {len(args)} values, got {len(items)}")
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}': expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}': expected an integer, got {value!r}")
        _check_range(key, value, meta)
        return value
    if tp is float:
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            value = float(value)  # YAML 1.1 leaves 1e-3 and 1.0e3 as text; YAML 1.2 and people read a number
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ConfigError(f"config key '{key}': expected a number, got {value!r}")
        _check_range(key, float(value), meta)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key '{key}': expected a string, got {value!r}")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"config key '{key}': expected one of {', '.join(map(str, choices))}; got {value!r}")
        return value
    if tp is Any:
        return value
    raise ConfigError(f"config key '{key}': unsupported field type {tp!r}")


def _check_range(key: str, value: float, meta: dict) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    unit = f" {meta['unit']}" if meta.get("unit") else ""
    if lo is not None and value < lo:
        raise ConfigError(f"config key '{key}': {value}{unit} is below the minimum {lo}{unit}")
    if hi is not None and value > hi:
        raise ConfigError(f"config key '{key}': {value}{unit} is above the maximum {hi}{unit}")
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"config key '{key}': expected one of {', '.join(map(str, choices))}; got {value!r}")


def _check_list(key: str, items: list, meta: dict) -> None:
    """A list's own rules from its field metadata: its length, increasing items, a positive sum."""
    lengths = meta.get("lengths")
    if lengths and len(items) not in lengths:
        allowed = " or ".join(map(str, lengths))
        raise ConfigError(f"config key '{key}': expected {allowed} values, got {len(items)} ({items})")
    if meta.get("increasing") and any(a >= b for a, b in zip(items, items[1:])):
        raise ConfigError(f"config key '{key}': {items}: each value must be below the next (a range is [low, high])")
    if meta.get("positive_sum") and not sum(items) > 0:
        raise ConfigError(f"config key '{key}': {items}: the values must not all be 0")


def _build(cls: type, data: dict, prefix: str, base: Any = None) -> Any:
    """Build dataclass ``cls`` from ``data`` layered over ``base`` (or the defaults)."""
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{prefix.rstrip('.') or '<root>'}': expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"config key '{prefix}{unknown[0]}': unknown key (known keys here: {known})")
    values = {}
    for name, f in fields.items():
        key = prefix + name
        tp = hints[name]
        current = getattr(base, name) if base is not None else None
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, data.get(name, {}), key + ".", current)
        elif name in data:
            values[name] = _coerce(key, tp, data[name], dict(f.metadata))
        elif base is not None:
            values[name] = current
    return cls(**values)


def config_from_dict(data: dict | None, base: Config | None = None) -> Config:
    """A validated :class:`Config` from a nested mapping, layered over ``base`` or the defaults."""
    return _build(Config, data or {}, "", base)


def config_to_dict(cfg: Any) -> dict:
    """Plain nested dict of a config (tuples become lists), ready for YAML or JSON."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = config_to_dict(v) if dataclasses.is_dataclass(v) else (list(v) if isinstance(v, tuple) else v)
    return out


def config_to_yaml(cfg: Config) -> str:
    """The config as YAML text: what :func:`save_config` writes and the Luigi tasks take."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)


def config_from_yaml(text: str) -> Config:
    """A validated :class:`Config` from YAML text (as :func:`config_to_yaml` writes it); empty: the defaults."""
    return check_config(config_from_dict(yaml.safe_load(text) if text else None))


def _read_yaml(path: Path) -> dict:
    data = read_document(path, ConfigError, "the config file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping of sections, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"render.width=320"`` -> (["render", "width"], 320); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override '{text}': expected key=value, e.g. render.width=320")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override '{text}': the key is empty")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def check_value(key: str, value: Any) -> Any:
    """``value`` typed and checked as the dotted config key ``key`` (type, range, choices) would be."""
    cls, parts = Config, key.split(".")
    for depth, name in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if name not in fields:
            raise ConfigError(f"config key '{'.'.join(parts[:depth + 1])}': unknown key")
        tp = typing.get_type_hints(cls)[name]
        if depth < len(parts) - 1:
            if not dataclasses.is_dataclass(tp):
                raise ConfigError(f"config key '{key}': '{name}' is not a section")
            cls = tp
    return _coerce(key, tp, value, dict(fields[name].metadata))


def check_config(cfg: Any, prefix: str = "") -> Any:
    """Rules between keys, checked once every layer is applied: each ``X_min`` is at most its ``X_max``.

    Returns ``cfg``; raises :class:`ConfigError` naming both keys.
    """
    names = [f.name for f in dataclasses.fields(cfg)]
    for name in names:
        value = getattr(cfg, name)
        if dataclasses.is_dataclass(value):
            check_config(value, f"{prefix}{name}.")
        elif name.endswith("_min") and (hi := name.removesuffix("_min") + "_max") in names:
            if value > getattr(cfg, hi):
                raise ConfigError(f"config key '{prefix}{name}': {value} is above {prefix}{hi} "
                                  f"({getattr(cfg, hi)}); the minimum must not exceed the maximum")
    return cfg


def load_config(preset: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Defaults, then a preset (a shipped name like ``demo`` or a YAML path), then overrides."""
    cfg = Config()
    if preset:
        path = Path(preset)
        if not path.suffix:
            path = PRESET_DIR / f"{preset}.yaml"
            if not path.exists():
                raise ConfigError(
                    f"preset '{preset}': no such preset (shipped: {', '.join(available_presets())}; or give a .yaml path)"
                )
        data = _read_yaml(path)
        try:
            cfg = config_from_dict(data, cfg)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    for text in overrides:
        keys, value = parse_override(text)
        cfg = set_key(cfg, keys, value)
    return check_config(cfg)


def set_key(cfg: Config, key: str | list[str], value: Any) -> Config:
    """``cfg`` with one key (dotted, or its parts) set to ``value``, typed and checked as on load."""
    nested: Any = value
    for k in reversed(key.split(".") if isinstance(key, str) else key):
        nested = {k: nested}
    return config_from_dict(nested, cfg)


def save_config(cfg: Config, path: str | Path) -> Path:
    """Write the resolved config as YAML (atomically) and return the path."""
    path = Path(path)
    atomic_write_text(path, config_to_yaml(cfg))
    return path


def describe_config(cls: type = Config, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """Rows (key, default, unit/allowed, help) for every leaf option; used by ``odah config``."""
    rows = []
    hints = typing.get_type_hints(cls)
    inst = cls()
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = prefix + f.name
        if dataclasses.is_dataclass(tp):
            rows.extend(describe_config(tp, key + "."))
            continue
        m = f.metadata
        allowed = []
        if m.get("unit"):
            allowed.append(m["unit"])
        if m.get("choices"):
            allowed.append("|".join(map(str, m["choices"])))
        if m.get("min") is not None or m.get("max") is not None:
            lo = m.get("min") if m.get("min") is not None else "-inf"
            hi = m.get("max") if m.get("max") is not None else "inf"
            allowed.append(f"[{lo}, {hi}]")
        if m.get("lengths"):
            allowed.append(" or ".join(map(str, m["lengths"])) + " values")
        rows.append((key, repr(getattr(inst, f.name)), " ".join(allowed), m.get("help", "")))
    return rows
