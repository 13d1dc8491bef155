"""Stand-in SMPL-X / SMPL-H / SMPL model files, built at test time. NEVER ship one as a body model.

The real models are licensed downloads, so tests make a file with exactly the keys and shapes the
``smplx`` package loads (see FACTS.md) around a procedural body: tapered tubes for the limbs and
torso, an ellipsoid head, in SMPL's canonical T-pose (Y up, facing +Z, left towards +X), skinned
rigidly to a hand-built SMPL kinematic tree, with a joint regressor that reproduces the intended
joint centres exactly (affine vertex weights), betas that change stature and girth, no pose
correctives. Vertex ids are then permuted so that the vertices a published marker layout names
(``marker_layouts/smplx.yaml`` / ``smplh.yaml``) sit on the intended anatomical landmarks
(found with :mod:`pipeline.body.landmarks`), so the real layout files are exercised end to end.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from pipeline import axes
from pipeline.body.landmarks import joint_alias_table, locate_landmarks
from pipeline.body.layouts import load_layout
from pipeline.body.mesh import BODY_PARTS
from pipeline.body.models.smplx_model import MODEL_TYPES, joint_names, joint_part

# SMPL kinematic tree (parents) of the 22 body joints, then hands.
_BODY_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19]


def parents(model_type: str) -> list[int]:
    names = joint_names(model_type)
    par = list(_BODY_PARENTS)
    for name in names[22:]:
        if name == "jaw":
            par.append(15)
        elif name in ("left_eye", "right_eye"):
            par.append(15)
        elif name in ("left_hand", "right_hand"):
            par.append(20 if name.startswith("left") else 21)
        else:  # finger chains: <side>_<finger>1 hangs on the wrist, 2 on 1, 3 on 2
            side = name.split("_")[0]
            if name.endswith("1"):
                par.append(20 if side == "left" else 21)
            else:
                par.append(names.index(name[:-1] + str(int(name[-1]) - 1)))
    return par


def _joint_positions(model_type: str) -> dict[str, np.ndarray]:
    """Intended rest joint centres (SMPL axes, metres): a ~1.75 m adult in T-pose, pelvis at origin."""
    p = {"pelvis": (0, 0, 0), "spine1": (0, 0.11, -0.01), "spine2": (0, 0.24, 0.0), "spine3": (0, 0.30, 0.0),
         "neck": (0, 0.50, -0.02), "head": (0, 0.58, 0.0), "jaw": (0, 0.56, 0.05)}
    for s, x in (("left", 1.0), ("right", -1.0)):
        p.update({
            f"{s}_hip": (0.09 * x, -0.08, 0.0), f"{s}_knee": (0.10 * x, -0.50, 0.01),
            f"{s}_ankle": (0.10 * x, -0.91, -0.02), f"{s}_foot": (0.11 * x, -0.97, 0.11),
            f"{s}_collar": (0.07 * x, 0.41, -0.01), f"{s}_shoulder": (0.18 * x, 0.43, -0.02),
            f"{s}_elbow": (0.44 * x, 0.43, -0.03), f"{s}_wrist": (0.70 * x, 0.43, -0.03),
            f"{s}_eye": (0.03 * x, 0.66, 0.08), f"{s}_hand": (0.78 * x, 0.43, -0.03),
        })
        # Fingers along the hand (palm down in T-pose, thumb towards +Z).
        for k, f in enumerate(("index", "middle", "ring", "pinky")):
            z = 0.03 - 0.02 * k - 0.03
            for seg in (1, 2, 3):
                p[f"{s}_{f}{seg}"] = ((0.79 + 0.03 * (seg - 1)) * x, 0.43, z)
        for seg in (1, 2, 3):
            p[f"{s}_thumb{seg}"] = ((0.73 + 0.025 * seg) * x, 0.42, 0.02 + 0.015 * seg)
    return {k: np.array(v, float) for k, v in p.items()}


def _frame(axis: np.ndarray, up_hint: np.ndarray):
    a = axis / np.linalg.norm(axis)
    u = np.cross(up_hint, a)
    if np.linalg.norm(u) < 1e-6:
        u = np.cross([1.0, 0, 0], a)
    u /= np.linalg.norm(u)
    w = np.cross(a, u)
    return a, u, w


def _tube(a, b, r0, r1, rings, sectors, hint=(0, 0, 1.0), caps=True):
    """Closed tapered elliptical tube from a to b. r = (radius along u, along w). Returns (V, F, t)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ax, u, w = _frame(b - a, np.asarray(hint, float))
    L = np.linalg.norm(b - a)
    verts, ts = [], []
    th = np.linspace(0, 2 * np.pi, sectors, endpoint=False)
    for i in range(rings):
        t = i / (rings - 1)
        ru = r0[0] + (r1[0] - r0[0]) * t
        rw = r0[1] + (r1[1] - r0[1]) * t
        c = a + t * L * ax
        for q in th:
            verts.append(c + ru * np.cos(q) * u + rw * np.sin(q) * w)
            ts.append(t)
    faces = []
    for i in range(rings - 1):
        for j in range(sectors):
            p0, p1 = i * sectors + j, i * sectors + (j + 1) % sectors
            q0, q1 = p0 + sectors, p1 + sectors
            faces += [[p0, p1, q1], [p0, q1, q0]]
    if caps:
        verts.append(a - 0.3 * min(r0) * ax)
        ts.append(0.0)
        verts.append(b + 0.3 * min(r1) * ax)
        ts.append(1.0)
        ca, cb = len(verts) - 2, len(verts) - 1
        last = (rings - 1) * sectors
        for j in range(sectors):
            faces.append([ca, (j + 1) % sectors, j])
            faces.append([cb, last + j, last + (j + 1) % sectors])
    return np.array(verts), np.array(faces), np.array(ts)


