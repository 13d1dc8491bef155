"""Per-clip labels: cameras.json, keypoints3d.npz, keypoints2d.npz (+ visibility), kinematics copies.

2D keypoints are projected with :class:`~pipeline.scene.camera.PinholeCamera`, built from the
same scene spec the Blender cameras are built from (see the conventions in
:mod:`pipeline.scene.camera`). Visibility per view and frame, COCO-like:

- 0: outside the image or behind the camera;
- 1: in the image but occluded: every probe of the body surface around the point (the vertices
  near it that face the camera most) has some surface in front of it, e.g. the far knee in a
  side view (see :func:`keypoint_visibility`);
- 2: in the image and visible.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np

from ..body.mesh import MeshSequence
from ..errors import SceneError
from ..io_utils import atomic_path, atomic_savez, atomic_write_text
from ..layout import VIEWS, ClipPaths
from .camera import PinholeCamera
from .spec import SceneSpec

CONVENTIONS = {
    "world": "OpenSim axes: Y up, X forward, Z right; metres",
    "camera": "OpenCV axes: x right, y down, z forward; x_cam = R @ x_world + t (world_to_camera)",
    "pixels": "origin at the top-left image corner, x right, y down; the centre of the top-left pixel is (0, 0)",
    "world_to_camera_blender": "the same transform for points in Blender world axes (Z up)",
    "blender_matrix_world": "the Blender camera object's matrix_world (camera looks down its local -Z)",
    "visibility": "0 outside the image or behind the camera, 1 occluded by the body, 2 visible",
}


def load_keypoints(path: str | Path, clip: str = "") -> tuple[np.ndarray, list[str]]:
    """Read a keypoints npz: ``keypoints`` ``(T, K, 3)`` OpenSim world metres and their names.

    Names come from ``names`` or, as ``odah fk`` writes them, ``keypoint_names`` (joint centres
    then body COMs), so an ``odah fk`` output can be passed as it is.
    """
    path = Path(path)
    who = f"clip '{clip}': " if clip else ""
    if path.is_file() and not zipfile.is_zipfile(path):  # np.load would blame pickling
        raise SceneError(f"{who}{path}: not a keypoints .npz (not an npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as exc:
        raise SceneError(f"{who}{path}: not a readable keypoints npz ({exc})") from None
    if "names" not in data and "keypoint_names" in data:
        data["names"] = data["keypoint_names"]
    for key in ("keypoints", "names"):
        if key not in data:
            raise SceneError(f"{who}{path}: missing field '{key}'")
    kp, names = np.asarray(data["keypoints"], np.float64), [str(n) for n in data["names"]]
    check_keypoints(kp, names, f"{who}{path}")
    return kp, names


def check_keypoints(kp: np.ndarray, names, where: str, frames: int | None = None) -> None:
    if kp.ndim != 3 or kp.shape[2] != 3:
        raise SceneError(f"{where}: field 'keypoints' must be (T, K, 3), got {kp.shape}")
    if len(names) != kp.shape[1]:
        raise SceneError(f"{where}: field 'names' has {len(names)} entries for {kp.shape[1]} keypoints")
    if not np.isfinite(kp).all():
        t = int(np.argwhere(~np.isfinite(kp).all(axis=(1, 2)))[0, 0])
        raise SceneError(f"{where}: field 'keypoints' has NaN/inf values (first at frame {t})")
    if frames is not None and kp.shape[0] != frames:
        raise SceneError(f"{where}: {kp.shape[0]} keypoint frames, but the motion has {frames}")


def surface_crossings(cam: PinholeCamera, verts: np.ndarray, faces: np.ndarray, points: np.ndarray,
                      tol: float = 1e-3, strip_px: float = 16.0) -> np.ndarray:
    """How often the ray from the camera to each point crosses the mesh before reaching it.

    Args:
        verts: ``(V, 3)`` one frame, OpenSim world metres; faces ``(F, 3)``.
        points: ``(K, 3)`` OpenSim world metres.
        tol: hits less than this (metres) in front of a point do not count (its own surface).
        strip_px: triangles are bucketed into vertical image strips this wide for speed.

    Returns:
        ``(K,)`` int: distinct surface depths strictly in front of each point (a ray through a
        shared edge hits two triangles at one depth and counts once).
    """
    uv, z = cam.project(verts)
    uvk, zk = cam.project(points)
    counts = np.zeros(len(points), int)
    front = (z[faces] > 1e-6).all(axis=1)
    faces = np.asarray(faces)[front]
    if not len(faces) or not len(points):
        return counts
    tri, tz = uv[faces], z[faces]
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    s_lo = np.floor(lo[:, 0] / strip_px).astype(np.int64)
    s_hi = np.floor(hi[:, 0] / strip_px).astype(np.int64)
    n = s_hi - s_lo + 1
    face_of = np.repeat(np.arange(len(faces)), n)
    strip_of = np.repeat(s_lo, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    order = np.argsort(strip_of, kind="stable")
    strip_of, face_of = strip_of[order], face_of[order]
    kstrip = np.floor(uvk[:, 0] / strip_px).astype(np.int64)
    for st in np.unique(kstrip[zk > 0]):
        pk = np.nonzero((kstrip == st) & (zk > 0))[0]
        a0, a1 = np.searchsorted(strip_of, [st, st + 1])
        cand = face_of[a0:a1]
        if not len(cand):
            continue
        p = uvk[pk][:, None, :]  # (P, 1, 2)
        box = ((lo[cand, 0] <= p[..., 0]) & (hi[cand, 0] >= p[..., 0])
               & (lo[cand, 1] <= p[..., 1]) & (hi[cand, 1] >= p[..., 1]))  # (P, C)
        pi, ci = np.nonzero(box)
        if not len(pi):
            continue
        f = cand[ci]
        a, b, c = tri[f, 0], tri[f, 1], tri[f, 2]
        q = uvk[pk[pi]]
        v0, v1, v2 = b - a, c - a, q - a
        den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
        ok = np.abs(den) > 1e-12
        den = np.where(ok, den, 1.0)
        w1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
        w2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
        w0 = 1.0 - w1 - w2
        inside = ok & (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        w = np.stack([w0, w1, w2], axis=1)[inside]
        z_hit = 1.0 / (w / tz[f[inside]]).sum(axis=1)  # perspective-correct depth
        who = pk[pi[inside]]
        ahead = z_hit < zk[who] - tol
        if ahead.any():
            key = np.unique(np.stack([who[ahead], np.round(z_hit[ahead] * 1e4).astype(np.int64)], axis=1), axis=0)
            np.add.at(counts, key[:, 0], 1)
    return counts


def keypoint_visibility(cam: PinholeCamera, verts: np.ndarray, faces: np.ndarray, points: np.ndarray,
                        probes: int = 24, tol: float = 0.005) -> np.ndarray:
    """``(K,)`` bool: can the camera see the body surface around each (inner) keypoint?

    Joint centres and centres of mass lie inside the body, so the point itself is never seen. Its
    probes are the ``probes`` mesh vertices within ``2 d + 2 cm`` of it (``d``: its distance to
    the nearest vertex) that lie furthest towards the camera; the keypoint is visible when at
    least one probe has no surface in front of it. A limb in front hides every probe.
    """
    verts = np.asarray(verts, float)
    points = np.asarray(points, float)
    to_cam = cam.center - points
    to_cam /= np.linalg.norm(to_cam, axis=1, keepdims=True)
    d = np.linalg.norm(verts[None, :, :] - points[:, None, :], axis=2)  # (K, V)
    radius = 2.0 * d.min(axis=1) + 0.02
    probe_idx, owner = [], []
    for k in range(len(points)):
        near = np.nonzero(d[k] <= radius[k])[0]
        toward = (verts[near] - points[k]) @ to_cam[k]
        pick = near[np.argsort(-toward, kind="stable")[:probes]]
        probe_idx.append(pick)
        owner.append(np.full(len(pick), k))
    probe_idx, owner = np.concatenate(probe_idx), np.concatenate(owner)
    clear = surface_crossings(cam, verts, faces, verts[probe_idx], tol=tol) == 0
    visible = np.zeros(len(points), bool)
    np.logical_or.at(visible, owner, clear)
    return visible


def project_view(cam: PinholeCamera, kp: np.ndarray, mesh: MeshSequence | None) -> dict[str, np.ndarray]:
    """Pixels ``(T, K, 2)``, depth ``(T, K)`` and visibility ``(T, K)`` of keypoints in one view."""
    uv, depth = cam.project(kp)
    inside = cam.in_image(uv, depth)
    vis = np.where(inside, 2, 0).astype(np.uint8)
    if mesh is not None:
        faces = np.asarray(mesh.faces)
        for t in range(kp.shape[0]):
            idx = np.nonzero(inside[t])[0]
            if len(idx):
                seen = keypoint_visibility(cam, np.asarray(mesh.vertices[t], float), faces, kp[t, idx])
                vis[t, idx[~seen]] = 1
    return {"xy": uv.astype(np.float32), "depth": depth.astype(np.float32), "visibility": vis}


def cameras_json(spec: SceneSpec) -> dict:
    out = {"conventions": CONVENTIONS, "clip_id": spec.clip_id, "seed": spec.seed}
    for v in VIEWS:
        entry = PinholeCamera.from_spec(spec.cameras[v]).to_json()
        entry["perturbation"] = dict(spec.cameras[v].perturbation)
        out[v] = entry
    return out


def _save_npz(path: Path, **arrays) -> None:
    atomic_savez(path, compressed=True, **arrays)


def _copy(src: str | Path, dst: Path, what: str, clip: str) -> None:
    src = Path(src)
    if not src.is_file():
        raise SceneError(f"clip '{clip}': {what} {src} not found")
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def check_kinematics(path: str | Path, frames: int, clip: str) -> None:
    """The clip's .mot must parse and hold one row per video frame."""
    from ..errors import OdahError
    from ..kinematics.mot import read_mot

    try:
        n = read_mot(path).n_frames
    except OdahError as exc:
        raise SceneError(f"clip '{clip}': kinematics file: {exc}") from None
    if n != frames:
        raise SceneError(f"clip '{clip}': kinematics file {path} has {n} frames, the motion has {frames}")


