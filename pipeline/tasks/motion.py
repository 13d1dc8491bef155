"""Stage 1, task 1: a motion source -> its normalised form (``motions/<mid>/source.npz``).

The four stage-1 tasks share :class:`Stage1Task`'s parameters: the output ``root``, the
``subject`` and ``motion`` ids, the motion ``source`` (see :mod:`pipeline.body.sources`) and the
resolved ``config`` as YAML text (not part of the task id; saved beside the outputs).
"""

from __future__ import annotations

import luigi

from ..layout import Layout
from .base import ConfiguredTask
from .failures import record_failures


class Stage1Task(ConfiguredTask):
    """Common parameters and helpers of the stage-1 tasks."""

    root = luigi.Parameter(description="output root folder")
    subject = luigi.Parameter(description="subject id (a folder name)")
    motion = luigi.Parameter(description="motion id (a folder name)")
    source = luigi.Parameter(description="motion source: AMASS .npz, .trc/.c3d, .mot/.sto, library:NAME, anny:walk")
    scale_motion = luigi.Parameter(
        default="", description="motion whose markers scale the subject (empty: this one); a dataset gives every "
                                "motion of a subject the same one, so the subject is scaled once")
    scale_source = luigi.Parameter(default="", description="source of scale_motion (empty: this source)")

    @property
    def layout(self) -> Layout:
        return Layout(self.root)

    @property
    def subject_paths(self):
        return self.layout.subject(self.subject)

    @property
    def motion_paths(self):
        return self.layout.motion(self.subject, self.motion)

    def kind(self) -> str:
        from ..body.sources import parse_source

        return parse_source(self.source, check_exists=False).kind

    def per_motion(self, cls: type[Stage1Task], **changes) -> Stage1Task:
        """This motion's ``cls`` task of the per-motion kind (source, markers, scaling), which no
        scaling motion concerns; ``changes`` override parameters. The tasks downstream of scaling
        (IK, body mesh, keypoints) take all of this task's parameters: ``self.clone(cls)``."""
        return self.clone(cls, **{"scale_motion": "", "scale_source": "", **changes})

    def scale_task(self):
        """The subject's scaling task: this motion's, or the shared ``scale_motion``'s."""
        from .scale import ScaleTask

        if not self.scale_motion:
            return self.per_motion(ScaleTask)
        return self.per_motion(ScaleTask, motion=self.scale_motion, source=self.scale_source or self.source)


record_failures(Stage1Task, lambda t: {"subject": t.subject, "motion": t.motion})


class MotionTask(Stage1Task):
    """Read, check, resample and trim the motion source; write ``source.npz``."""

    def output(self):
        return luigi.LocalTarget(str(self.motion_paths.source))

    def run(self):
        from ..body.sources import save_source
        from ..body.stage1 import load_motion_source
        from ..config import save_config

        cfg = self.cfg
        data = load_motion_source(self.source, cfg)
        kind = data.pop("kind")
        save_config(cfg, self.motion_paths.config)
        save_source(self.motion_paths.source, kind, **data)
