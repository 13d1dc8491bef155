"""Stage 1, task 4: markers on the scaled model -> joint angles (``motions/<mid>/ik.mot``) and a
per-frame marker error report (``ik_report.json``). OpenSim coordinate sources skip IK: their
(resampled) coordinates are the result.
"""

from __future__ import annotations

import luigi

from .markers import MarkersTask
from .motion import Stage1Task
from .scale import ScaleTask


class IKTask(Stage1Task):
    def requires(self):
        return {"scale": ScaleTask(**self.stage_params()), "markers": MarkersTask(**self.stage_params())}

    def output(self):
        mp = self.motion_paths
        return {"mot": luigi.LocalTarget(str(mp.ik_mot)), "report": luigi.LocalTarget(str(mp.ik_report))}

    def run(self):
        import json
        import shutil

        from ..body.stage1 import run_ik
        from ..io_utils import atomic_path, atomic_write_text
        from ..kinematics.trc import read_trc

        cfg = self.cfg()
        out = self.output()
        inp = self.input()
        if self.kind() == "opensim":
            with atomic_path(out["mot"].path) as tmp:
                shutil.copyfile(inp["markers"]["reference"].path, tmp)
            atomic_write_text(out["report"].path, json.dumps(
                {"backend": "none", "reason": "OpenSim motion source: the coordinates are given, IK skipped"}) + "\n")
            return
        trial_path = inp["markers"]["markers"].path
        run_ik(cfg, inp["scale"]["osim"].path, read_trc(trial_path), out["mot"].path, out["report"].path,
               trial_path=trial_path)


def run_stage1(root, subject: str, motion: str, source: str, cfg, workers: int = 1, scheduler: str = "") -> bool:
    """Build and run the stage-1 DAG for one motion; True when every task succeeded."""
    import yaml

    from ..body.sources import parse_source
    from ..config import config_to_dict

    parse_source(source)  # a clear error now rather than a scheduling failure inside luigi
    task = IKTask(root=str(root), subject=subject, motion=motion, source=source,
                  config=yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    kw = dict(workers=workers, log_level="WARNING")
    if scheduler:
        kw["scheduler_url"] = scheduler
    else:
        kw["local_scheduler"] = True
    failures: list = []

    @Stage1Task.event_handler(luigi.Event.FAILURE)
    def _failed(t, exc):  # keep the first error to re-raise it with its message
        failures.append((t, exc))

    try:
        ok = bool(luigi.build([task], **kw))
    finally:
        Stage1Task.remove_event_handler(luigi.Event.FAILURE, _failed)
    if failures:
        from ..errors import OdahError, TaskError

        t, exc = failures[0]
        if isinstance(exc, OdahError):
            raise exc
        raise TaskError(f"{t.task_family} ({subject}/{motion}) failed: {type(exc).__name__}: {exc}") from exc
    return ok