def write_labels(paths: ClipPaths, spec: SceneSpec, keypoints: np.ndarray, names, fps: float,
                 mesh: MeshSequence | None = None, kinematics: str | Path | None = None,
                 scales: str | Path | None = None) -> dict[str, np.ndarray]:
    """Write cameras.json, keypoints3d.npz, keypoints2d.npz and copy kinematics.mot/scales.json.

    Args:
        keypoints: ``(T, K, 3)`` OpenSim world metres; names ``(K,)``.
        mesh: the body mesh, for occlusion-aware visibility (None: in-image test only).
        kinematics, scales: the clip's ``.mot`` and the subject's ``scales.json`` to copy.

    Returns the 2D label arrays (as written).
    """
    clip = spec.clip_id
    kp = np.asarray(keypoints, np.float64)
    names = [str(n) for n in names]
    check_keypoints(kp, names, f"clip '{clip}' keypoints", None if mesh is None else mesh.num_frames)
    if kinematics is not None:
        check_kinematics(kinematics, kp.shape[0], clip)
        _copy(kinematics, paths.kinematics, "kinematics file", clip)
    if scales is not None:
        _copy(scales, paths.scales, "scale factors file", clip)
    atomic_write_text(paths.cameras, json.dumps(cameras_json(spec), indent=1) + "\n")
    _save_npz(paths.keypoints3d, keypoints=kp.astype(np.float32), names=np.array(names), fps=np.float64(fps),
              units=np.str_("m"), axes=np.str_("opensim"))
    w, h = spec.resolution
    arrays: dict[str, np.ndarray] = {"names": np.array(names), "fps": np.float64(fps),
                                     "width": np.int32(w), "height": np.int32(h)}
    for v in VIEWS:
        res = project_view(PinholeCamera.from_spec(spec.cameras[v]), kp, mesh)
        arrays[v] = res["xy"]
        arrays[f"{v}_visibility"] = res["visibility"]
        arrays[f"{v}_depth"] = res["depth"]
    _save_npz(paths.keypoints2d, **arrays)
    return arrays
