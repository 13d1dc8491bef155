"""Stage 1, task 1: a motion source -> its normalised form (``motions/<mid>/source.npz``).

The four stage-1 tasks share :class:`Stage1Task`'s parameters: the output ``root``, the
``subject`` and ``motion`` ids, the motion ``source`` (see :mod:`pipeline.body.sources`) and the
resolved ``config`` as YAML text (not part of the task id; saved beside the outputs).
"""

from __future__ import annotations

import luigi
import yaml

from ..layout import Layout
from .failures import record_failures


class Stage1Task(luigi.Task):
    """Common parameters and helpers of the stage-1 tasks."""

    root = luigi.Parameter(description="output root folder")
    subject = luigi.Parameter(description="subject id (a folder name)")
    motion = luigi.Parameter(description="motion id (a folder name)")
    source = luigi.Parameter(description="motion source: AMASS .npz, .trc/.c3d, .mot/.sto, library:NAME, anny:walk")
    config = luigi.Parameter(default="", significant=False, description="resolved config (YAML text)")
    scale_motion = luigi.Parameter(
        default="", description="motion whose markers scale the subject (empty: this one); a dataset gives every "
                                "motion of a subject the same one, so the subject is scaled once")
    scale_source = luigi.Parameter(default="", description="source of scale_motion (empty: this source)")

    def cfg(self):
        from ..config import config_from_dict

        return config_from_dict(yaml.safe_load(self.config) or {}) if self.config else config_from_dict({})

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

    def stage_params(self) -> dict:
        """Parameters of this motion's own source/markers tasks."""
        return dict(root=self.root, subject=self.subject, motion=self.motion, source=self.source, config=self.config)

    def chain_params(self) -> dict:
        """Parameters of the tasks downstream of scaling (IK, body mesh, keypoints)."""
        return dict(self.stage_params(), scale_motion=self.scale_motion, scale_source=self.scale_source)

    def scale_task(self):
        """The subject's scaling task: this motion's, or the shared ``scale_motion``'s."""
        from .scale import ScaleTask

        if not self.scale_motion:
            return ScaleTask(**self.stage_params())
        return ScaleTask(root=self.root, subject=self.subject, motion=self.scale_motion,
                         source=self.scale_source or self.source, config=self.config)


record_failures(Stage1Task, lambda t: {"subject": t.subject, "motion": t.motion})


class MotionTask(Stage1Task):
    """Read, check, resample and trim the motion source; write ``source.npz``."""

    def output(self):
        return luigi.LocalTarget(str(self.motion_paths.source))

    def run(self):
        from ..body.sources import save_source
        from ..body.stage1 import load_motion_source
        from ..config import save_config

        cfg = self.cfg()
        data = load_motion_source(self.source, cfg)
        kind = data.pop("kind")
        save_config(cfg, self.motion_paths.config)
        save_source(self.motion_paths.source, kind, **data)
