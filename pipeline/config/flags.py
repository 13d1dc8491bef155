"""argparse types for command-line flags, checked like the config keys they stand for.

A flag that sets a value a config key also covers is checked against that key's declared type
and range (:func:`int_key`), so ``--samples 0`` fails exactly as ``-s render.samples=0`` does;
a flag with no key gets an explicit integer range (:func:`int_range`). Either way the error is
argparse's usage error naming the flag, before any work starts.
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

from ..errors import ConfigError
from .loader import check_value


def int_range(lo: int, hi: float = math.inf) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[lo, hi]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            bound = f"at least {lo}" if hi == math.inf else f"in [{lo}, {hi}]"
            raise argparse.ArgumentTypeError(f"{value} is out of range: must be {bound}")
        return value

    return parse


def int_key(key: str) -> Callable[[str], int]:
    """An argparse ``type``: an integer checked as config key ``key`` (its range and choices)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        try:
            return check_value(key, value)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse
