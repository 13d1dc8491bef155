"""The Anny body model (the embedded default): ``anny`` package, CC0 MakeHuman assets, offline.

Anny model space: Z up, metres, the body facing -Y with its left side towards +X (checked against
the mesh in ``tests/body/test_anny_model.py``); ``pipeline.axes.ANNY_TO_OPENSIM`` maps it to
OpenSim axes.

Shape: the six default phenotypes in [0, 1], in :data:`PHENOTYPES` order (gender 0 male .. 1
female; age 0 baby, 1/3 child, 2/3 young adult, 1 old; muscle; weight; height; proportions).
Pose: ``(N, B, 3, 3)`` rotation matrices, one per bone of the ``anny`` rig (104 bones):

- ``pose_space="local"`` (default): each bone's rotation relative to its parent, expressed in
  world-aligned axes (anny's ``local-ref`` parameterization); identities give the rest pose.
- ``pose_space="world"``: each bone's world orientation (anny's ``world-orient``); the bone heads
  follow the parents.
- ``pose_space="absolute"``: ``(N, B, 4, 4)`` each bone's full world pose (rotation and head
  position; anny's ``world``). The retargeting onto the OpenSim skeleton uses this, so every bone
  moves rigidly with its OpenSim body.

Only the ``anny`` topology is used here: ``smplx``/``smpl`` topologies need a non-commercial
download and are refused.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import torch

from ... import axes
from ...errors import BodyModelError
from ...log import get_logger
from .base import BodyModel, BodyOutput, LimbAxis, batch_shape, limb_coordinates, part_labels_from_weights

log = get_logger("body.anny")

#: Shape parameters of :class:`AnnyBody`, in order.
PHENOTYPES: tuple[str, ...] = ("gender", "age", "muscle", "weight", "height", "proportions")

#: Topologies that would download non-commercial data: never used.
_FORBIDDEN_TOPOLOGIES = ("smplx", "smpl")

_LIMB_AXES = {
    "head": LimbAxis("neck03", "head", "vertices"),
    "neck": LimbAxis("neck01", "head"),
    "torso": LimbAxis("neck01", ("upperleg01.L", "upperleg01.R")),
    "pelvis": LimbAxis("spine03", ("upperleg01.L", "upperleg01.R"), "vertices"),
    "foot_l": LimbAxis("foot.L", "toe2-1.L", "vertices"),
    "foot_r": LimbAxis("foot.R", "toe2-1.R", "vertices"),
    "hand_l": LimbAxis("wrist.L", "finger3-1.L", "vertices"),
    "hand_r": LimbAxis("wrist.R", "finger3-1.R", "vertices"),
    "thigh_l": LimbAxis("upperleg01.L", "lowerleg01.L"),
    "thigh_r": LimbAxis("upperleg01.R", "lowerleg01.R"),
    "shank_l": LimbAxis("lowerleg01.L", "foot.L"),
    "shank_r": LimbAxis("lowerleg01.R", "foot.R"),
    "upperarm_l": LimbAxis("upperarm01.L", "lowerarm01.L"),
    "upperarm_r": LimbAxis("upperarm01.R", "lowerarm01.R"),
    "forearm_l": LimbAxis("lowerarm01.L", "wrist.L"),
    "forearm_r": LimbAxis("lowerarm01.R", "wrist.R"),
}


def bone_part(bone: str) -> str | None:
    """The body part a bone of the anny/makehuman rig belongs to (skinning -> part labels)."""
    side = {"L": "_l", "R": "_r"}.get(bone.rsplit(".", 1)[-1]) if "." in bone else None
    stem = bone.rsplit(".", 1)[0]
    if stem in ("root", "pelvis", "spine05", "spine04"):
        return "pelvis"
    if stem in ("spine03", "spine02", "spine01", "clavicle", "shoulder01", "breast"):
        return "torso"
    if stem.startswith("neck"):
        return "neck"
    if stem in ("head", "eye", "jaw") or stem.startswith(("tongue", "eyelid", "special", "levator", "oris",
                                                          "orbicularis", "temporalis", "risorius", "mylohyoid")):
        return "head"
    if side is None:
        return None
    if stem.startswith("upperleg"):
        return "thigh" + side
    if stem.startswith("lowerleg"):
        return "shank" + side
    if stem == "foot" or stem.startswith("toe"):
        return "foot" + side
    if stem.startswith("upperarm"):
        return "upperarm" + side
    if stem.startswith("lowerarm"):
        return "forearm" + side
    if stem in ("wrist",) or stem.startswith(("finger", "metacarpal")):
        return "hand" + side
    return None


_MODEL_CACHE: dict = {}
_MODEL_LOCK = threading.Lock()


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The anny cache folder: the argument (config ``paths.anny_cache``), $ANNY_CACHE_DIR, ~/.cache/anny."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get("ANNY_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "anny"


def _init_warp_quietly(warp) -> None:
    """Start warp's runtime now. On a machine with no NVIDIA driver its native start-up writes a
    "could not load the CUDA driver" warning to the process's stderr, which CPU-only users would
    read as a fault: there, the start-up runs with file descriptor 2 pointed at /dev/null."""
    import ctypes.util

    if ctypes.util.find_library("cuda"):
        warp.init()
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        warp.init()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _load_anny(cache_dir: Path, topology: str):
    """Build (or fetch from the in-process cache) the anny module; float64 on CPU."""
    key = (str(cache_dir), topology)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            try:
                import warp

                # anny runs its skinning through warp, whose start-up banner would go to stdout.
                warp.config.log_level = warp.LOG_WARNING
                _init_warp_quietly(warp)
                import anny
                import anny.paths
            except ImportError as exc:  # pragma: no cover - the .venv always has it
                raise BodyModelError(f"the anny package is not installed ({exc})") from exc
            anny.paths.set_anny_cache_path(cache_dir)
            if not (cache_dir / "v14").exists() and not any(cache_dir.glob("*")):
                log.info("building the anny model cache in %s (once, about a minute, ~800 MB)", cache_dir)
            try:
                _MODEL_CACHE[key] = anny.Anny(rig="anny", topology=topology)
            except Exception as exc:
                raise BodyModelError(f"anny body model (topology {topology!r}, cache {cache_dir}): {exc}") from exc
        return _MODEL_CACHE[key]


class AnnyBody(BodyModel):
    """Anny as a :class:`BodyModel` (see the module docstring for shape and pose).

    Args:
        cache_dir: anny cache folder (config ``paths.anny_cache``); default $ANNY_CACHE_DIR or
            ~/.cache/anny.
        dtype, device: where the model lives (float32 or float64, CPU or CUDA).
    """

    topology = "anny"
    up_axis = "z"
    units = "m"
    to_opensim_rotation = axes.ANNY_TO_OPENSIM
    shape_names = PHENOTYPES

    def __init__(self, cache_dir: str | os.PathLike | None = None, dtype: torch.dtype = torch.float64,
                 device: str | torch.device = "cpu", topology: str = "anny"):
        super().__init__()
        if topology in _FORBIDDEN_TOPOLOGIES:
            raise BodyModelError(
                f"anny topology {topology!r} needs non-commercial SMPL data; use topology 'anny' "
                "(or the smplx backend with your own licensed model files)")
        self.cache_dir = resolve_cache_dir(cache_dir)
        import copy

        base = _load_anny(self.cache_dir, topology)
        # A private copy: moving it to another dtype/device must not touch the shared one.
        self.anny = copy.deepcopy(base).to(device=device, dtype=dtype)
        if list(self.anny.phenotype_labels) != list(PHENOTYPES):
            raise BodyModelError(f"anny model: unexpected phenotypes {self.anny.phenotype_labels}")
        self.joint_names = tuple(self.anny.bone_labels)
        self.parents = tuple(int(p) for p in self.anny.bone_parents)
        self.faces = self.anny.faces.detach().cpu().numpy().astype(np.int64)
        if self.faces.shape[1] != 3:
            raise BodyModelError("anny model: expected a triangulated topology")
        tc = self.anny.texture_coordinates
        fi = self.anny.face_texture_coordinate_indices
        self.uv = None if tc is None else tc.detach().cpu().numpy().astype(np.float32)
        self.uv_faces = None if fi is None else fi.detach().cpu().numpy().astype(np.int64)

        # Part labels from skinning weights, limb coordinates from the rest skeleton (average shape).
        weights = self.dense_weights()
        self.part_labels = part_labels_from_weights(
            weights, [bone_part(b) for b in self.joint_names], "anny body model")
        with torch.no_grad():
            rest = self.rest()
        rv = rest.vertices[0].double().cpu().numpy()
        heads = rest.joints[0].double().cpu().numpy()
        self.limb_coord = limb_coordinates(
            rv, self.part_labels, dict(zip(self.joint_names, heads)), _LIMB_AXES, "anny body model")

    # ---- BodyModel ---------------------------------------------------------------------------
    def default_shape(self, n: int = 1) -> torch.Tensor:
        return torch.full((n, len(PHENOTYPES)), 0.5, dtype=self.dtype, device=self.device)

    def zero_pose(self, n: int = 1) -> torch.Tensor:
        return torch.eye(3, dtype=self.dtype, device=self.device).expand(n, len(self.joint_names), 3, 3).clone()

    def forward(self, shape: torch.Tensor, pose: torch.Tensor, transl: torch.Tensor | None = None,
                pose_space: str = "local") -> BodyOutput:
        """Posed vertices ``(N, V, 3)`` and bone heads ``(N, B, 3)`` in anny axes, metres.

        The root bone's head stays at its rest position (``transl`` then moves the whole body),
        as SMPL's root joint does.
        """
        B = len(self.joint_names)
        want = (B, 4, 4) if pose_space == "absolute" else (B, 3, 3)
        if pose.ndim != 4 or pose.shape[1:] != want:
            raise BodyModelError(f"anny body model: pose must be (N, {B}, {want[1]}, {want[2]}) for pose_space "
                                 f"{pose_space!r}, got {tuple(pose.shape)}")
        n = pose.shape[0]
        shape = batch_shape(shape.to(self.dtype), n, len(PHENOTYPES), "anny body model")
        rest = self._rest_model(shape)
        h0 = rest["rest_bone_heads"][:, 0]  # (n, 3)
        delta = torch.zeros(n, B, 4, 4, dtype=self.dtype, device=self.device)
        delta[..., :3, :3] = pose[..., :3, :3].to(self.dtype)
        delta[..., 3, 3] = 1.0
        if pose_space == "absolute":
            param = "world"
            delta[..., :3, 3] = pose[..., :3, 3].to(self.dtype)
        elif pose_space == "world":
            param = "world-orient"
            delta[:, 0, :3, 3] = h0
        elif pose_space == "local":
            param = "local-ref"
            # local-ref root: W_0 = [U0^T D0 U0 | U0^T d0]; U0 is the root's reference orientation.
            u0 = self._root_reference(rest)
            delta[:, 0, :3, 3] = (u0 @ h0.unsqueeze(-1)).squeeze(-1)
        else:
            raise BodyModelError(f"anny body model: pose_space must be 'local', 'world' or 'absolute', got {pose_space!r}")
        transforms, poses = self.anny.get_bone_transforms(delta, rest["rest_bone_poses"], pose_parameterization=param)
        vertices = self.anny.get_skinned_vertices(rest["rest_vertices"].expand(n, -1, -1), transforms)
        joints = poses[..., :3, 3]
        if transl is not None:
            t = transl.to(self.dtype).reshape(n, 1, 3)
            vertices = vertices + t
            joints = joints + t
        return BodyOutput(vertices=vertices, joints=joints,
                          extras=dict(bone_poses=poses, rest_bone_poses=rest["rest_bone_poses"],
                                      rest_vertices=rest["rest_vertices"]))

    # ---- anny specifics ----------------------------------------------------------------------
    def _rest_model(self, shape: torch.Tensor) -> dict:
        """anny's rest model of ``shape (N, 6)``. The rest bone orientations cost ~0.1 s (one
        Procrustes per bone), so when all rows are the same constant shape (posing a sequence) it
        is computed once, for one row, and reused while the shape does not change."""
        if shape.requires_grad or not bool((shape == shape[:1]).all()):
            return self.anny.get_rest_model(self._blendshape_coeffs(shape))
        key = shape[0].detach().cpu().numpy().tobytes()
        cached = getattr(self, "_rest_cache", None)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = (key, self.anny.get_rest_model(self._blendshape_coeffs(shape[:1])))
            self._rest_cache = cached
        n = shape.shape[0]
        return {k: v.expand(n, *v.shape[1:]) for k, v in cached[1].items()}

    def rest_bone_heads(self, shape: torch.Tensor) -> torch.Tensor:
        """``(N, B, 3)`` rest bone heads of ``shape`` (anny axes; differentiable and cheap: linear in
        the blend shapes, no bone orientations)."""
        from anny.skinning.skinning import apply_linear_blendshape

        return apply_linear_blendshape(self.anny.template_bone_heads, self.anny.bone_heads_blendshapes,
                                       self._blendshape_coeffs(shape.to(self.dtype)))

    def _blendshape_coeffs(self, shape: torch.Tensor) -> torch.Tensor:
        n = shape.shape[0]
        empty_local = torch.zeros(n, len(self.anny.local_change_labels), dtype=self.dtype, device=self.device)
        empty_face = torch.zeros(n, len(self.anny.facial_action_labels), dtype=self.dtype, device=self.device)
        return self.anny._get_phenotype_blendshape_coefficients(shape, empty_local, empty_face)

    def _root_reference(self, rest: dict) -> torch.Tensor:
        ref = self.anny.reference_bone_orientations
        if ref is None:
            return rest["rest_bone_poses"][:, 0, :3, :3]
        return ref[0].to(self.dtype).expand(rest["rest_bone_poses"].shape[0], 3, 3)

    def dense_weights(self) -> np.ndarray:
        """``(V, B)`` skinning weights."""
        w = self.anny.vertex_bone_weights.detach().cpu().double().numpy()
        idx = self.anny.vertex_bone_indices.detach().cpu().numpy()
        dense = np.zeros((w.shape[0], len(self.joint_names)))
        np.add.at(dense, (np.repeat(np.arange(w.shape[0]), w.shape[1]), idx.ravel()), w.ravel())
        return dense

    def rest_vertices(self, shape: torch.Tensor) -> torch.Tensor:
        """``(N, V, 3)`` rest-pose vertices of ``shape`` (anny axes; differentiable)."""
        return self.anny.get_rest_model(self._blendshape_coeffs(shape.to(self.dtype)))["rest_vertices"]

    def rest_skeleton(self, shape: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rest bone heads ``(N, B, 3)`` and rest bone rotations ``(N, B, 3, 3)`` (anny axes)."""
        rest = self._rest_model(shape.to(self.dtype))
        return rest["rest_bone_heads"], rest["rest_bone_poses"][..., :3, :3]

    def height(self, shape: torch.Tensor) -> torch.Tensor:
        """``(N,)`` standing height in metres (vertical extent of the rest mesh)."""
        v = self.rest_vertices(shape)
        return v[..., 2].amax(-1) - v[..., 2].amin(-1)

    def mass(self, shape: torch.Tensor) -> torch.Tensor:
        """``(N,)`` body mass in kg (``anny.Anthropometry``: mesh volume x 980 kg/m^3)."""
        from anny.anthropometry import Anthropometry

        return Anthropometry(self.anny).mass(self.rest_vertices(shape))


