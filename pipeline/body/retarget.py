"""Pose a body model from OpenSim coordinates on a (scaled) OpenSim skeleton.

This is the "fit the body to the OpenSim skeleton" step: it gives the mesh sequence the renderer
draws (OpenSim axes, :class:`~pipeline.body.mesh.MeshSequence`) and, in the round-trip test, the
body whose virtual markers go back through scaling and IK.

Method (closed form, no per-frame optimisation):

1. Rest alignment, once per (body shape, skeleton). For every OpenSim body, a segment frame is
   built in both models from the same anatomy: a primary axis between joint centres (hip -> knee
   for the femur, ...) or markers (heel -> toe for the foot), and a secondary axis between two
   markers (medial -> lateral epicondyle, posterior -> anterior pelvis, ...), using the skeleton's
   markers at its default pose and the body's layout vertices at its rest pose.
   ``align_k = F_opensim,k F_body,k^T`` rotates the body's rest segment onto the OpenSim segment.
2. Per frame, every Anny bone mapped to OpenSim body ``k`` gets the world orientation
   ``R_k(q) R_k(q_default)^T align_k R_bone,rest``: the bone moves exactly as its OpenSim body
   does. The root is placed so that the midpoint of the body's hip joints coincides with the
   midpoint of the skeleton's hip joint centres.
3. Shape: :func:`fit_shape` chooses Anny phenotypes (height, proportions, by default) so that the
   body's segment lengths follow the skeleton's (torch, a few dozen L-BFGS steps on the rest
   skeleton).

A full MoSh++-style fit (shape + pose against markers and a trained joint regressor) is a later
issue; it can replace :func:`retarget` without changing its inputs and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import axes
from ..errors import BodyModelError
from ..log import get_logger
from .layouts import Layout, load_layout
from .mesh import MeshSequence

log = get_logger("body.retarget")


def anny_bone_body(bone: str) -> str:
    """The OpenSim body (generic model names) an Anny bone follows."""
    side = {"L": "_l", "R": "_r"}.get(bone.rsplit(".", 1)[-1], "") if "." in bone else ""
    stem = bone.rsplit(".", 1)[0]
    if stem in ("root", "pelvis", "spine05", "spine04"):  # spine04 skins the lower abdomen and sacrum
        return "pelvis"
    if stem.startswith("upperleg"):
        return "femur" + side
    if stem.startswith("lowerleg"):
        return "tibia" + side
    if stem == "foot":
        return "calcn" + side
    if stem.startswith("toe"):
        return "toes" + side
    if stem.startswith("upperarm"):
        return "humerus" + side
    if stem == "lowerarm01":
        return "ulna" + side
    if stem == "lowerarm02":
        return "radius" + side
    if stem == "wrist" or stem.startswith(("finger", "metacarpal")):
        return "hand" + side
    return "torso"  # spine03..01, clavicles, shoulders, neck, head, eyes


#: Segment frames: body -> (primary from, primary to, secondary from, secondary to). Names are
#: ``J:<generic joint>`` (joint centre) or marker names; a tuple means a midpoint.
_SEGMENT_FRAMES = {
    "pelvis": ("J:hip_l", "J:hip_r", ("LPSI", "RPSI"), ("LASI", "RASI")),
    "torso": (("T10", "STRN"), ("C7", "CLAV"), ("C7", "T10"), ("CLAV", "STRN")),
}
for _s, _S in (("l", "L"), ("r", "R")):
    _SEGMENT_FRAMES.update({
        f"femur_{_s}": (f"J:hip_{_s}", f"J:knee_{_s}", f"{_S}KNM", f"{_S}KNE"),
        f"tibia_{_s}": (f"J:knee_{_s}", f"J:ankle_{_s}", f"{_S}ANM", f"{_S}ANK"),
        f"calcn_{_s}": (f"{_S}HEE", f"{_S}TOE", f"{_S}TOE", f"{_S}MT5"),
        f"humerus_{_s}": (f"J:shoulder_{_s}", f"J:elbow_{_s}", f"{_S}ELM", f"{_S}ELB"),
        f"ulna_{_s}": (f"J:elbow_{_s}", f"J:wrist_{_s}", f"{_S}WRB", f"{_S}WRA"),
        f"hand_{_s}": (f"J:wrist_{_s}", f"{_S}FIN", f"{_S}WRB", f"{_S}WRA"),
    })
    # bodies without their own landmarks share a neighbour's frame
    _SEGMENT_FRAMES[f"patella_{_s}"] = _SEGMENT_FRAMES[f"tibia_{_s}"]
    _SEGMENT_FRAMES[f"talus_{_s}"] = _SEGMENT_FRAMES[f"calcn_{_s}"]
    _SEGMENT_FRAMES[f"toes_{_s}"] = _SEGMENT_FRAMES[f"calcn_{_s}"]
    _SEGMENT_FRAMES[f"radius_{_s}"] = _SEGMENT_FRAMES[f"ulna_{_s}"]

#: OpenSim bodies that move together closely enough to count as one for marker rigidity. Not the
#: radius and the ulna: pronation turns the radius (and the distal forearm skin, Anny's
#: lowerarm02) up to 90 deg about the ulna.
RIGID_GROUPS = {}
for _s in ("l", "r"):
    RIGID_GROUPS.update({f"patella_{_s}": f"tibia_{_s}", f"talus_{_s}": f"calcn_{_s}"})


def rigid_group(body: str) -> str:
    return RIGID_GROUPS.get(body, body)


def anny_marker_purity(body, marker_bodies: dict[str, str]) -> dict[str, np.ndarray]:
    """Per marker, ``(V,)`` share of each vertex's skinning weight that moves with the marker's body."""
    w = body.dense_weights()
    groups = [rigid_group(anny_bone_body(b)) for b in body.joint_names]
    out, cache = {}, {}
    for marker, osim_body in marker_bodies.items():
        g = rigid_group(osim_body)
        if g not in cache:
            cache[g] = w[:, [i for i, gg in enumerate(groups) if gg == g]].sum(1)
        out[marker] = cache[g]
    return out


#: Generic joint -> OpenSim body whose origin is that joint centre (generic model).
_OPENSIM_JOINT_BODY = {}
for _s in ("l", "r"):
    _OPENSIM_JOINT_BODY.update({f"hip_{_s}": f"femur_{_s}", f"knee_{_s}": f"tibia_{_s}", f"ankle_{_s}": f"talus_{_s}",
                                f"shoulder_{_s}": f"humerus_{_s}", f"elbow_{_s}": f"ulna_{_s}", f"wrist_{_s}": f"hand_{_s}"})


def _frame(p0, p1, s0, s1) -> np.ndarray:
    """Orthonormal frame (3x3, columns e1 e2 e3) from a primary and a secondary direction."""
    e1 = p1 - p0
    e1 = e1 / np.linalg.norm(e1)
    e2 = s1 - s0
    e2 = e2 - (e2 @ e1) * e1
    n = np.linalg.norm(e2)
    if n < 1e-6:
        raise BodyModelError("retarget: degenerate segment frame (secondary axis parallel to the primary)")
    e2 = e2 / n
    return np.stack([e1, e2, np.cross(e1, e2)], axis=1)


def _point(spec, joints: dict, markers: dict) -> np.ndarray:
    if isinstance(spec, tuple):
        return np.mean([_point(s, joints, markers) for s in spec], axis=0)
    if spec.startswith("J:"):
        return joints[spec[2:]]
    return markers[spec]


@dataclass
class RetargetRig:
    """What :func:`retarget` needs, precomputed for one body shape and one skeleton (OpenSim axes).

    Attributes:
        bone_body: ``(B,)`` index into the skeleton's bodies for each body-model bone.
        offsets: ``(B, 3, 3)`` ``R_k(q_default)^T align_k R_bone,rest``: each bone's constant
            rotation in its OpenSim body's frame.
        positions: ``(B, 3)`` each bone's head in its OpenSim body's frame, taken from the aligned
            rest pose (the chain of aligned bones hung from the skeleton's hip centres).
        hip_offset: ``(3,)`` rest root head minus rest hip midpoint, in the pelvis body frame.
        shape: ``(1, S)`` the body shape it was built for.
    """

    bone_body: torch.Tensor
    offsets: torch.Tensor
    hip_offset: torch.Tensor
    shape: torch.Tensor
    hip_bodies: tuple[int, int]
    pelvis: int
    positions: torch.Tensor | None = None  # (B, 3) bone heads in their OpenSim body's frame


def _skeleton_landmarks(skeleton, q0: torch.Tensor, scales) -> tuple[dict, dict, torch.Tensor]:
    out = skeleton(q0[None], scales=None if scales is None else scales[None])
    origins = out.body_origins[0].detach().cpu().double().numpy()
    rots = out.body_rotations[0].detach().cpu().double()
    bidx = {b: i for i, b in enumerate(skeleton.body_names)}
    joints = {g: origins[bidx[b]] for g, b in _OPENSIM_JOINT_BODY.items() if b in bidx}
    markers = dict(zip(skeleton.marker_names, out.markers[0].detach().cpu().double().numpy()))
    return joints, markers, rots


def default_q(skeleton) -> torch.Tensor:
    """The model's default coordinates ``(C,)``."""
    return torch.tensor([c.default_value for c in skeleton.model.coordinates], dtype=skeleton.dtype, device=skeleton.device)


def build_rig(body, shape: torch.Tensor, skeleton, scales: torch.Tensor | None = None,
              layout: Layout | None = None) -> RetargetRig:
    """Rest alignment of an Anny body (shape ``(1, 6)``) to ``skeleton`` (see the module doc)."""
    from .landmarks import joint_alias_table

    if body.topology != "anny":
        raise BodyModelError(f"retarget: only the anny body is retargeted so far (got {body.topology})")
    layout = layout or load_layout("anny")
    missing_bodies = sorted({anny_bone_body(b) for b in body.joint_names} - set(skeleton.body_names))
    if missing_bodies:
        raise BodyModelError(f"retarget: the OpenSim model lacks bodies {', '.join(missing_bodies)} "
                             "(use a model with the generic model's body names)")
    needed = {m for spec in _SEGMENT_FRAMES.values() for s in spec for m in (s if isinstance(s, tuple) else (s,))
              if not m.startswith("J:")}
    absent = sorted(needed - set(skeleton.marker_names))
    if absent:
        raise BodyModelError(f"retarget: the OpenSim model lacks markers {', '.join(absent)}")
    M = torch.as_tensor(axes.ANNY_TO_OPENSIM, dtype=body.dtype, device=body.device)
    with torch.no_grad():
        heads, rots = body.rest_skeleton(shape)
        rest_v = body.rest_vertices(shape)[0]
    heads_os = (heads[0] @ M.T).double().cpu().numpy()
    rots_os = (M @ rots[0]).double().cpu()
    v_os = (rest_v @ M.T).double().cpu().numpy()
    b_joints = {g: heads_os[body.joint_index(n)] for g, n in joint_alias_table("anny").items()}
    b_markers = {n: v_os[i] for n, i in zip(layout.names, layout.vertex_ids)}

    q0 = default_q(skeleton)
    s_joints, s_markers, s_rots = _skeleton_landmarks(skeleton, q0, scales)
    bidx = {b: i for i, b in enumerate(skeleton.body_names)}
    align = {}
    for k, spec in _SEGMENT_FRAMES.items():
        if k not in bidx:
            continue
        f_os = _frame(*(_point(s, s_joints, s_markers) for s in spec))
        f_body = _frame(*(_point(s, b_joints, b_markers) for s in spec))
        align[k] = torch.as_tensor(f_os @ f_body.T, dtype=torch.float64)
    bone_body = [bidx[anny_bone_body(b)] for b in body.joint_names]
    offsets = torch.stack([
        s_rots[bone_body[i]].T @ align[anny_bone_body(b)] @ rots_os[i] for i, b in enumerate(body.joint_names)])
    hip_mid = 0.5 * (b_joints["hip_l"] + b_joints["hip_r"])
    pelvis = bidx["pelvis"]
    hip_offset = s_rots[pelvis].T @ align["pelvis"] @ torch.as_tensor(heads_os[0] - hip_mid)
    kw = dict(dtype=body.dtype, device=body.device)
    rig = RetargetRig(
        bone_body=torch.tensor(bone_body, dtype=torch.long, device=body.device),
        offsets=offsets.to(**kw), hip_offset=hip_offset.to(**kw), shape=shape.detach().to(**kw),
        hip_bodies=(bidx["femur_l"], bidx["femur_r"]), pelvis=pelvis)
    # Bone heads in their body frames: pose the aligned rest (bones chained from the hips), once.
    with torch.no_grad():
        fk0 = skeleton(q0[None], scales=None if scales is None else scales[None])
        pose, root = pose_from_skeleton(rig, fk0.body_rotations, fk0.body_origins)
        h0 = body.rest_bone_heads(shape)[0, 0]
        res = body(shape, pose.to(body.dtype), root.to(body.dtype) - h0, pose_space="world")
        heads_w = res.joints[0].double().cpu() @ M.T.double().cpu()  # bone heads, OpenSim axes
        Rk = fk0.body_rotations[0].double().cpu()[bone_body]
        ok = fk0.body_origins[0].double().cpu()[bone_body]
        rig.positions = (Rk.transpose(-1, -2) @ (heads_w - ok).unsqueeze(-1)).squeeze(-1).to(**kw)
    return rig


def pose_from_skeleton(rig: RetargetRig, body_rotations: torch.Tensor, body_origins: torch.Tensor):
    """Anny world-orient pose and root translation from OpenSim body poses.

    Args:
        body_rotations: ``(T, K, 3, 3)`` skeleton body rotations (ground frame).
        body_origins: ``(T, K, 3)`` skeleton body origins.

    Returns:
        ``(T, B, 3, 3)`` bone world orientations and ``(T, 3)`` translation, both in Anny axes,
        for ``AnnyBody.forward(..., pose_space="world")``.
    """
    M = torch.as_tensor(axes.ANNY_TO_OPENSIM, dtype=rig.offsets.dtype, device=rig.offsets.device)
    R = body_rotations.to(rig.offsets.dtype)
    w_os = R[:, rig.bone_body] @ rig.offsets  # (T, B, 3, 3) bone orientations, OpenSim axes
    hip_mid = 0.5 * (body_origins[:, rig.hip_bodies[0]] + body_origins[:, rig.hip_bodies[1]]).to(rig.offsets.dtype)
    root_os = hip_mid + (R[:, rig.pelvis] @ rig.hip_offset)
    return M.T @ w_os, root_os @ M  # to Anny axes: p_anny = M^T p_os


def bone_poses_from_skeleton(rig: RetargetRig, body_rotations: torch.Tensor, body_origins: torch.Tensor):
    """Full bone poses ``(T, B, 4, 4)`` in Anny axes (for ``pose_space="absolute"``): every bone
    moves rigidly with its OpenSim body, ``W_bone = T_body(q) C_bone``."""
    M = torch.as_tensor(axes.ANNY_TO_OPENSIM, dtype=rig.offsets.dtype, device=rig.offsets.device)
    R = body_rotations.to(rig.offsets.dtype)[:, rig.bone_body]
    o = body_origins.to(rig.offsets.dtype)[:, rig.bone_body]
    rot = M.T @ (R @ rig.offsets)
    pos = (o + (R @ rig.positions.unsqueeze(-1)).squeeze(-1)) @ M
    out = torch.zeros(*rot.shape[:-2], 4, 4, dtype=rot.dtype, device=rot.device)
    out[..., :3, :3] = rot
    out[..., :3, 3] = pos
    out[..., 3, 3] = 1.0
    return out


def retarget(body, rig: RetargetRig, skeleton, q: torch.Tensor, scales: torch.Tensor | None = None,
             chunk: int = 100, progress: bool = False, rigid: bool = True) -> torch.Tensor:
    """Posed body vertices ``(T, V, 3)`` (OpenSim axes, metres) for coordinates ``q (T, C)``.

    ``rigid`` (default): every bone follows its OpenSim body's full pose (rotation and position),
    so the skin over a segment moves exactly as the segment does, pivots included. Otherwise only
    bone orientations follow and the bones stay chained (the body's own pivots).
    """
    from ..log import progress as progress_iter

    M = torch.as_tensor(axes.ANNY_TO_OPENSIM, dtype=body.dtype, device=body.device)
    out = []
    starts = range(0, q.shape[0], chunk)
    it = progress_iter(starts, desc="retarget", total=len(starts), unit="chunk") if progress else starts
    h0 = body.rest_bone_heads(rig.shape)[0, 0]
    for s in it:
        qq = q[s:s + chunk].to(skeleton.dtype)
        fk = skeleton(qq, scales=None if scales is None else scales.expand(qq.shape[0], *scales.shape[-2:]))
        if rigid:
            poses = bone_poses_from_skeleton(rig, fk.body_rotations, fk.body_origins)
            res = body(rig.shape, poses.to(body.dtype), pose_space="absolute")
        else:
            pose, root = pose_from_skeleton(rig, fk.body_rotations, fk.body_origins)
            res = body(rig.shape, pose.to(body.dtype), (root.to(body.dtype) - h0), pose_space="world")
        out.append(res.vertices @ M.T)
    return torch.cat(out)


def retarget_mesh(body, rig: RetargetRig, skeleton, q, fps: float, scales=None, name: str = "retarget",
                  progress: bool = True) -> MeshSequence:
    """:func:`retarget` as a :class:`MeshSequence` (OpenSim axes) for the renderer."""
    q = torch.as_tensor(np.asarray(q), dtype=skeleton.dtype, device=skeleton.device) if not isinstance(q, torch.Tensor) else q
    with torch.no_grad():
        v = retarget(body, rig, skeleton, q, scales, progress=progress)
    return body.mesh_sequence(v, fps=fps, name=name, world_to_opensim=np.eye(3))


# ---- the skeleton of a body -------------------------------------------------------------------

def _anny_rest_joints_os(body, shape: torch.Tensor) -> dict:
    from .landmarks import joint_alias_table

    M = np.asarray(axes.ANNY_TO_OPENSIM)
    with torch.no_grad():
        heads = body.rest_bone_heads(shape)[0].double().cpu().numpy() @ M.T
    return {g: heads[body.joint_index(n)] for g, n in joint_alias_table("anny").items()}


def skeleton_scales_for_body(body, shape: torch.Tensor, skeleton) -> dict[str, np.ndarray]:
    """Per-body scale factors that put the skeleton's joint centres where the body's joints are.

    Uniform factor per body from segment lengths between joint centres (hip width for the pelvis,
    hip -> knee for the femur, knee -> ankle for the tibia and patella, ankle -> MTP for the foot,
    shoulder -> elbow for the humerus, elbow -> wrist for the forearm and hand), left and right
    averaged; the torso's vertical factor makes the shoulders' height above the hips match and its
    other factors the shoulder width. Retargeting the body onto the skeleton scaled so makes the
    body's joints turn about the skeleton's joint centres: the mesh and the kinematic labels agree.
    """
    a = _anny_rest_joints_os(body, shape)
    out = skeleton(default_q(skeleton)[None])
    bidx = {b: i for i, b in enumerate(skeleton.body_names)}
    org = {b: out.body_origins[0, i].detach().cpu().double().numpy() for b, i in bidx.items()}

    def ratio(ja, jb, ba, bb):
        r = [np.linalg.norm(a[ja.format(s=s)] - a[jb.format(s=s)]) / np.linalg.norm(org[ba.format(s=s)] - org[bb.format(s=s)])
             for s in ("l", "r")]
        return float(np.mean(r))

    f = {
        "pelvis": np.linalg.norm(a["hip_l"] - a["hip_r"]) / np.linalg.norm(org["femur_l"] - org["femur_r"]),
        "femur": ratio("hip_{s}", "knee_{s}", "femur_{s}", "tibia_{s}"),
        "tibia": ratio("knee_{s}", "ankle_{s}", "tibia_{s}", "talus_{s}"),
        "foot": ratio("ankle_{s}", "toe_{s}", "talus_{s}", "toes_{s}"),
        "humerus": ratio("shoulder_{s}", "elbow_{s}", "humerus_{s}", "ulna_{s}"),
        "forearm": ratio("elbow_{s}", "wrist_{s}", "ulna_{s}", "hand_{s}"),
    }
    scales = {"pelvis": np.full(3, f["pelvis"])}
    for s in ("l", "r"):
        scales.update({f"femur_{s}": np.full(3, f["femur"]), f"tibia_{s}": np.full(3, f["tibia"]),
                       f"patella_{s}": np.full(3, f["tibia"]), f"talus_{s}": np.full(3, f["foot"]),
                       f"calcn_{s}": np.full(3, f["foot"]), f"toes_{s}": np.full(3, f["foot"]),
                       f"humerus_{s}": np.full(3, f["humerus"]), f"ulna_{s}": np.full(3, f["forearm"]),
                       f"radius_{s}": np.full(3, f["forearm"]), f"hand_{s}": np.full(3, f["forearm"])})
    # torso: shoulders above the hips (the pelvis part is already scaled), and shoulder width
    hip_mid = 0.5 * (org["femur_l"] + org["femur_r"])
    sh_mid = 0.5 * (org["humerus_l"] + org["humerus_r"])
    lumbar = org["torso"]
    pelvis_part = (lumbar - hip_mid)[1] * f["pelvis"]
    torso_part = (sh_mid - lumbar)[1]
    target = (0.5 * (a["shoulder_l"] + a["shoulder_r"]) - 0.5 * (a["hip_l"] + a["hip_r"]))[1]
    ty = (target - pelvis_part) / torso_part
    tw = np.linalg.norm(a["shoulder_l"] - a["shoulder_r"]) / np.linalg.norm(org["humerus_l"] - org["humerus_r"])
    scales["torso"] = np.array([tw, ty, tw])
    return {b: v for b, v in scales.items() if b in bidx}


def scales_tensor(skeleton, scales: dict | None) -> torch.Tensor | None:
    """``(B, 3)`` scale table of a {body: (3,)} mapping (ones for bodies not listed)."""
    if scales is None:
        return None
    S = torch.ones(len(skeleton.body_names), 3, dtype=skeleton.dtype, device=skeleton.device)
    for b, v in scales.items():
        if b in skeleton.body_names:
            S[skeleton.body_names.index(b)] = torch.as_tensor(np.asarray(v, float).reshape(3), dtype=skeleton.dtype)
    return S


# ---- shape ----------------------------------------------------------------------------------

#: Skeleton segment lengths the shape fit matches: (generic joint a, generic joint b).
_LENGTHS = [("hip_l", "hip_r"), ("shoulder_l", "shoulder_r")]
for _s in ("l", "r"):
    _LENGTHS += [(f"hip_{_s}", f"knee_{_s}"), (f"knee_{_s}", f"ankle_{_s}"), (f"shoulder_{_s}", f"elbow_{_s}"),
                 (f"elbow_{_s}", f"wrist_{_s}"), (f"hip_{_s}", f"shoulder_{_s}")]


def skeleton_lengths(skeleton, scales: torch.Tensor | None = None) -> torch.Tensor:
    """``(L,)`` the skeleton's segment lengths of :data:`_LENGTHS` at its default pose (metres)."""
    joints, _, _ = _skeleton_landmarks(skeleton, default_q(skeleton), scales)
    return torch.tensor([np.linalg.norm(joints[a] - joints[b]) for a, b in _LENGTHS], dtype=torch.float64)


def fit_shape(body, target_lengths: torch.Tensor, init: torch.Tensor | None = None,
              free: tuple[str, ...] = ("height", "proportions", "weight"), iterations: int = 40) -> torch.Tensor:
    """Anny phenotypes ``(1, 6)`` whose rest segment lengths best match ``target_lengths`` (metres).

    Only the ``free`` phenotypes move (the others keep ``init``, default average); the fit is an
    L-BFGS least squares on relative length errors, phenotypes kept in [0, 1] by a sigmoid.
    """
    from .landmarks import joint_alias_table
    from .models.anny_model import PHENOTYPES

    alias = joint_alias_table("anny")
    ia = [body.joint_index(alias[a]) for a, _ in _LENGTHS]
    ib = [body.joint_index(alias[b]) for _, b in _LENGTHS]
    init = body.default_shape(1) if init is None else init.to(body.dtype).reshape(1, -1)
    idx = [PHENOTYPES.index(f) for f in free]
    x0 = torch.logit(init[0, idx].clamp(0.02, 0.98)).detach()
    x = x0.clone().requires_grad_(True)
    target = target_lengths.to(body.dtype)

    def shape_of(x):
        s = init.clone()
        s[0, idx] = torch.sigmoid(x)
        return s

    def loss_fn():
        heads = body.rest_bone_heads(shape_of(x))
        L = (heads[0, ia] - heads[0, ib]).norm(dim=-1)
        return (((L - target) / target) ** 2).mean() + 1e-4 * ((x - x0) ** 2).mean()

    opt = torch.optim.LBFGS([x], lr=0.5, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        shape = shape_of(x).detach()
        heads = body.rest_bone_heads(shape)
        L = (heads[0, ia] - heads[0, ib]).norm(dim=-1)
        err = ((L - target).abs() / target).max().item()
    log.debug("fit_shape: phenotypes %s, worst segment length error %.1f %%", shape.tolist(), 100 * err)
    return shape
