"""A batch carries on past a failed unit; each failure is appended to ``<root>/failures.jsonl``."""

from __future__ import annotations

import contextlib
import json
import time
import traceback
from typing import Callable, Iterator

import luigi

from ..errors import OdahError
from ..layout import Layout
from ..log import get_logger

log = get_logger("tasks")


def record_failures(task_cls: type[luigi.Task], describe: Callable[[luigi.Task], dict]) -> None:
    """Log every failure of ``task_cls`` tasks (which have a ``root``) as one error line and as
    one JSON line with the traceback in ``failures.jsonl``.

    ``describe(task)`` gives the unit's fields (e.g. ``{"clip": ...}``).
    """

    @task_cls.event_handler(luigi.Event.FAILURE)
    def _record(task, exc):
        unit = " ".join(f"{k} {v}" for k, v in describe(task).items())
        reason = str(exc) if isinstance(exc, OdahError) else f"{type(exc).__name__}: {exc}"
        log.error("%s of %s failed: %s", task.get_task_family(), unit, (reason.splitlines() or [""])[0])
        try:
            layout = Layout(task.root)
            layout.root.mkdir(parents=True, exist_ok=True)
            line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "task": task.get_task_family(), **describe(task),
                    "error": str(exc), "type": type(exc).__name__,
                    "traceback": "".join(traceback.format_exception(exc))[-4000:]}
            with open(layout.failures, "a") as fh:
                fh.write(json.dumps(line) + "\n")
        except Exception:  # noqa: BLE001 - never mask the real failure
            pass


@contextlib.contextmanager
def collect_failures(*task_classes: type[luigi.Task]) -> Iterator[list[tuple[luigi.Task, BaseException]]]:
    """A list that gathers (task, exception) for every failure of ``task_classes`` tasks while the
    block runs (``luigi.build`` reports failures through events, not its return value)."""
    failed: list[tuple[luigi.Task, BaseException]] = []

    def _failure(task, exc):
        failed.append((task, exc))

    for cls in task_classes:
        cls.event_handler(luigi.Event.FAILURE)(_failure)
    try:
        yield failed
    finally:
        for cls in task_classes:
            cls.remove_event_handler(luigi.Event.FAILURE, _failure)


def build_kwargs(workers: int = 1, scheduler: str = "") -> dict:
    """``luigi.build`` arguments: the local scheduler, or the central one at ``scheduler`` (a URL)."""
    kw: dict = dict(workers=workers, log_level="WARNING")
    if scheduler:
        kw["scheduler_url"] = scheduler
    else:
        kw["local_scheduler"] = True
    return kw
