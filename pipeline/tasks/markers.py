"""Stage 1, task 2: the normalised motion -> marker trajectories (``motions/<mid>/markers.trc``).

Body-driven sources also give a static trial (``static.trc``: the body in the model's default
pose) and, for coordinate sources, the coordinates that drove the body (``reference.mot``); the
subject's body parameters go to ``subjects/<sid>/body.npz``.
"""

from __future__ import annotations

import luigi

from .motion import MotionTask, Stage1Task


class MarkersTask(Stage1Task):
    def requires(self):
        return self.per_motion(MotionTask)

    def output(self):
        mp, sp = self.motion_paths, self.subject_paths
        out = {"markers": luigi.LocalTarget(str(mp.markers_trc))}
        kind = self.kind()
        if kind in ("library", "opensim", "anny_walk") and self.cfg.markers.static:
            out["static"] = luigi.LocalTarget(str(mp.static_trc))
            out["static_pose"] = luigi.LocalTarget(str(mp.static_mot))
        if kind in ("library", "opensim"):
            out["reference"] = luigi.LocalTarget(str(mp.reference_mot))
        if kind != "markers":
            out["body"] = luigi.LocalTarget(str(sp.body_params))
        return out

    def run(self):

        from ..body.sources import load_source
        from ..body.stage1 import _skeleton, make_markers, subject_body
        from ..io_utils import atomic_savez
        from ..kinematics.mot import write_mot
        from ..kinematics.trc import write_trc

        cfg = self.cfg
        source = load_source(self.motion_paths.source)
        body = subject_body(cfg, self.subject, source)
        res = make_markers(source, body, cfg, self.subject)
        out = self.output()
        if "body" in out:
            body = dict(body, **{k: v for k, v in res.info.items() if k in ("height", "mass") and k not in body})
            atomic_savez(out["body"].path, **body)
        if "static" in out:
            write_trc(out["static"].path, res.static)
            write_mot(out["static_pose"].path, res.static_pose, model=_skeleton(cfg)[0])
        if "reference" in out:
            write_mot(out["reference"].path, res.reference, model=_skeleton(cfg)[0])
        write_trc(out["markers"].path, res.motion)
