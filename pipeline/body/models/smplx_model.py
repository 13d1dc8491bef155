"""SMPL-X, SMPL-H and SMPL through the ``smplx`` package, with the user's licensed model files.

The model files never ship with odah: the user gives a folder (config ``paths.smplx_models``).
Accepted layouts inside it (first match wins)::

    <folder>/smplx/SMPLX_NEUTRAL.npz      (smplx package layout; also .pkl)
    <folder>/SMPLX_NEUTRAL.npz
    <folder>/smplh/neutral/model.npz      (AMASS / human_body_prior layout)
    <folder>/SMPLH_MALE.pkl, <folder>/smpl/SMPL_FEMALE.pkl, ...

Model axes: Y up, metres, the body facing +Z (``pipeline.axes.SMPL_TO_OPENSIM``). AMASS files put
the body in a Z-up world through the global orientation; the AMASS source converts that world with
``pipeline.axes.AMASS_TO_OPENSIM``.

Shape: ``(N, num_betas)`` betas. Pose: ``(N, 3 * J)`` axis-angle full pose in the AMASS order
(global orient, body, then jaw + eyes for SMPL-X, then left and right hand): 165 values for
SMPL-X, 156 for SMPL-H, 72 for SMPL. Hands are full 45-dim axis-angle (no PCA, flat hand mean),
as AMASS stores them.
"""

from __future__ import annotations

import contextlib
import io
import pickle
from pathlib import Path

import numpy as np
import torch

from ... import axes
from ...errors import BodyModelError
from .base import BodyModel, BodyOutput, LimbAxis, batch_shape, limb_coordinates, part_labels_from_weights

#: Per model type: number of kinematic joints, of pose values, and how many betas smplx's class
#: accepts at most (SMPL-X keeps its shape/expression split; SMPL/SMPL-H get their shapedirs padded).
MODEL_TYPES = {
    "smplx": dict(joints=55, pose=165, cls="SMPLX"),
    "smplh": dict(joints=52, pose=156, cls="SMPLH"),
    "smpl": dict(joints=24, pose=72, cls="SMPL"),
}
GENDERS = ("neutral", "male", "female")

_HAND = ["index1", "index2", "index3", "middle1", "middle2", "middle3", "pinky1", "pinky2", "pinky3",
         "ring1", "ring2", "ring3", "thumb1", "thumb2", "thumb3"]
_BODY = ["pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
         "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
         "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist"]


def joint_names(model_type: str) -> tuple[str, ...]:
    """Kinematic joint names of a model type, in the order of its pose vector."""
    hands = [f"left_{h}" for h in _HAND] + [f"right_{h}" for h in _HAND]
    if model_type == "smplx":
        return tuple(_BODY + ["jaw", "left_eye", "right_eye"] + hands)
    if model_type == "smplh":
        return tuple(_BODY + hands)
    if model_type == "smpl":
        return tuple(_BODY + ["left_hand", "right_hand"])
    raise BodyModelError(f"unknown SMPL-family model type {model_type!r} (expected smplx, smplh or smpl)")


def joint_part(name: str) -> str:
    """Body part of a SMPL-family joint (skinning weights -> part labels)."""
    side = "_l" if name.startswith("left_") else "_r" if name.startswith("right_") else ""
    stem = name.split("_", 1)[1] if side else name
    if stem == "pelvis":
        return "pelvis"
    if stem in ("spine1", "spine2", "spine3", "collar"):
        return "torso"
    if stem == "neck":
        return "neck"
    if stem in ("head", "jaw", "eye"):
        return "head"
    table = {"hip": "thigh", "knee": "shank", "ankle": "foot", "foot": "foot", "shoulder": "upperarm",
             "elbow": "forearm", "wrist": "hand", "hand": "hand"}
    if stem in table:
        return table[stem] + side
    if any(stem.startswith(f) for f in ("index", "middle", "pinky", "ring", "thumb")):
        return "hand" + side
    raise BodyModelError(f"SMPL-family joint {name!r} has no body part")


