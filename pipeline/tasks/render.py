"""Luigi: render a clip's frames, encode its videos, write its labels. One clip per task.

    SceneTask -> RenderFramesTask -> EncodeTask --+
             \\-> LabelsTask ---------------------+-> ClipTask

Each task is complete only when all of its outputs exist (they are written atomically). The
rendered frames are scratch: once the videos exist they are removed (``render.keep_frames``
keeps them) and the frames task still counts as complete.
"""

from __future__ import annotations

import luigi

from .scene import ClipTaskBase, SceneTask


class _Outputs(ClipTaskBase):
    def scene_task(self) -> SceneTask:
        return self.clone(SceneTask)


class RenderFramesTask(_Outputs):
    """Both views and their person masks as PNG frames, rendered by EEVEE in the render environment."""

    def requires(self):
        return self.scene_task()

    def output(self):
        return luigi.LocalTarget(str(self.paths.frames_result))

    def complete(self):
        return super().complete() or self.clone(EncodeTask).complete()

    def run(self):
        from ..body.mesh import MeshSequence
        from ..render.clip import render_frames
        from ..scene.spec import load_spec

        render_frames(load_spec(self.paths.scene), MeshSequence.load(self.mesh), self.cfg, self.paths)


class EncodeTask(_Outputs):
    """The four H264 videos (front, side, and their masks) and render_info.json."""

    def requires(self):
        return self.clone(RenderFramesTask)

    def output(self):
        p = self.paths
        return [luigi.LocalTarget(str(x)) for x in (*p.videos.values(), p.render_info)]

    def run(self):
        from ..render.clip import encode_clip

        encode_clip(self.paths, self.cfg, self.clip_id)


class LabelsTask(_Outputs):
    """cameras.json, keypoints3d.npz, keypoints2d.npz (+ visibility), kinematics.mot, scales.json."""

    def requires(self):
        return [self.scene_task(), *self.upstream()]

    def output(self):
        p = self.paths
        files = [p.cameras, p.keypoints3d, p.keypoints2d]
        files += [p.kinematics] if self.kinematics else []
        files += [p.scales] if self.scales else []
        return [luigi.LocalTarget(str(x)) for x in files]

    def run(self):
        from ..body.mesh import MeshSequence
        from ..scene.labels import load_keypoints, write_labels
        from ..scene.spec import load_spec

        mesh = MeshSequence.load(self.mesh)
        kp, names = load_keypoints(self.keypoints, self.clip_id)
        write_labels(self.paths, load_spec(self.paths.scene), kp, names, mesh.fps, mesh=mesh,
                     kinematics=self.kinematics or None, scales=self.scales or None)


class ClipTask(luigi.WrapperTask, ClipTaskBase):
    """Everything of one clip in the dataset contract."""

    def requires(self):
        return [self.clone(EncodeTask), self.clone(LabelsTask)]