def _ellipsoid(c, r, n_lat, n_lon):
    verts = [np.asarray(c) + [0, r[1], 0]]
    for i in range(1, n_lat):
        phi = np.pi * i / n_lat
        for j in range(n_lon):
            th = 2 * np.pi * j / n_lon
            verts.append(np.asarray(c) + [r[0] * np.sin(phi) * np.sin(th), r[1] * np.cos(phi), r[2] * np.sin(phi) * np.cos(th)])
    verts.append(np.asarray(c) - [0, r[1], 0])
    faces = []
    for j in range(n_lon):
        faces.append([0, 1 + (j + 1) % n_lon, 1 + j])
    for i in range(n_lat - 2):
        for j in range(n_lon):
            p0 = 1 + i * n_lon + j
            p1 = 1 + i * n_lon + (j + 1) % n_lon
            faces += [[p0, p1, p1 + n_lon], [p0, p1 + n_lon, p0 + n_lon]]
    last = len(verts) - 1
    base = 1 + (n_lat - 2) * n_lon
    for j in range(n_lon):
        faces.append([last, base + j, base + (j + 1) % n_lon])
    return np.array(verts), np.array(faces)[:, ::-1]  # outward winding


def _procedural_body(model_type: str, res: float):
    """Vertices, faces, per-vertex skinning joint names, in SMPL axes (T-pose)."""
    jp = _joint_positions(model_type)
    hands = model_type != "smpl"
    V, F, skin = [], [], []

    def add(v, f, joints):
        off = sum(len(x) for x in V)
        V.append(v)
        F.append(f + off)
        skin.extend(joints)

    def n(x):
        return max(3, int(round(x * res)))

    # Torso from below the hips to the neck base: skinned by height.
    tv, tf, tt = _tube((0, -0.13, 0), (0, 0.47, -0.01), (0.15, 0.10), (0.17, 0.10), n(40), n(28), hint=(0, 0, 1))
    tskin = []
    for p in tv:
        y = p[1]
        if y > 0.36 and abs(p[0]) > 0.08:
            tskin.append("left_collar" if p[0] > 0 else "right_collar")
        elif y < 0.06:
            tskin.append("pelvis")
        elif y < 0.18:
            tskin.append("spine1")
        elif y < 0.28:
            tskin.append("spine2")
        else:
            tskin.append("spine3")
    add(tv, tf, tskin)
    nv, nf, _ = _tube(jp["neck"] - [0, 0.03, 0], jp["head"] + [0, 0.02, 0], (0.055, 0.05), (0.05, 0.05), n(8), n(16), hint=(0, 0, 1))
    add(nv, nf, ["neck"] * len(nv))
    hv, hf = _ellipsoid(jp["head"] + [0, 0.11, 0.01], (0.08, 0.12, 0.10), n(18), n(24))
    add(hv, hf, ["head"] * len(hv))
    for s, x in (("left", 1.0), ("right", -1.0)):
        lv, lf, lt = _tube(jp[f"{s}_hip"], jp[f"{s}_knee"], (0.075, 0.075), (0.05, 0.05), n(24), n(18), hint=(0, 0, 1))
        add(lv, lf, [f"{s}_hip"] * len(lv))
        lv, lf, lt = _tube(jp[f"{s}_knee"], jp[f"{s}_ankle"], (0.05, 0.05), (0.035, 0.035), n(24), n(16), hint=(0, 0, 1))
        add(lv, lf, [f"{s}_knee"] * len(lv))
        heel = np.array([jp[f"{s}_ankle"][0], -0.955, -0.08])
        tip = np.array([jp[f"{s}_foot"][0], -0.965, 0.18])
        fv, ff, ft = _tube(heel, tip, (0.035, 0.03), (0.04, 0.02), n(18), n(14), hint=(0, 1, 0))
        add(fv, ff, [f"{s}_foot" if p[2] > jp[f"{s}_foot"][2] else f"{s}_ankle" for p in fv])
        av, af, _ = _tube(jp[f"{s}_shoulder"], jp[f"{s}_elbow"], (0.05, 0.05), (0.04, 0.04), n(20), n(14), hint=(0, 1, 0))
        add(av, af, [f"{s}_shoulder"] * len(av))
        av, af, _ = _tube(jp[f"{s}_elbow"], jp[f"{s}_wrist"], (0.04, 0.04), (0.03, 0.025), n(20), n(14), hint=(0, 1, 0))
        add(av, af, [f"{s}_elbow"] * len(av))
        wv, wf, wt = _tube(jp[f"{s}_wrist"], jp[f"{s}_wrist"] + [0.19 * x, 0, 0], (0.045, 0.016), (0.04, 0.012),
                           n(14), n(14), hint=(0, 1, 0))
        if hands:
            fing = [f"{s}_middle1" if t > 0.45 else f"{s}_wrist" for t in wt]
        else:
            fing = [f"{s}_hand" if t > 0.45 else f"{s}_wrist" for t in wt]
        add(wv, wf, fing)
    return np.concatenate(V), np.concatenate(F), skin, jp