def _limb_axes(model_type: str) -> dict[str, LimbAxis]:
    hand_tip = {"smpl": "{s}_hand"}.get(model_type, "{s}_middle1")
    out = {
        "head": LimbAxis("neck", "head", "vertices"),
        "neck": LimbAxis("neck", "head"),
        "torso": LimbAxis("neck", ("left_hip", "right_hip")),
        "pelvis": LimbAxis("spine1", ("left_hip", "right_hip"), "vertices"),
    }
    for s, tag in (("left", "_l"), ("right", "_r")):
        out["thigh" + tag] = LimbAxis(f"{s}_hip", f"{s}_knee")
        out["shank" + tag] = LimbAxis(f"{s}_knee", f"{s}_ankle")
        out["foot" + tag] = LimbAxis(f"{s}_ankle", f"{s}_foot", "vertices")
        out["upperarm" + tag] = LimbAxis(f"{s}_shoulder", f"{s}_elbow")
        out["forearm" + tag] = LimbAxis(f"{s}_elbow", f"{s}_wrist")
        out["hand" + tag] = LimbAxis(f"{s}_wrist", hand_tip.format(s=s), "vertices")
    return out


def find_model_file(folder: str | Path, model_type: str, gender: str) -> Path:
    """Locate the licensed model file of ``model_type``/``gender`` under ``folder`` (see module doc)."""
    if model_type not in MODEL_TYPES:
        raise BodyModelError(f"unknown SMPL-family model type {model_type!r} (expected smplx, smplh or smpl)")
    if gender not in GENDERS:
        raise BodyModelError(f"{model_type} body model: unknown gender {gender!r} (expected {', '.join(GENDERS)})")
    if not folder:
        raise BodyModelError(
            f"{model_type} body model: no model folder given; set paths.smplx_models to the folder holding "
            f"your licensed {model_type.upper()} files (odah never ships them)")
    folder = Path(folder).expanduser()
    if folder.is_file():
        return folder
    stem = f"{model_type.upper()}_{gender.upper()}"
    tried = []
    for sub in (folder / model_type, folder):
        for ext in ("npz", "pkl"):
            tried.append(sub / f"{stem}.{ext}")
    tried.append(folder / model_type / gender / "model.npz")
    tried.append(folder / gender / "model.npz")
    for p in tried:
        if p.is_file():
            return p
    raise BodyModelError(
        f"{model_type} body model: no {gender} model file under {folder} (tried "
        + ", ".join(str(p.relative_to(folder)) for p in tried) + ")")


def _read_model_data(path: Path) -> dict:
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=True) as z:
                return {k: z[k] for k in z.files}
        with open(path, "rb") as fh:
            return dict(pickle.load(fh, encoding="latin1"))
    except Exception as exc:  # corrupt file, chumpy pickles without chumpy, ...
        raise BodyModelError(f"{path}: cannot read the body model file ({type(exc).__name__}: {exc})") from exc


