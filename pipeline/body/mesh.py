"""The body mesh sequence: what body models produce and what the renderer consumes.

Everything is in OpenSim world axes (Y up, X forward), metres. Per-vertex body-part labels and a
coordinate along each limb let clothing be cut for any topology without topology-specific code.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BodyModelError
from ..io_utils import atomic_savez

#: The body-part vocabulary shared by every topology. ``limb_coord`` runs from 0 at a part's
#: proximal end to 1 at its distal end (shoulder -> elbow for upperarm, hip -> knee for thigh,
#: neck base -> hip line for torso, waist -> crotch for pelvis, heel -> toe tip for foot).
BODY_PARTS: tuple[str, ...] = (
    "head", "neck", "torso", "pelvis",
    "upperarm_l", "forearm_l", "hand_l",
    "upperarm_r", "forearm_r", "hand_r",
    "thigh_l", "shank_l", "foot_l",
    "thigh_r", "shank_r", "foot_r",
)


@dataclass
class MeshSequence:
    """A body mesh over ``T`` frames.

    Attributes:
        vertices: ``(T, V, 3)`` float32, metres, OpenSim world axes.
        faces: ``(F, 3)`` int32 triangle vertex indices.
        fps: frames per second.
        part_labels: ``(V,)`` int16 index into :data:`BODY_PARTS`.
        limb_coord: ``(V,)`` float32 in [0, 1] along the vertex's part (see :data:`BODY_PARTS`).
        uv: ``(U, 2)`` float32 texture coordinates, or None.
        uv_faces: ``(F, 3)`` int32 indices into ``uv`` per triangle corner, or None.
        topology: the body topology name ("anny", "smplx", "smplh", "smpl", ...).
        name: where it came from, used in error messages.
    """

    vertices: np.ndarray
    faces: np.ndarray
    fps: float
    part_labels: np.ndarray
    limb_coord: np.ndarray
    uv: np.ndarray | None = None
    uv_faces: np.ndarray | None = None
    topology: str = "unknown"
    name: str = "mesh"
    extras: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[1])

    def validate(self) -> "MeshSequence":
        """Check shapes, index ranges and finiteness; raise :class:`BodyModelError` naming the field."""
        v = np.asarray(self.vertices)
        where = f"mesh sequence '{self.name}'"
        if v.ndim != 3 or v.shape[2] != 3 or v.shape[0] < 1:
            raise BodyModelError(f"{where}: field 'vertices' must be (T, V, 3) with T >= 1, got {v.shape}")
        V = v.shape[1]
        bad = ~np.isfinite(v)
        if bad.any():
            t = int(np.argwhere(bad.any(axis=(1, 2)))[0, 0])
            raise BodyModelError(f"{where}: field 'vertices' has NaN/inf values (first at frame {t})")
        f = np.asarray(self.faces)
        if f.ndim != 2 or f.shape[1] != 3:
            raise BodyModelError(f"{where}: field 'faces' must be (F, 3), got {f.shape}")
        if f.size and (f.min() < 0 or f.max() >= V):
            raise BodyModelError(f"{where}: field 'faces' indexes vertex {int(f.max())} but there are {V}")
        for key in ("part_labels", "limb_coord"):
            a = np.asarray(getattr(self, key))
            if a.shape != (V,):
                raise BodyModelError(f"{where}: field '{key}' must be ({V},), got {a.shape}")
        pl = np.asarray(self.part_labels)
        if pl.min() < 0 or pl.max() >= len(BODY_PARTS):
            raise BodyModelError(f"{where}: field 'part_labels' must index BODY_PARTS (0..{len(BODY_PARTS) - 1})")
        if self.uv is not None or self.uv_faces is not None:
            if self.uv is None or self.uv_faces is None:
                raise BodyModelError(f"{where}: 'uv' and 'uv_faces' go together")
            if np.asarray(self.uv_faces).shape != f.shape:
                raise BodyModelError(f"{where}: field 'uv_faces' must be {f.shape}, got {np.asarray(self.uv_faces).shape}")
            if np.asarray(self.uv_faces).max() >= len(self.uv):
                raise BodyModelError(f"{where}: field 'uv_faces' indexes beyond 'uv' ({len(self.uv)} rows)")
        if not (self.fps > 0):
            raise BodyModelError(f"{where}: field 'fps' must be > 0, got {self.fps}")
        return self

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` atomically."""
        self.validate()
        path = Path(path)
        arrays = dict(
            vertices=np.asarray(self.vertices, np.float32), faces=np.asarray(self.faces, np.int32),
            fps=np.float64(self.fps), part_labels=np.asarray(self.part_labels, np.int16),
            limb_coord=np.asarray(self.limb_coord, np.float32), topology=np.str_(self.topology),
            part_names=np.array(BODY_PARTS),
        )
        if self.uv is not None:
            arrays["uv"] = np.asarray(self.uv, np.float32)
            arrays["uv_faces"] = np.asarray(self.uv_faces, np.int32)
        for k, val in self.extras.items():
            arrays[f"extra_{k}"] = np.asarray(val)
        return atomic_savez(path, compressed=True, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "MeshSequence":
        path = Path(path)
        if path.is_file() and not zipfile.is_zipfile(path):  # np.load would blame pickling
            raise BodyModelError(f"{path}: not a mesh sequence .npz (not an npz archive)")
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as exc:
            raise BodyModelError(f"{path}: not a readable mesh sequence npz ({exc})") from exc
        for key in ("vertices", "faces", "fps", "part_labels", "limb_coord"):
            if key not in data:
                raise BodyModelError(f"{path}: missing field '{key}'")
        names = tuple(str(n) for n in data.get("part_names", BODY_PARTS))
        if names != BODY_PARTS:
            raise BodyModelError(f"{path}: field 'part_names' does not match this version's BODY_PARTS")
        return cls(
            vertices=data["vertices"], faces=data["faces"], fps=float(data["fps"]),
            part_labels=data["part_labels"], limb_coord=data["limb_coord"],
            uv=data.get("uv"), uv_faces=data.get("uv_faces"),
            topology=str(data.get("topology", "unknown")), name=str(path),
            extras={k[6:]: v for k, v in data.items() if k.startswith("extra_")},
        ).validate()