def _fit_vertex_count(V: np.ndarray, F: np.ndarray, skin: list, target: int):
    """Add vertices by splitting torso faces (1 -> 3 at the centroid) until there are ``target``."""
    V, F, skin = V.copy(), F.copy(), list(skin)
    torso = {"pelvis", "spine1", "spine2", "spine3"}
    k = 0
    cand = [i for i, f in enumerate(F) if all(skin[v] in torso for v in f)]
    while len(V) < target:
        fi = cand[(k * 7919) % len(cand)]
        k += 1
        a, b, c = F[fi]
        V = np.vstack([V, V[[a, b, c]].mean(0)])
        m = len(V) - 1
        skin.append(skin[a])
        F[fi] = [a, b, m]
        F = np.vstack([F, [[b, c, m], [c, a, m]]])
        cand += [len(F) - 2, len(F) - 1]
    return V, F, skin


def build_standin(model_type: str = "smplx", layout: str | None = "default", num_betas: int | None = None) -> dict:
    """The arrays of a stand-in model file (see module docstring)."""
    spec = MODEL_TYPES[model_type]
    target = {"smplx": 10475, "smplh": 6890, "smpl": 6890}[model_type]
    names = joint_names(model_type)
    res = 1.0
    while True:
        V, F, skin, jp = _procedural_body(model_type, res)
        if len(V) <= target:
            break
        res *= 0.95
    V, F, skin = _fit_vertex_count(V, F, skin, target)
    J = len(names)
    weights = np.zeros((target, J))
    for i, s in enumerate(skin):
        weights[i, names.index(s)] = 1.0

    # Permute vertices so the layout's published ids sit on the landmarks.
    if layout:
        lay = load_layout(model_type if layout == "default" else layout)
        to_os = axes.SMPL_TO_OPENSIM
        v_os = V @ to_os.T
        labels = _labels(weights, names)
        generic = {g: jp[m] for g, m in joint_alias_table("smplx").items() if m in jp}
        if model_type == "smpl":
            for s in ("l", "r"):
                side = "left" if s == "l" else "right"
                generic[f"finger_{s}"] = jp[f"{side}_index1"]
                generic[f"thumb_{s}"] = jp[f"{side}_thumb1"]
                generic[f"pinky_{s}"] = jp[f"{side}_pinky1"]
        generic = {k: to_os @ p for k, p in generic.items()}
        found = locate_landmarks(v_os, labels, generic, lay.names, faces=F)
        perm = np.arange(target)  # perm[new_index] = old_index
        pos = np.arange(target)   # pos[old_index] = new_index
        taken = set()
        for name, vid in zip(lay.names, lay.vertex_ids):
            old = found[name]
            if old in taken:
                continue
            cur = pos[old]
            other_old = perm[vid]
            perm[vid], perm[cur] = old, other_old
            pos[old], pos[other_old] = vid, cur
            taken.add(old)
        V, weights = V[perm], weights[perm]
        F = pos[F]

    # Joint regressor: min-norm affine weights over nearby vertices reproducing each joint exactly.
    jreg = np.zeros((J, target))
    for j, name in enumerate(names):
        p = jp[name]
        near = np.argsort(np.linalg.norm(V - p, axis=1))[:12]
        A = np.vstack([V[near].T, np.ones(len(near))])  # (4, k)
        w = np.linalg.lstsq(A, np.append(p, 1.0), rcond=None)[0]
        jreg[j, near] = w

    nb = {"smplx": 400, "smplh": 16, "smpl": 10}[model_type] if num_betas is None else num_betas
    shapedirs = np.zeros((target, 3, nb))
    shapedirs[:, :, 0] = 0.05 * V  # beta0: +5 % stature per unit
    centre = np.zeros_like(V)
    centre[:, 1] = V[:, 1]
    radial = V - centre
    radial[:, 1] = 0.0
    shapedirs[:, :, 1] = 0.1 * radial  # beta1: girth
    data = dict(
        v_template=V.astype(np.float64), f=F.astype(np.int64), shapedirs=shapedirs,
        posedirs=np.zeros((target, 3, (J - 1) * 9)), J_regressor=jreg, weights=weights,
        kintree_table=np.vstack([np.array([2**32 - 1] + parents(model_type)[1:], np.int64), np.arange(J)]),
    )
    if model_type != "smpl":
        data.update(hands_componentsl=np.eye(45), hands_componentsr=np.eye(45),
                    hands_meanl=np.zeros(45), hands_meanr=np.zeros(45))
    if model_type == "smplx":
        data.update(lmk_faces_idx=np.zeros(51, np.int64), lmk_bary_coords=np.full((51, 3), 1 / 3))
    assert data["weights"].shape[1] == spec["joints"]
    return data


def _labels(weights, names):
    per = np.zeros((len(weights), len(BODY_PARTS)))
    for j, n in enumerate(names):
        per[:, BODY_PARTS.index(joint_part(n))] += weights[:, j]
    return per.argmax(1)


def write_standin(folder: str | Path, model_type: str = "smplx", gender: str = "neutral", **kw) -> Path:
    """Write ``<folder>/<model_type>/<MODEL>_<GENDER>.npz`` (``.pkl`` for SMPL) and return the path."""
    data = build_standin(model_type, **kw)
    out = Path(folder) / model_type
    out.mkdir(parents=True, exist_ok=True)
    if model_type == "smpl":
        path = out / f"SMPL_{gender.upper()}.pkl"
        with open(path, "wb") as fh:
            pickle.dump(data, fh)
    else:
        path = out / f"{model_type.upper()}_{gender.upper()}.npz"
        np.savez(path, **data)
    return path
