"""Luigi: sample a clip's scene spec (``clips/<cid>/scene.json``). One clip per task.

Inputs are files given as parameters (the body mesh npz, keypoints, ...). When the clip names a
stage-1 unit (``subject``, ``motion``, ``source``), stage 1 produces them in the same task graph;
otherwise they must exist already.
"""

from __future__ import annotations

import luigi

from ..layout import Layout
from .base import ConfiguredTask
from .failures import record_failures


class InputFile(luigi.ExternalTask):
    """A file made outside this task graph (or by a task the caller wires in instead)."""

    path = luigi.Parameter()

    def output(self):
        return luigi.LocalTarget(self.path)


class ClipTaskBase(ConfiguredTask):
    """Parameters every per-clip task shares."""

    root = luigi.Parameter(description="output root (clips/<cid>/ goes under it)")
    clip_id = luigi.Parameter()
    mesh = luigi.Parameter(description="body mesh sequence npz (pipeline.body.mesh.MeshSequence)")
    keypoints = luigi.Parameter(description="keypoints npz: keypoints (T, K, 3) OpenSim metres + names")
    kinematics = luigi.Parameter(default="", description="the clip's .mot (copied as kinematics.mot)")
    scales = luigi.Parameter(default="", description="the subject's scales.json (copied)")
    # The stage-1 unit that produces the inputs (all empty: the inputs are existing files).
    subject = luigi.Parameter(default="", description="stage-1 subject id producing the inputs")
    motion = luigi.Parameter(default="", description="stage-1 motion id producing the inputs")
    source = luigi.Parameter(default="", description="stage-1 motion source producing the inputs")
    scale_motion = luigi.Parameter(default="", description="the subject's scaling motion (see Stage1Task)")
    scale_source = luigi.Parameter(default="", description="its source")

    @property
    def paths(self):
        return Layout(self.root).clip(self.clip_id)

    def upstream(self) -> list[luigi.Task]:
        """Tasks (or files) producing this clip's inputs: the stage-1 unit's tasks when one is named."""
        if self.source:
            from .ik import BodyMeshTask
            from .keypoints import KeypointsTask

            # The unit's tasks take this task's stage-1 parameters. KeypointsTask requires the IK
            # and the subject's scaling, whose outputs are the kinematics and scales files.
            return [self.clone(BodyMeshTask), self.clone(KeypointsTask)]
        files = [self.mesh, self.keypoints] + [p for p in (self.kinematics, self.scales) if p]
        return [InputFile(p) for p in files]


record_failures(ClipTaskBase, lambda t: {"clip": t.clip_id})


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
        sample_scene(mesh, self.cfg, self.clip_id).save(self.paths.scene)
