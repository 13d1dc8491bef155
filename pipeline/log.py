"""Logging set-up and progress display for long work."""

from __future__ import annotations

import logging
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

LOGGER_NAME = "odah"


def get_logger(name: str = "") -> logging.Logger:
    """The project logger, or a child of it (``get_logger("render")`` -> ``odah.render``)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def setup_logging(verbose: bool = False) -> None:
    """INFO to stderr by default; DEBUG (with logger names) with ``--verbose``."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with a progress bar (count, rate, ETA) on stderr; plain iteration when tqdm is absent.

    The render environment may lack tqdm, so it is optional here.
    """
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - only in minimal environments
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, unit=unit, dynamic_ncols=True, file=sys.stderr,
                    disable=None)
