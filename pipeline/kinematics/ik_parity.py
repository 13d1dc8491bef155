"""Torch IK against OpenSim's InverseKinematicsTool on one OpenSim IK setup (parity tests, benchmarks).

Both solve the same problem: the setup's marker file over its time range, its marker weights and
coordinate tasks, on the same (scaled) model. :class:`SetupIK` holds that problem as torch IK
takes it and runs OpenSim's tool on the same frames; :func:`flat_direction_violations` is the
acceptance rule (issue 3) for coordinates on which the two solutions differ, judged by
:func:`rotational_rms`.
The golden OpenSim data (not shipped) holds the cases of :data:`GOLDEN_CASES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fk import Skeleton
from .ik import IKSetup, coordinate_rms, ik_objective, read_ik_setup
from .opensim_tools import IKToolResult, run_ik_tool
from .osim import OsimModel, load_osim
from .trc import MarkerData, read_trc

# setup, scaled model and OpenSim's own result (None: not shipped), relative to the golden folder
GOLDEN_CASES = {
    "gait2354": dict(setup="gait2354/subject01_Setup_IK.xml", model="gait2354/OutputReference/subject01_simbody.osim",
                     golden_mot="gait2354/OutputReference/subject01_walk1_ik.mot"),
    "hamner": dict(setup="hamner/Setup_IK.xml", model="hamner/outputReference/subject02_registered.osim",
                   golden_mot=None),
}


@dataclass
class SetupIK:
    """An OpenSim IK setup's problem on a model.

    markers: the setup's frames of its marker file (metres); tasks: its coordinate tasks for
    those frames (``solve_ik``'s ``coordinate_tasks``); trial: the whole marker file.
    """

    setup_path: Path
    model_path: Path
    setup: IKSetup
    model: OsimModel
    trial: MarkerData
    markers: MarkerData
    tasks: dict

    @classmethod
    def load(cls, setup_path: str | Path, model_path: str | Path,
             window: tuple[float, float] | None = None) -> "SetupIK":
        """The problem of the setup on the model; ``window`` (s, s) narrows the setup's time range."""
        setup = read_ik_setup(setup_path)
        trial = read_trc(setup.marker_file)
        i0, i1 = setup.frame_range(trial.times)
        markers = trial.select_frames(slice(i0, i1 + 1))
        if window is not None:
            markers = markers.time_range(*window)
        model = load_osim(model_path)
        tasks = setup.coordinate_targets(model, markers.n_frames)
        return cls(Path(setup_path), Path(model_path), setup, model, trial, markers, tasks)

    def objective(self, sk: Skeleton, q: np.ndarray) -> np.ndarray:
        """OpenSim's IK objective (``ik_objective``) of poses ``q`` (T, C) on these frames: (T,)."""
        return ik_objective(sk, q, self.markers.positions, self.markers.names, weights=self.setup.marker_weights,
                            coordinate_tasks=self.tasks)

    def run_opensim(self, out_mot: str | Path, accuracy: float | None = None) -> IKToolResult:
        """OpenSim's InverseKinematicsTool with the setup on these frames (``accuracy``: the setup's)."""
        times = self.markers.times
        return run_ik_tool(self.model_path, self.setup.marker_file, out_mot, setup_xml=self.setup_path,
                           time_range=(float(times[0]), float(times[-1])), accuracy=accuracy, markers=self.trial)


def rotational_rms(model: OsimModel, q_a: np.ndarray, q_b: np.ndarray) -> dict[str, float]:
    """{rotational coordinate: RMS difference in degrees} of two (T, C) solutions, in model order."""
    rms = coordinate_rms(model, q_a, q_b)
    return {c.name: rms[c.name] for c in model.coordinates if c.motion_type == "rotational"}


def flat_direction_violations(model: OsimModel, q_ours: np.ndarray, q_ref: np.ndarray, e_ours: np.ndarray,
                              e_ref: np.ndarray) -> list[str]:
    """Rotational coordinates more than 1 deg RMS apart that are not flat directions.

    q_ours, q_ref: (T, C) solutions (radians / metres); e_ours, e_ref: (T,) their objectives. A
    coordinate passes when, in every frame where it differs by more than 1 deg, our objective is no
    larger than the reference's (a better or equal fit, not a worse one).
    """
    rms = rotational_rms(model, q_ours, q_ref)
    out = []
    for i, c in enumerate(model.coordinates):
        if rms.get(c.name, 0.0) > 1.0:
            frames = np.abs(np.degrees(q_ours[:, i] - q_ref[:, i])) > 1.0
            if not np.all(e_ours[frames] <= e_ref[frames] * (1 + 1e-9) + 1e-15):
                out.append(c.name)
    return out
