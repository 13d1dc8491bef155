"""Stage 1, task 3: markers -> the subject-scaled OpenSim model (``subjects/<sid>/scaled.osim``).

Torch scaling by default (``kinematics.scale.backend``), OpenSim's ScaleTool on request. The
motion trial gives the scale factors; a static trial of known pose, when the source has one,
places the model's markers on the subject (the ScaleTool scales from it). OpenSim coordinate
sources (.mot) are not scaled: the model of the motion is the subject's.
"""

from __future__ import annotations

import luigi

from .markers import MarkersTask
from .motion import Stage1Task


class ScaleTask(Stage1Task):
    def requires(self):
        return self.per_motion(MarkersTask)

    def output(self):
        sp = self.subject_paths
        return {"osim": luigi.LocalTarget(str(sp.scaled_osim)), "scales": luigi.LocalTarget(str(sp.scale_factors)),
                "report": luigi.LocalTarget(str(sp.scale_report))}

    def run(self):
        import json
        import shutil

        import numpy as np

        from ..body.stage1 import _mass_height, marker_weights, model_path, scale_subject, static_pose_q
        from ..config import save_config
        from ..io_utils import atomic_path, atomic_write_text
        from ..kinematics.osim import load_osim
        from ..kinematics.osim_writer import write_scales_json
        from ..kinematics.trc import read_trc

        cfg = self.cfg
        out = self.output()
        inp = self.input()
        save_config(cfg, self.subject_paths.config)
        if self.kind() == "opensim":  # coordinates given on the model: nothing to scale
            src = model_path(cfg)
            with atomic_path(out["osim"].path) as tmp:
                shutil.copyfile(src, tmp)
            model = load_osim(src)
            write_scales_json(out["scales"].path, {b: np.ones(3) for b in model.body_names}, model=str(src),
                              method="none (OpenSim motion source)")
            atomic_write_text(out["report"].path, json.dumps({"backend": "none", "model": str(src),
                                                              "reason": "OpenSim motion source: IK skipped"}) + "\n")
            return
        body = {}
        if "body" in inp:
            with np.load(inp["body"].path) as z:
                body = {k: z[k].item() if z[k].shape == () else z[k] for k in z.files}
        mass, height = _mass_height(cfg, body, {})
        motion = read_trc(inp["markers"].path)
        static = read_trc(inp["static"].path) if "static" in inp else None
        static_q = None
        if static is not None:
            static_q = static_pose_q(inp["static_pose"].path, load_osim(model_path(cfg)))
        scale_subject(cfg, motion, out["osim"].path, out["scales"].path, out["report"].path, mass=mass, height=height,
                      trial_path=inp["markers"].path, static=static,
                      static_path=inp["static"].path if static is not None else None, static_q=static_q,
                      weights=marker_weights(cfg, body) if body else None)