class SmplxBody(BodyModel):
    """A SMPL-family model through ``smplx`` (see the module docstring for shape and pose).

    Args:
        model_folder: folder (or file) of the licensed model files.
        model_type: ``smplx``, ``smplh`` or ``smpl``.
        gender: ``neutral``, ``male`` or ``female`` (AMASS SMPL-H files name male/female).
        num_betas: shape coefficients (AMASS: 16). Betas beyond the file's shape space have no effect.
    """

    up_axis = "y"
    units = "m"
    to_opensim_rotation = axes.SMPL_TO_OPENSIM

    def __init__(self, model_folder: str | Path, model_type: str = "smplx", gender: str = "neutral",
                 num_betas: int = 16, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"):
        super().__init__()
        import smplx
        from smplx.utils import Struct

        path = find_model_file(model_folder, model_type, gender)
        self.path = path
        self.topology = model_type
        self.gender = gender
        spec = MODEL_TYPES[model_type]
        data = _read_model_data(path)
        required = ["v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table"]
        if model_type != "smpl":
            required += ["hands_componentsl", "hands_componentsr", "hands_meanl", "hands_meanr"]
        if model_type == "smplx":
            required += ["lmk_faces_idx", "lmk_bary_coords"]
        missing = [k for k in required if k not in data]
        if missing:
            raise BodyModelError(f"{path}: not a {model_type.upper()} model file (missing key '{missing[0]}')")
        J = np.asarray(data["weights"]).shape[1]
        if J != spec["joints"]:
            raise BodyModelError(f"{path}: field 'weights' has {J} joints, a {model_type.upper()} model has {spec['joints']}")
        shapedirs = np.asarray(data["shapedirs"])
        if model_type != "smplx" and shapedirs.shape[-1] < 300:
            # smplx caps SMPL/SMPL-H at 10 betas when the file has < 300 components; AMASS uses 16.
            pad = np.zeros(shapedirs.shape[:2] + (300 - shapedirs.shape[-1],), shapedirs.dtype)
            data["shapedirs"] = np.concatenate([shapedirs, pad], axis=-1)
        self.num_betas = int(num_betas)
        kwargs = dict(gender=gender, num_betas=self.num_betas, dtype=torch.float32, batch_size=1)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # smplx prints warnings
                if model_type == "smplx":
                    model = smplx.SMPLX(str(path), ext=path.suffix[1:], use_pca=False, flat_hand_mean=True,
                                        num_expression_coeffs=10, **kwargs)
                elif model_type == "smplh":
                    model = smplx.SMPLH(str(path), data_struct=Struct(**data), use_pca=False, flat_hand_mean=True,
                                        ext=path.suffix[1:], **kwargs)
                else:
                    model = smplx.SMPL(str(path), data_struct=Struct(**data), **kwargs)
        except BodyModelError:
            raise
        except Exception as exc:
            raise BodyModelError(f"{path}: smplx could not build a {model_type.upper()} model ({type(exc).__name__}: {exc})") from exc
        self.smpl = model.to(device=device, dtype=dtype)
        self.num_betas = int(model.num_betas)
        self.shape_names = tuple(f"beta{i}" for i in range(self.num_betas))
        self.joint_names = joint_names(model_type)
        parents = model.parents.cpu().numpy().astype(int)
        self.parents = tuple(int(p) for p in parents)
        self.faces = np.asarray(model.faces, np.int64)
        self.uv = None  # SMPL-family UV maps are a separate download
        self.uv_faces = None
        weights = model.lbs_weights.detach().cpu().double().numpy()
        self.part_labels = part_labels_from_weights(weights, [joint_part(n) for n in self.joint_names],
                                                    f"{model_type} body model ({path.name})")
        with torch.no_grad():
            rest = self.rest()
        self.limb_coord = limb_coordinates(
            rest.vertices[0].double().cpu().numpy(), self.part_labels,
            dict(zip(self.joint_names, rest.joints[0].double().cpu().numpy())), _limb_axes(model_type),
            f"{model_type} body model ({path.name})")

    @property
    def pose_dim(self) -> int:
        return MODEL_TYPES[self.topology]["pose"]

    def default_shape(self, n: int = 1) -> torch.Tensor:
        return torch.zeros(n, self.num_betas, dtype=self.dtype, device=self.device)

    def zero_pose(self, n: int = 1) -> torch.Tensor:
        return torch.zeros(n, self.pose_dim, dtype=self.dtype, device=self.device)

    def forward(self, shape: torch.Tensor, pose: torch.Tensor, transl: torch.Tensor | None = None) -> BodyOutput:
        """Posed vertices ``(N, V, 3)`` and kinematic joints ``(N, J, 3)`` in SMPL axes, metres."""
        P = self.pose_dim
        if pose.ndim != 2 or pose.shape[1] != P:
            raise BodyModelError(f"{self.topology} body model: pose must be (N, {P}) axis-angle values, got {tuple(pose.shape)}")
        n = pose.shape[0]
        pose = pose.to(self.dtype)
        betas = batch_shape(shape.to(self.dtype), n, self.num_betas, f"{self.topology} body model")
        t = torch.zeros(n, 3, dtype=self.dtype, device=self.device) if transl is None else transl.to(self.dtype)
        args = dict(betas=betas, global_orient=pose[:, :3], body_pose=pose[:, 3:66], transl=t, return_verts=True)
        if self.topology == "smplx":
            args.update(jaw_pose=pose[:, 66:69], leye_pose=pose[:, 69:72], reye_pose=pose[:, 72:75],
                        left_hand_pose=pose[:, 75:120], right_hand_pose=pose[:, 120:165],
                        expression=torch.zeros(n, self.smpl.num_expression_coeffs, dtype=self.dtype, device=self.device))
        elif self.topology == "smplh":
            args.update(left_hand_pose=pose[:, 66:111], right_hand_pose=pose[:, 111:156])
        else:
            args.update(body_pose=pose[:, 3:72])
        out = self.smpl(**args)
        J = len(self.joint_names)
        return BodyOutput(vertices=out.vertices, joints=out.joints[:, :J])
