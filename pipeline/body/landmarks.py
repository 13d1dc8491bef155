"""Anatomical landmarks of the odah marker set, located on any body mesh from its rest skeleton.

Each marker of the fixed odah set (Plug-in Gait plus medial and 5th metacarpal markers; see
``marker_layouts/``) is described once, topology-free, by a ray: an origin built from skeleton
joints (generic names such as ``knee_r``) and a direction in body axes (anterior, superior,
lateral, ... in OpenSim axes: +X anterior, +Y superior, +Z right). The marker vertex is where that ray leaves the surface of
the allowed body parts: among the part's vertices within ``RAY_RADIUS`` of the ray and in front
of the origin, the one furthest along the ray.

This is how Anny's layout is built (``python -m pipeline.body.layouts build-anny``) and checked,
and how the test-time SMPL stand-in bodies are given anatomically meaningful vertex ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import MarkerLayoutError
from .mesh import BODY_PARTS

#: Generic skeleton points every topology maps to its own joints (see ``JOINT_ALIASES``).
GENERIC_JOINTS = (
    "hip_l", "hip_r", "knee_l", "knee_r", "ankle_l", "ankle_r", "toe_l", "toe_r",
    "shoulder_l", "shoulder_r", "elbow_l", "elbow_r", "wrist_l", "wrist_r",
    "finger_l", "finger_r", "thumb_l", "thumb_r", "pinky_l", "pinky_r", "neck", "head",
)

#: Per topology: generic joint -> the model's joint (its rest position).
JOINT_ALIASES: dict[str, dict[str, str]] = {
    "anny": {
        "hip_{s}": "upperleg01.{S}", "knee_{s}": "lowerleg01.{S}", "ankle_{s}": "foot.{S}",
        "toe_{s}": "toe2-1.{S}", "shoulder_{s}": "upperarm01.{S}", "elbow_{s}": "lowerarm01.{S}",
        "wrist_{s}": "wrist.{S}", "finger_{s}": "finger2-1.{S}", "thumb_{s}": "finger1-1.{S}",
        "pinky_{s}": "finger5-1.{S}", "neck": "neck01", "head": "head",
    },
    "smpl_hands": {  # SMPL-X and SMPL-H
        "hip_{s}": "{side}_hip", "knee_{s}": "{side}_knee", "ankle_{s}": "{side}_ankle",
        "toe_{s}": "{side}_foot", "shoulder_{s}": "{side}_shoulder", "elbow_{s}": "{side}_elbow",
        "wrist_{s}": "{side}_wrist", "finger_{s}": "{side}_index1", "thumb_{s}": "{side}_thumb1",
        "pinky_{s}": "{side}_pinky1", "neck": "neck", "head": "head",
    },
}
JOINT_ALIASES["smplx"] = JOINT_ALIASES["smplh"] = JOINT_ALIASES["smpl_hands"]

#: Rays that start inside the body and are searched along: vertices closer than this to the ray.
RAY_RADIUS = 0.012


def joint_alias_table(topology: str) -> dict[str, str]:
    """Generic joint -> model joint name for ``topology`` (both sides expanded)."""
    if topology not in JOINT_ALIASES:
        raise MarkerLayoutError(f"no landmark joint aliases for body topology {topology!r}")
    out = {}
    for generic, model in JOINT_ALIASES[topology].items():
        if "{s}" in generic:
            for s, S, side in (("l", "L", "left"), ("r", "R", "right")):
                out[generic.format(s=s)] = model.format(S=S, side=side)
        else:
            out[generic] = model
    return out


@dataclass(frozen=True)
class Landmark:
    """A ray from a skeleton point to the skin.

    ``origin``: weights of generic joints (plus ``hipmid``, ``head_centre``), summing to 1, and
    ``shift``: an offset in body axes (anterior, superior, right) in units of the hip width.
    ``direction``: (anterior, superior, lateral) components; lateral is towards the marker's side
    (+right for R markers, -right for L). ``towards``: a generic joint the direction points at
    instead (e.g. the thumb for the radial styloid). ``perpendicular_to``: a pair of generic joints;
    the direction is made perpendicular to that segment (so "lateral at the elbow" follows the arm
    whatever the rest pose). ``dorsal_hand``: the direction is the back of the hand.
    ``parts``: the body parts the marker may land on (side suffix ``_s`` expanded).
    """

    origin: Mapping[str, float]
    direction: tuple[float, float, float] = (0.0, 0.0, 0.0)
    parts: tuple[str, ...] = ()
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    towards: str | None = None
    perpendicular_to: tuple[str, str] | None = None
    dorsal_hand: bool = False
    description: str = ""
    extra: dict = field(default_factory=dict)


def _lm(**kw) -> Landmark:
    return Landmark(**kw)


#: The odah marker set as landmarks; ``_s`` is the marker's side. Keys are side-free templates
#: (``{S}KNE`` -> LKNE/RKNE) or plain names.
LANDMARKS: dict[str, Landmark] = {
    "{S}FHD": _lm(origin={"head_centre": 1.0}, direction=(1.0, 0.4, 0.8), parts=("head",),
                  description="front head, above the temple"),
    "{S}BHD": _lm(origin={"head_centre": 1.0}, direction=(-1.0, 0.2, 0.7), parts=("head",),
                  description="back head"),
    "C7": _lm(origin={"neck": 1.0}, shift=(0.0, 0.1, 0.0), direction=(-1.0, 0.15, 0.0), parts=("neck", "torso"),
              description="7th cervical spinous process, back of the neck base"),
    "T10": _lm(origin={"neck": 0.57, "hipmid": 0.43}, direction=(-1.0, 0.0, 0.0), parts=("torso",),
               description="10th thoracic spinous process, mid-back"),
    "CLAV": _lm(origin={"neck": 0.9, "hipmid": 0.1}, direction=(1.0, 0.0, 0.0), parts=("torso", "neck"),
                description="jugular notch, top of the sternum"),
    "STRN": _lm(origin={"neck": 0.62, "hipmid": 0.38}, direction=(1.0, 0.0, 0.0), parts=("torso",),
                description="xiphoid process, bottom of the sternum"),
    "RBAK": _lm(origin={"neck": 0.4, "hipmid": 0.25, "shoulder_r": 0.35}, direction=(-1.0, 0.0, 0.0),
                parts=("torso",), description="right scapula"),
    "{S}SHO": _lm(origin={"shoulder_s": 1.0}, direction=(0.0, 1.0, 0.25), parts=("torso", "upperarm_s"),
                  description="acromio-clavicular joint, top of the shoulder"),
    "{S}UPA": _lm(origin={"shoulder_s": 0.5, "elbow_s": 0.5}, direction=(0.0, 0.0, 1.0),
                  perpendicular_to=("shoulder_s", "elbow_s"), parts=("upperarm_s",),
                  description="lateral upper arm, mid-humerus"),
    "{S}ELB": _lm(origin={"elbow_s": 1.0}, direction=(0.0, 0.0, 1.0), perpendicular_to=("shoulder_s", "elbow_s"),
                  parts=("upperarm_s", "forearm_s"), description="lateral humeral epicondyle"),
    "{S}ELM": _lm(origin={"elbow_s": 1.0}, direction=(0.0, 0.0, -1.0), perpendicular_to=("shoulder_s", "elbow_s"),
                  parts=("upperarm_s", "forearm_s"), description="medial humeral epicondyle"),
    "{S}FRA": _lm(origin={"elbow_s": 0.5, "wrist_s": 0.5}, towards="thumb_s",
                  perpendicular_to=("elbow_s", "wrist_s"), parts=("forearm_s",),
                  description="lateral (radial) forearm, mid-shaft"),
    "{S}WRA": _lm(origin={"wrist_s": 1.0}, towards="thumb_s", perpendicular_to=("elbow_s", "wrist_s"),
                  parts=("forearm_s", "hand_s"), description="radial styloid, thumb side of the wrist"),
    "{S}WRB": _lm(origin={"wrist_s": 1.0}, towards="pinky_s", perpendicular_to=("elbow_s", "wrist_s"),
                  parts=("forearm_s", "hand_s"), description="ulnar styloid, little-finger side of the wrist"),
    "{S}FIN": _lm(origin={"wrist_s": 0.15, "finger_s": 0.85}, dorsal_hand=True, parts=("hand_s",),
                  description="dorsum of the hand at the 2nd metacarpal head"),
    "{S}FI5": _lm(origin={"wrist_s": 0.15, "pinky_s": 0.85}, dorsal_hand=True, parts=("hand_s",),
                  description="dorsum of the hand at the 5th metacarpal head"),
    "{S}ASI": _lm(origin={"hip_s": 1.0}, shift=(0.0, 0.45, 0.0), direction=(1.0, 0.0, 0.25),
                  parts=("pelvis", "torso", "thigh_s"), description="anterior superior iliac spine"),
    "{S}PSI": _lm(origin={"hip_s": 0.45, "hipmid": 0.55}, shift=(0.0, 0.4, 0.0), direction=(-1.0, 0.0, 0.0),
                  parts=("pelvis", "torso"), description="posterior superior iliac spine"),
    "{S}THI": _lm(origin={"hip_s": 0.33, "knee_s": 0.67}, direction=(0.0, 0.0, 1.0),
                  perpendicular_to=("hip_s", "knee_s"), parts=("thigh_s",), description="lateral thigh, lower third"),
    "{S}KNE": _lm(origin={"knee_s": 1.0}, direction=(0.0, 0.0, 1.0), perpendicular_to=("hip_s", "knee_s"),
                  parts=("thigh_s", "shank_s"), description="lateral femoral epicondyle"),
    "{S}KNM": _lm(origin={"knee_s": 1.0}, direction=(0.0, 0.0, -1.0), perpendicular_to=("hip_s", "knee_s"),
                  parts=("thigh_s", "shank_s"), description="medial femoral epicondyle"),
    "{S}TIB": _lm(origin={"knee_s": 0.33, "ankle_s": 0.67}, direction=(0.0, 0.0, 1.0),
                  perpendicular_to=("knee_s", "ankle_s"), parts=("shank_s",), description="lateral shank, lower third"),
    "{S}ANK": _lm(origin={"ankle_s": 1.0}, direction=(0.0, 0.0, 1.0), perpendicular_to=("knee_s", "ankle_s"),
                  parts=("shank_s", "foot_s"), description="lateral malleolus"),
    "{S}ANM": _lm(origin={"ankle_s": 1.0}, direction=(0.0, 0.0, -1.0), perpendicular_to=("knee_s", "ankle_s"),
                  parts=("shank_s", "foot_s"), description="medial malleolus"),
    "{S}HEE": _lm(origin={"ankle_s": 1.0}, extra={"at_height_of": "toe_s"}, direction=(-1.0, 0.0, 0.0),
                  parts=("foot_s",), description="calcaneus, back of the heel, at the toe marker's height"),
    "{S}TOE": _lm(origin={"toe_s": 1.0}, shift=(-0.1, 0.0, 0.0), direction=(0.0, 1.0, 0.0), parts=("foot_s",),
                  description="2nd metatarsal head, dorsum of the foot"),
    "{S}MT5": _lm(origin={"toe_s": 1.0}, shift=(-0.15, 0.0, 0.0), direction=(0.0, 0.2, 1.0), parts=("foot_s",),
                  description="5th metatarsal head, lateral border of the foot"),
}


def marker_landmarks() -> dict[str, tuple[Landmark, str | None]]:
    """Marker name -> (landmark, side 'l'/'r' or None), for the 49 markers of the odah set."""
    out = {}
    for key, lm in LANDMARKS.items():
        if "{S}" in key:
            out[key.format(S="L")] = (lm, "l")
            out[key.format(S="R")] = (lm, "r")
        else:
            out[key] = (lm, "r" if key.startswith("R") and key != "RBAK" else None)
    out["RBAK"] = (LANDMARKS["RBAK"], "r")
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    if n < 1e-12:
        raise MarkerLayoutError("landmark direction has zero length")
    return v / n


#: With skinning purities given, a marker moves off its ray exit point (at most this far, metres)
#: to a vertex that moves rigidly with its bone (at least this share of its skinning weight).
PURITY_RADIUS = 0.04
PURITY_MIN = 0.9


def locate_landmarks(vertices: np.ndarray, part_labels: np.ndarray, joints: Mapping[str, np.ndarray],
                     names: list[str] | None = None, faces: np.ndarray | None = None,
                     purity: Mapping[str, np.ndarray] | None = None) -> dict[str, int]:
    """Find the vertex of each marker on a rest-pose mesh.

    Args:
        vertices: ``(V, 3)`` rest vertices in OpenSim axes (X anterior, Y up, Z right), metres.
        part_labels: ``(V,)`` indices into :data:`BODY_PARTS`.
        joints: generic joint name (:data:`GENERIC_JOINTS`) -> ``(3,)`` position, OpenSim axes.
        names: markers to locate (default: all 49).
        faces: if given, only vertices used by a face are candidates.
        purity: optional marker -> ``(V,)`` share of each vertex's skinning weight on the marker's
            bone. Skin over a bony landmark moves with that bone, so the marker then moves from the
            ray's exit point to the nearest vertex (within :data:`PURITY_RADIUS`) whose purity is at
            least :data:`PURITY_MIN` (or the purest one there).

    Returns:
        marker name -> vertex index.
    """
    v = np.asarray(vertices, np.float64)
    labels = np.asarray(part_labels)
    j = {k: np.asarray(p, np.float64) for k, p in joints.items()}
    missing = [g for g in GENERIC_JOINTS if g not in j]
    if missing:
        raise MarkerLayoutError(f"locate_landmarks: skeleton point {missing[0]!r} missing")
    j["hipmid"] = 0.5 * (j["hip_l"] + j["hip_r"])
    head_mask = labels == BODY_PARTS.index("head")
    # Halfway from the skull base (the head joint) to the crown: inner structures such as eyes,
    # teeth and tongue would bias a vertex mean.
    top = v[head_mask][np.argmax(v[head_mask][:, 1])] if head_mask.any() else j["head"]
    j["head_centre"] = 0.5 * (j["head"] + top)
    hip_width = float(np.linalg.norm(j["hip_l"] - j["hip_r"]))
    used = np.ones(len(v), bool)
    if faces is not None:
        used[:] = False
        used[np.unique(np.asarray(faces))] = True
    table = marker_landmarks()
    out = {}
    for name in names or list(table):
        if name not in table:
            raise MarkerLayoutError(f"no landmark definition for marker {name!r}")
        lm, side = table[name]
        sign = {"l": -1.0, "r": 1.0, None: 1.0}[side]

        def g(key: str) -> str:
            return key.replace("_s", f"_{side}") if side else key

        origin = sum(w * j[g(k)] for k, w in lm.origin.items())
        origin = origin + hip_width * np.array(lm.shift)
        if "at_height_of" in lm.extra:
            origin[1] = j[g(lm.extra["at_height_of"])][1]
        if lm.dorsal_hand:
            axis = _unit(j[g("finger_s")] - j[g("wrist_s")])
            thumb = j[g("thumb_s")] - j[g("wrist_s")]
            thumb = _unit(thumb - (thumb @ axis) * axis)
            d = _unit(sign * np.cross(axis, thumb))
        elif lm.towards:
            d = j[g(lm.towards)] - origin
        else:
            a, s, lat = lm.direction
            d = np.array([a, s, sign * lat])
        if lm.perpendicular_to:
            seg = _unit(j[g(lm.perpendicular_to[1])] - j[g(lm.perpendicular_to[0])])
            d = d - (d @ seg) * seg
        d = _unit(d)
        parts = [BODY_PARTS.index(g(p)) for p in lm.parts]
        cand = np.flatnonzero(np.isin(labels, parts) & used)
        if cand.size == 0:
            raise MarkerLayoutError(f"marker {name}: no vertex on parts {[g(p) for p in lm.parts]}")
        rel = v[cand] - origin
        along = rel @ d
        perp = np.linalg.norm(rel - along[:, None] * d, axis=1)
        ok = (along > 0) & (perp < RAY_RADIUS)
        if not ok.any():  # a sparse mesh: widen to the nearest vertices of the ray
            ok = along > 0
            if not ok.any():
                raise MarkerLayoutError(f"marker {name}: the ray from the skeleton misses parts {lm.parts}")
            best = cand[ok][np.argmin(perp[ok] - 0.1 * along[ok])]
        else:
            best = cand[ok][np.argmax(along[ok])]
        if purity is not None and name in purity:
            pur = np.asarray(purity[name])[cand]
            dist = np.linalg.norm(v[cand] - v[best], axis=1)
            near = dist < PURITY_RADIUS
            good = near & (pur >= PURITY_MIN)
            if good.any():
                best = cand[good][np.argmin(dist[good])]
            elif pur[cand == best][0] < pur[near].max():
                best = cand[near][np.argmax(pur[near])]
        out[name] = int(best)
    return out