def sample_shapes(rng: np.random.Generator, n: int, age_range: tuple[float, float] = (6.0, 85.0),
                  female_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` Anny shapes across sex and age, with age-dependent height, weight, muscle, proportions.

    Uses anny's calibrated age-conditional Beta distributions (fitted to WHO growth data for
    children, see ``anny.shape_distribution.SimpleShapeDistribution``) but draws every random
    number from ``rng``, so a seed gives the same people on any machine.

    Args:
        rng: the explicit numpy Generator.
        n: number of shapes.
        age_range: morphological age range in years (children to elders), uniform.
        female_fraction: probability of a female body (gender phenotype 1).

    Returns:
        ``(n, 6)`` phenotypes in :data:`PHENOTYPES` order, and ``(n,)`` ages in years.
    """
    if not (0 <= age_range[0] < age_range[1] <= 90):
        raise BodyModelError(f"sample_shapes: age_range must lie in [0, 90] years, got {age_range}")
    dist = _shape_distribution()
    years = rng.uniform(age_range[0], age_range[1], size=n)
    female = rng.random(n) < female_fraction
    ages = dist.morphological_age_mapping.morphological_to_anny_age(torch.as_tensor(years, dtype=torch.float64))
    out = np.zeros((n, len(PHENOTYPES)))
    out[:, 0] = np.where(female, 1.0, 0.0)
    out[:, 1] = ages.numpy()
    for col, what in ((2, "muscle"), (3, "weight"), (4, "height"), (5, "proportions")):
        boys = getattr(dist, f"boys_conditional_{what}_distribution").get_distribution_params(ages)
        girls = getattr(dist, f"girls_conditional_{what}_distribution").get_distribution_params(ages)
        a = np.where(female, girls[0].numpy(), boys[0].numpy())
        b = np.where(female, girls[1].numpy(), boys[1].numpy())
        out[:, col] = rng.beta(a, b)
    return np.clip(out, 0.0, 1.0), years


_SHAPE_DIST = []


def _shape_distribution():
    if not _SHAPE_DIST:
        from anny.shape_distribution import SimpleShapeDistribution

        class _Stub:  # SimpleShapeDistribution only reads dtype, device and phenotype_labels
            dtype = torch.float64
            device = torch.device("cpu")
            phenotype_labels = list(PHENOTYPES)

        _SHAPE_DIST.append(SimpleShapeDistribution(_Stub()))
    return _SHAPE_DIST[0]
