"""Luigi: sample a clip's scene spec (``clips/<cid>/scene.json``). One clip per task.

Inputs are files given as parameters (the body mesh npz); subclass and override
:meth:`ClipTaskBase.upstream` to wire the tasks that produce them.
"""

from __future__ import annotations

import json
import time
import traceback

import luigi

from ..layout import Layout


class InputFile(luigi.ExternalTask):
    """A file made outside this task graph (or by a task the caller wires in instead)."""

    path = luigi.Parameter()

    def output(self):
        return luigi.LocalTarget(self.path)


class ClipTaskBase(luigi.Task):
    """Parameters every per-clip task shares."""

    root = luigi.Parameter(description="output root (clips/<cid>/ goes under it)")
    clip_id = luigi.Parameter()
    mesh = luigi.Parameter(description="body mesh sequence npz (pipeline.body.mesh.MeshSequence)")
    keypoints = luigi.Parameter(description="keypoints npz: keypoints (T, K, 3) OpenSim metres + names")
    kinematics = luigi.Parameter(default="", description="the clip's .mot (copied as kinematics.mot)")
    scales = luigi.Parameter(default="", description="the subject's scales.json (copied)")
    config = luigi.Parameter(default="", significant=False,
                             description="resolved config (YAML text, as the stage-1 tasks take it); empty: defaults")

    @property
    def paths(self):
        return Layout(self.root).clip(self.clip_id)

    def cfg(self):
        import yaml

        from ..config import config_from_dict

        return config_from_dict(yaml.safe_load(self.config) or {}) if self.config else config_from_dict({})

    def clip_params(self) -> dict:
        return {k: getattr(self, k) for k in ("root", "clip_id", "mesh", "keypoints", "kinematics", "scales",
                                               "config")}

    def upstream(self) -> list[luigi.Task]:
        """Tasks (or files) producing this clip's inputs; override to wire real producers."""
        files = [self.mesh, self.keypoints] + [p for p in (self.kinematics, self.scales) if p]
        return [InputFile(p) for p in files]


@ClipTaskBase.event_handler(luigi.Event.FAILURE)
def _record_failure(task, exc):
    """A batch carries on past a failed clip; the failure is recorded in <root>/failures.jsonl."""
    try:
        layout = Layout(task.root)
        layout.root.mkdir(parents=True, exist_ok=True)
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "task": task.get_task_family(), "clip": task.clip_id,
                "error": str(exc), "type": type(exc).__name__,
                "traceback": "".join(traceback.format_exception(exc))[-4000:]}
        with open(layout.failures, "a") as fh:
            fh.write(json.dumps(line) + "\n")
    except Exception:  # noqa: BLE001 - never mask the real failure
        pass


class SceneTask(ClipTaskBase):
    """Sample ``scene.json`` from the dataset seed and the clip id."""

    def requires(self):
        return self.upstream()

    def output(self):
        return luigi.LocalTarget(str(self.paths.scene))

    def run(self):
        from ..body.mesh import MeshSequence
        from ..scene.sampling import sample_scene

        mesh = MeshSequence.load(self.mesh)
        sample_scene(mesh, self.cfg(), self.clip_id).save(self.paths.scene)
