"""Stage 1, last task: the kinematic labels of the IK motion (``motions/<mid>/keypoints3d.npz``).

Forward kinematics of ``ik.mot`` on the subject's scaled model: joint centres and body COMs per
frame (the dataset's 3D keypoints), markers, and their names, in metres, OpenSim axes.
"""

from __future__ import annotations

import luigi

from .ik import IKTask
from .motion import Stage1Task


class KeypointsTask(Stage1Task):
    def requires(self):
        return {"ik": self.clone(IKTask), "scale": self.scale_task()}

    def output(self):
        return luigi.LocalTarget(str(self.motion_paths.keypoints))

    def run(self):
        from ..io_utils import atomic_savez
        from ..kinematics.labels import compute_fk
        from ..kinematics.mot import read_mot
        from ..kinematics.osim import load_osim

        inp = self.input()
        osim = inp["scale"]["osim"].path
        model = load_osim(osim)
        res = compute_fk(model, read_mot(inp["ik"]["mot"].path, model=model),
                         device=self.cfg.kinematics.ik.device)
        atomic_savez(self.output().path, **res, units="m", frame="ground (OpenSim axes, Y up)", model=osim)
