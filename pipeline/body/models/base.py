"""The body-model interface shared by every backend (anny, smplx).

A :class:`BodyModel` is a pure torch module: differentiable, batched, device- and dtype-agnostic.
``forward(shape, pose, transl)`` returns vertices and the model's own joints in the model's axes
and units; everything the renderer and the marker layouts need about the mesh (faces, UVs,
per-vertex body-part labels and a coordinate along each limb) is computed once at load time from
the model's skinning weights and rest skeleton, never from hand-listed vertex ranges.

Conversions to OpenSim axes go through :mod:`pipeline.axes` (the model names its rotation).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch

from ... import axes
from ...errors import BodyModelError
from ..mesh import BODY_PARTS, MeshSequence


@dataclass
class BodyOutput:
    """One batched evaluation of a body model.

    Attributes:
        vertices: ``(N, V, 3)`` model axes, metres.
        joints: ``(N, J, 3)`` the model's own joints (bone heads / kinematic-tree joints), model
            axes, metres, ordered as :attr:`BodyModel.joint_names`.
        extras: backend-specific tensors (e.g. anny's ``bone_poses``).
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LimbAxis:
    """How ``limb_coord`` runs along one body part.

    ``start``/``end`` name joints of the model (their rest positions define the axis). With
    ``extent="joints"`` the coordinate is 0 at ``start`` and 1 at ``end``; with
    ``extent="vertices"`` the axis direction comes from the joints but 0 and 1 are the extreme
    projections of the part's own vertices (used for the foot, hand and head, whose distal end is
    the tip of the mesh rather than a joint).
    """

    start: str | Sequence[str]
    end: str | Sequence[str]
    extent: str = "joints"


class BodyModel(torch.nn.Module, abc.ABC):
    """Common interface of the body-model backends.

    Subclasses set, at load time: ``topology``, ``up_axis`` ("y" or "z"), ``units`` ("m"),
    ``to_opensim_rotation`` (3x3, ``opensim = R @ model``), ``joint_names``, ``parents``,
    ``faces`` ``(F, 3)`` int64, ``uv`` ``(U, 2)`` / ``uv_faces`` ``(F, 3)`` or None,
    ``part_labels`` ``(V,)`` int16 into :data:`BODY_PARTS`, ``limb_coord`` ``(V,)`` float32, and
    ``shape_names`` (the meaning of each shape parameter).
    """

    topology: str = "unknown"
    up_axis: str = "y"
    units: str = "m"
    to_opensim_rotation: np.ndarray = np.eye(3)
    joint_names: tuple[str, ...] = ()
    parents: tuple[int, ...] = ()
    shape_names: tuple[str, ...] = ()
    faces: np.ndarray
    uv: np.ndarray | None = None
    uv_faces: np.ndarray | None = None
    part_labels: np.ndarray
    limb_coord: np.ndarray

    # ---- the differentiable core -------------------------------------------------------------
    @abc.abstractmethod
    def forward(self, shape: torch.Tensor, pose: torch.Tensor, transl: torch.Tensor | None = None) -> BodyOutput:
        """Posed vertices and joints.

        Args:
            shape: ``(N, S)`` or ``(1, S)`` shape parameters (see :attr:`shape_names`).
            pose: backend-specific pose tensor with leading batch ``N`` (see the backend).
            transl: ``(N, 3)`` metres added to every vertex and joint, or None.
        """

    @abc.abstractmethod
    def zero_pose(self, n: int = 1) -> torch.Tensor:
        """The rest pose for ``n`` frames, in this backend's pose format."""

    @abc.abstractmethod
    def default_shape(self, n: int = 1) -> torch.Tensor:
        """The backend's average shape ``(n, S)``."""

    # ---- properties derived from the above -----------------------------------------------
    @property
    def num_vertices(self) -> int:
        return int(len(self.part_labels))

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def shape_dim(self) -> int:
        return len(self.shape_names)

    @property
    def dtype(self) -> torch.dtype:
        for b in self.buffers():
            if b.is_floating_point():
                return b.dtype
        return torch.get_default_dtype()

    @property
    def device(self) -> torch.device:
        for b in self.buffers():
            return b.device
        return torch.device("cpu")

    def joint_index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise BodyModelError(f"{self.topology} body model: no joint named {name!r}") from None

    def rest(self, shape: torch.Tensor | None = None) -> BodyOutput:
        """The rest pose of ``shape`` (default shape when None), at the origin."""
        if shape is None:
            shape = self.default_shape(1)
        return self.forward(shape, self.zero_pose(shape.shape[0]))

    def to_opensim(self, points):
        """Model-axes points ``(..., 3)`` -> OpenSim axes (numpy or torch)."""
        return axes.apply(self.to_opensim_rotation, points)

    def mesh_sequence(self, vertices, fps: float, name: str = "body", world_to_opensim: np.ndarray | None = None,
                      extras: dict | None = None) -> MeshSequence:
        """Wrap ``(T, V, 3)`` vertices (model or source-world axes) as an OpenSim-axes :class:`MeshSequence`.

        ``world_to_opensim`` overrides the model's rotation when the vertices live in a source's
        world frame (e.g. AMASS's Z-up world).
        """
        v = vertices.detach().cpu().numpy() if isinstance(vertices, torch.Tensor) else np.asarray(vertices)
        rot = self.to_opensim_rotation if world_to_opensim is None else world_to_opensim
        v = axes.apply(rot, v.astype(np.float64)).astype(np.float32)
        return MeshSequence(
            vertices=v, faces=np.asarray(self.faces, np.int32), fps=float(fps),
            part_labels=np.asarray(self.part_labels, np.int16), limb_coord=np.asarray(self.limb_coord, np.float32),
            uv=None if self.uv is None else np.asarray(self.uv, np.float32),
            uv_faces=None if self.uv_faces is None else np.asarray(self.uv_faces, np.int32),
            topology=self.topology, name=name, extras=dict(extras or {}),
        ).validate()


# ---- helpers shared by the backends ---------------------------------------------------------

def part_labels_from_weights(weights: np.ndarray, joint_parts: Sequence[str | None], where: str) -> np.ndarray:
    """Per-vertex body part: the part whose joints carry the largest summed skinning weight.

    Args:
        weights: ``(V, J)`` dense skinning weights.
        joint_parts: ``J`` entries, each a name in :data:`BODY_PARTS` (or None: ignored).
        where: the model, for error messages.

    Returns:
        ``(V,)`` int16 indices into :data:`BODY_PARTS`.
    """
    weights = np.asarray(weights, np.float64)
    if weights.shape[1] != len(joint_parts):
        raise BodyModelError(f"{where}: {weights.shape[1]} skinning joints but {len(joint_parts)} part assignments")
    per_part = np.zeros((weights.shape[0], len(BODY_PARTS)))
    for j, part in enumerate(joint_parts):
        if part is None:
            continue
        if part not in BODY_PARTS:
            raise BodyModelError(f"{where}: unknown body part {part!r} for joint {j}")
        per_part[:, BODY_PARTS.index(part)] += weights[:, j]
    if (per_part.sum(1) <= 0).any():
        bad = int(np.argwhere(per_part.sum(1) <= 0)[0, 0])
        raise BodyModelError(f"{where}: vertex {bad} has no skinning weight on any labelled joint")
    return per_part.argmax(1).astype(np.int16)


def limb_coordinates(rest_vertices: np.ndarray, labels: np.ndarray, joints: Mapping[str, np.ndarray],
                     limb_axes: Mapping[str, LimbAxis], where: str) -> np.ndarray:
    """``limb_coord`` in [0, 1] along each part's axis (see :data:`BODY_PARTS` for the directions).

    Args:
        rest_vertices: ``(V, 3)`` rest-pose vertices.
        labels: ``(V,)`` part indices.
        joints: joint name -> ``(3,)`` rest position (same axes).
        limb_axes: part name -> :class:`LimbAxis`; every part present in ``labels`` needs one.
    """
    v = np.asarray(rest_vertices, np.float64)
    out = np.zeros(len(v), np.float32)

    def point(spec):
        names = [spec] if isinstance(spec, str) else list(spec)
        missing = [n for n in names if n not in joints]
        if missing:
            raise BodyModelError(f"{where}: limb axis joint {missing[0]!r} not in the model")
        return np.mean([joints[n] for n in names], axis=0)

    for p, part in enumerate(BODY_PARTS):
        mask = labels == p
        if not mask.any():
            continue
        if part not in limb_axes:
            raise BodyModelError(f"{where}: no limb axis for body part {part!r}")
        ax = limb_axes[part]
        a, b = point(ax.start), point(ax.end)
        d = b - a
        length = np.linalg.norm(d)
        if length < 1e-9:
            raise BodyModelError(f"{where}: limb axis of {part!r} has zero length")
        s = (v[mask] - a) @ d / length**2
        if ax.extent == "vertices":
            lo, hi = s.min(), s.max()
            s = (s - lo) / max(hi - lo, 1e-9)
        out[mask] = np.clip(s, 0.0, 1.0)
    return out


def batch_shape(shape: torch.Tensor, n: int, dim: int, where: str) -> torch.Tensor:
    """Check ``(N|1, S)`` shape parameters and broadcast them to ``(n, S)``."""
    if shape.ndim != 2 or shape.shape[1] != dim:
        raise BodyModelError(f"{where}: shape parameters must be (N, {dim}), got {tuple(shape.shape)}")
    if shape.shape[0] not in (1, n):
        raise BodyModelError(f"{where}: {shape.shape[0]} shapes for {n} poses (give 1 or {n})")
    return shape.expand(n, dim)
