"""``option()``: a dataclass field with help text, unit and validation rules in its metadata."""

from __future__ import annotations

import dataclasses
from typing import Any


def option(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    unit: str | None = None,
    choices: tuple | None = None,
    min: float | None = None,
    max: float | None = None,
    default_factory: Any = dataclasses.MISSING,
):
    """A config field. ``min``/``max`` are inclusive bounds checked on load (for lists: each item)."""
    meta = {"help": help, "unit": unit, "choices": choices, "min": min, "max": max}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)
