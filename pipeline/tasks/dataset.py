"""Luigi: a whole dataset, one :class:`~pipeline.tasks.render.ClipTask` per (subject, motion).

Each clip task pulls its stage-1 unit into the same graph (source -> markers -> scaled subject ->
IK -> keypoints and the body mesh), so one ``luigi.build`` runs everything, locally or against a
central scheduler (``luigid``) shared by workers on many machines. A failed unit does not stop
the others; the manifest records it.
"""

from __future__ import annotations

import time

import luigi

from ..config import config_to_yaml, save_config
from ..dataset import Unit, build_manifest, check_same_config, check_unit_ids, plan_units, write_manifest
from ..errors import OdahError, TaskError
from ..layout import Layout
from ..log import get_logger, plural
from .failures import build_kwargs, collect_failures
from .motion import Stage1Task
from .render import ClipTask
from .scene import ClipTaskBase

log = get_logger("dataset")


def clip_task(root, unit: Unit, config_yaml: str) -> ClipTask:
    """The clip task of ``unit``, its inputs made by stage 1 under ``root``."""
    lay = Layout(root)
    mp, sp = lay.motion(unit.subject, unit.motion), lay.subject(unit.subject)
    return ClipTask(root=str(root), clip_id=unit.clip_id, mesh=str(mp.body_fit), keypoints=str(mp.keypoints),
                    kinematics=str(mp.ik_mot), scales=str(sp.scale_factors), config=config_yaml,
                    subject=unit.subject, motion=unit.motion, source=unit.source,
                    scale_motion=unit.scale_motion, scale_source=unit.scale_source)


def _unit_failures(units: list[Unit], failed: list[tuple[luigi.Task, BaseException]]) -> dict[str, str]:
    """Clip id -> the first error that stopped it (a subject's scaling failure stops all its clips)."""
    out: dict[str, str] = {}
    for task, exc in failed:
        msg = f"{task.get_task_family()}: {exc}" if not isinstance(exc, OdahError) else str(exc)
        for u in units:
            if isinstance(task, ClipTaskBase) and task.clip_id == u.clip_id:
                out.setdefault(u.clip_id, msg)
            elif isinstance(task, Stage1Task) and task.subject == u.subject and (
                    task.motion == u.motion or task.get_task_family() == "ScaleTask"):
                out.setdefault(u.clip_id, msg)
    return out


def build_dataset(cfg, root=None, *, workers: int | None = None, scheduler: str | None = None,
                  units: list[Unit] | None = None) -> dict:
    """Run every clip of the configured dataset under ``root`` and write ``manifest.json``.

    Returns the manifest (its ``summary`` counts ok and failed clips). Raises only for problems
    of the whole run (bad config, settings other than ``root/config.yaml``'s, no scheduler); a
    failing clip is recorded and the rest go on.
    """
    root = Layout(root or cfg.paths.output_root).root.resolve()
    units = units if units is not None else plan_units(cfg)
    check_unit_ids(units)
    check_same_config(cfg, root)
    root.mkdir(parents=True, exist_ok=True)
    save_config(cfg, Layout(root).config)
    text = config_to_yaml(cfg)
    tasks = [clip_task(root, u, text) for u in units]
    done: list[str] = []
    t0 = time.monotonic()

    def _success(task):
        if isinstance(task, ClipTask):
            done.append(task.clip_id)
            rate = (time.monotonic() - t0) / len(done)
            log.info("clip %s done (%d/%d; about %.0f s left)", task.clip_id, len(done), len(units),
                     rate * (len(units) - len(done)))

    kw = build_kwargs(workers or cfg.dataset.workers, cfg.dataset.scheduler if scheduler is None else scheduler)
    log.info("dataset: %s of %s under %s", plural(len(units), "clip"), plural(len({u.subject for u in units}), "subject"),
             root)
    ClipTask.event_handler(luigi.Event.SUCCESS)(_success)
    try:
        with collect_failures(Stage1Task, ClipTaskBase) as failed:
            luigi.build(tasks, **kw)
    except Exception as exc:  # noqa: BLE001 - a scheduler/connection problem of the whole run
        raise TaskError(f"dataset run under {root} failed to run: {type(exc).__name__}: {exc}") from exc
    finally:
        ClipTask.remove_event_handler(luigi.Event.SUCCESS, _success)
    unit_failures = _unit_failures(units, failed)
    manifest = build_manifest(cfg, root, units, unit_failures)
    path = write_manifest(manifest, root)
    s = manifest["summary"]
    log.info("dataset: %d of %d clips ok, %d failed; manifest %s (%.0f s)", s["ok"], s["clips"], s["failed"], path,
             time.monotonic() - t0)
    return manifest
