"""Stage 1, task 4: markers on the scaled model -> joint angles (``motions/<mid>/ik.mot``) and a
per-frame marker error report (``ik_report.json``). OpenSim coordinate sources skip IK: their
(resampled) coordinates are the result.
"""

from __future__ import annotations

import luigi

from .failures import build_kwargs, collect_failures
from .markers import MarkersTask
from .motion import Stage1Task


class IKTask(Stage1Task):
    def requires(self):
        return {"scale": self.scale_task(), "markers": self.per_motion(MarkersTask)}

    def output(self):
        mp = self.motion_paths
        return {"mot": luigi.LocalTarget(str(mp.ik_mot)), "report": luigi.LocalTarget(str(mp.ik_report))}

    def run(self):
        import json

        from ..body.stage1 import run_ik
        from ..io_utils import atomic_write_text
        from ..kinematics.trc import read_trc

        cfg = self.cfg
        out = self.output()
        inp = self.input()
        if self.kind() == "opensim":  # the given coordinates, resampled: no IK
            import numpy as np

            from ..body.sources import load_source
            from ..body.stage1 import _skeleton
            from ..kinematics.mot import Motion, rotational_mask, write_mot

            src = load_source(self.motion_paths.source)
            model = _skeleton(cfg)[0]
            names = [str(n) for n in src["names"]]
            write_mot(out["mot"].path, Motion(names=names, values=src["values"], times=src["times"],
                                              rotational=rotational_mask(names, model)), model=model)
            atomic_write_text(out["report"].path, json.dumps(
                {"backend": "none", "reason": "OpenSim motion source: the coordinates are given, IK skipped"}) + "\n")
            return
        trial_path = inp["markers"]["markers"].path
        weights = None
        if "body" in inp["markers"]:
            import numpy as np

            from ..body.stage1 import marker_weights

            with np.load(inp["markers"]["body"].path) as z:
                weights = marker_weights(cfg, {"model": str(z["model"])})
        run_ik(cfg, inp["scale"]["osim"].path, read_trc(trial_path), out["mot"].path, out["report"].path,
               trial_path=trial_path, weights=weights)


class BodyMeshTask(Stage1Task):
    """The Anny body on the subject's scaled model, posed by the IK coordinates
    (``motions/<mid>/body_fit.npz``, a :class:`~pipeline.body.mesh.MeshSequence` for the renderer)."""

    def requires(self):
        return {"ik": self.clone(IKTask), "scale": self.scale_task(),
                "markers": self.per_motion(MarkersTask)}

    def output(self):
        return luigi.LocalTarget(str(self.motion_paths.body_fit))

    def run(self):
        import numpy as np

        from ..body.stage1 import body_mesh
        from ..kinematics.mot import read_mot

        cfg = self.cfg
        inp = self.input()
        body = {}
        if "body" in inp["markers"]:
            with np.load(inp["markers"]["body"].path) as z:
                body = {k: z[k].item() if z[k].shape == () else z[k] for k in z.files}
        motion = read_mot(inp["ik"]["mot"].path)
        body_mesh(cfg, inp["scale"]["osim"].path, motion, body, name=f"{self.subject}/{self.motion}").save(self.output().path)


def run_stage1(root, subject: str, motion: str, source: str, cfg, workers: int = 1, scheduler: str = "",
               body_mesh: bool = False) -> bool:
    """Build and run the stage-1 DAG for one motion (and the body mesh when asked); True on success."""
    from ..body.sources import parse_source
    from ..config import config_to_yaml

    parse_source(source)  # a clear error now rather than a scheduling failure inside luigi
    task = (BodyMeshTask if body_mesh else IKTask)(root=str(root), subject=subject, motion=motion, source=source,
                                                   config=config_to_yaml(cfg))
    with collect_failures(Stage1Task) as failures:  # the first error is re-raised with its message
        ok = bool(luigi.build([task], **build_kwargs(workers, scheduler)))
    if failures:
        from ..errors import OdahError, TaskError

        t, exc = failures[0]
        if isinstance(exc, OdahError):
            raise exc
        raise TaskError(f"{t.task_family} ({subject}/{motion}) failed: {type(exc).__name__}: {exc}") from exc
    return ok
