"""Logging set-up and progress display for long work."""

from __future__ import annotations

import logging
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

LOGGER_NAME = "odah"
#: Luigi's loggers: task failures (with tracebacks), scheduling, the central scheduler's client.
LUIGI_LOGGERS = ("luigi", "luigi-interface")


def get_logger(name: str = "") -> logging.Logger:
    """The project logger, or a child of it (``get_logger("render")`` -> ``odah.render``)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def _no_traceback(record: logging.LogRecord) -> bool:
    return record.exc_info is None


def setup_logging(verbose: bool = False) -> None:
    """INFO to stderr by default; DEBUG (with logger names) with ``--verbose``.

    Luigi's own messages go to the same place: its warnings always, its progress and its
    failure reports (a traceback each) only with ``--verbose``. Without it a failed task is one
    line from odah (:mod:`pipeline.tasks.failures`), its traceback in ``failures.jsonl``.
    (odah's luigi.cfg turns off luigi's own logging set-up, so this is the only one.)
    """
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    for name in LUIGI_LOGGERS:
        luigi_log = logging.getLogger(name)
        luigi_log.handlers.clear()
        luigi_log.filters.clear()
        luigi_log.addHandler(handler)
        luigi_log.setLevel(logging.INFO if verbose else logging.WARNING)
        luigi_log.propagate = False
        if not verbose:
            luigi_log.addFilter(_no_traceback)


def plural(n: int, noun: str) -> str:
    """``"1 clip"``, ``"2 clips"``: a count and a regular English noun."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


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
