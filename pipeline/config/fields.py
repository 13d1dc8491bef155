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
    lengths: tuple[int, ...] | None = None,
    increasing: bool = False,
    positive_sum: bool = False,
    default_factory: Any = dataclasses.MISSING,
):
    """A config field. ``min``/``max`` are inclusive bounds checked on load (for lists: each item).

    Lists only: ``lengths`` are the allowed numbers of items, ``increasing`` asks each item to be
    below the next (a [low, high] range), ``positive_sum`` asks for a sum above 0 (proportions).
    """
    meta = {"help": help, "unit": unit, "choices": choices, "min": min, "max": max, "lengths": lengths,
            "increasing": increasing, "positive_sum": positive_sum}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)
