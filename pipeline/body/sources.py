"""Motion sources: small adapters that turn a motion into something stage 1 can use.

========================  ==========================================================================
source spec               what it becomes
========================  ==========================================================================
``walk.npz`` (AMASS)      SMPL-X (poses 165) / SMPL-H (poses 156) parameters -> body mesh ->
                          virtual markers -> scale + IK
``trial.trc``/``.c3d``    measured markers (renamed through a mapping YAML) -> scale + IK
``trial.mot``/``.sto``    OpenSim coordinates: IK is skipped
``library:walking``       the project's motion library (OpenSim coordinates on the generic model)
``anny:walk``             the walk cycle shipped in the anny package -> posed Anny mesh -> markers
========================  ==========================================================================

Every adapter resamples to the target frame rate, trims to ``max_seconds`` and raises
:class:`~pipeline.errors.MotionSourceError` naming the file and the field for bad input
(truncated or corrupt files, missing keys, unknown genders, NaNs, wrong shapes).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import axes
from ..errors import MotionIOError, MotionSourceError
from ..io_utils import atomic_savez, read_document
from ..log import get_logger

log = get_logger("body.sources")

SOURCE_KINDS = ("amass", "markers", "opensim", "library", "anny_walk")
AMASS_POSE_SIZES = {165: "smplx", 156: "smplh"}
AMASS_FPS_KEYS = ("mocap_framerate", "mocap_frame_rate")
GENDERS = ("neutral", "male", "female")
_AMASS_FIELDS = ("poses", "trans", "betas", "gender", "surface_model_type", "root_orient", "pose_body", "pose_hand",
                 "pose_jaw", "pose_eye") + AMASS_FPS_KEYS


@dataclass(frozen=True)
class SourceSpec:
    """A parsed motion source: ``kind`` (see :data:`SOURCE_KINDS`) and its file or name."""

    kind: str
    target: str

    @property
    def path(self) -> Path:
        return Path(self.target)


def parse_source(spec: str, check_exists: bool = True) -> SourceSpec:
    """``library:NAME``, ``anny:walk``, or a file path whose extension picks the adapter."""
    s = str(spec).strip()
    if s.startswith("library:"):
        return SourceSpec("library", s.split(":", 1)[1])
    if s.startswith("anny:"):
        name = s.split(":", 1)[1]
        if name not in ("walk",):
            raise MotionSourceError(f"motion source {s!r}: the anny package ships one motion, 'anny:walk'")
        return SourceSpec("anny_walk", name)
    if check_exists and Path(s).is_dir():  # whatever its name ends with
        raise MotionSourceError(f"{s}: a folder, not a motion file")
    ext = Path(s).suffix.lower()
    kind = {".npz": "amass", ".trc": "markers", ".c3d": "markers", ".mot": "opensim", ".sto": "opensim"}.get(ext)
    if kind is None:
        raise MotionSourceError(
            f"motion source {s!r}: unknown kind (expected an AMASS .npz, a .trc/.c3d marker file, "
            "an OpenSim .mot/.sto, library:NAME or anny:walk)")
    if check_exists and not Path(s).is_file():
        raise MotionSourceError(f"{s}: motion file not found")
    return SourceSpec(kind, s)


def resample_times(n_src: int, fps_src: float, fps: float, max_seconds: float = 0.0) -> np.ndarray:
    """Target sample times (s) covering the source span (trimmed to ``max_seconds`` when > 0)."""
    duration = (n_src - 1) / fps_src
    if max_seconds and max_seconds > 0:
        duration = min(duration, max_seconds)
    n = int(math.floor(duration * fps + 1e-6)) + 1
    return np.arange(n) / fps


def _interp_index(t_src: np.ndarray, t: np.ndarray):
    hi = np.clip(np.searchsorted(t_src, t, side="right"), 1, len(t_src) - 1)
    lo = hi - 1
    w = np.clip((t - t_src[lo]) / (t_src[hi] - t_src[lo]), 0.0, 1.0)
    return lo, hi, w


def slerp_rotvecs(rotvecs: np.ndarray, t_src: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Resample axis-angle rotations ``(T, J, 3)`` at times ``t`` by per-joint quaternion slerp."""
    from scipy.spatial.transform import Rotation

    T, J, _ = rotvecs.shape
    if T == 1:
        return np.repeat(rotvecs, len(t), axis=0)
    q = Rotation.from_rotvec(rotvecs.reshape(-1, 3)).as_quat().reshape(T, J, 4)
    lo, hi, w = _interp_index(t_src, t)
    q0, q1 = q[lo], q[hi]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot).clip(max=1.0)
    theta = np.arccos(dot)
    s = np.sin(theta)
    w = w[:, None, None]
    small = s < 1e-8
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / np.where(small, 1.0, s))
    b = np.where(small, w, np.sin(w * theta) / np.where(small, 1.0, s))
    out = a * q0 + b * q1
    out /= np.linalg.norm(out, axis=-1, keepdims=True)
    return Rotation.from_quat(out.reshape(-1, 4)).as_rotvec().reshape(len(t), J, 3)


def _check_finite(arr: np.ndarray, path: Path, field_name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        frame = int(np.argwhere(bad.reshape(bad.shape[0], -1).any(1))[0, 0]) if arr.ndim > 1 else int(np.argwhere(bad)[0, 0])
        raise MotionSourceError(f"{path}: field '{field_name}' has NaN/inf values (first at frame {frame})")


# ---- AMASS ---------------------------------------------------------------------------------

@dataclass
class AmassMotion:
    """An AMASS sequence at the target frame rate.

    Attributes:
        model_type: ``smplx`` (165 pose values) or ``smplh`` (156).
        gender: ``neutral``, ``male`` or ``female``.
        betas: ``(B,)`` shape coefficients.
        poses: ``(T, P)`` axis-angle full pose (AMASS order), radians.
        trans: ``(T, 3)`` root translation, metres, AMASS world (Z up).
        fps: frame rate of ``poses``/``trans`` (Hz).
        source_fps: the file's frame rate.
        source: the file.
    """

    model_type: str
    gender: str
    betas: np.ndarray
    poses: np.ndarray
    trans: np.ndarray
    fps: float
    source_fps: float
    source: Path
    world_to_opensim: np.ndarray = field(default_factory=lambda: axes.AMASS_TO_OPENSIM.copy())

    @property
    def n_frames(self) -> int:
        return int(self.poses.shape[0])


def _amass_gender(raw, path: Path) -> str:
    val = raw.item() if isinstance(raw, np.ndarray) and raw.shape == () else raw
    if isinstance(val, np.ndarray) and val.size == 1:
        val = val.reshape(-1)[0]
    if isinstance(val, bytes):
        val = val.decode("utf-8", "replace")
    g = str(val).strip().lower()
    if g not in GENDERS:
        raise MotionSourceError(f"{path}: field 'gender': unknown gender {g!r} (expected {', '.join(GENDERS)})")
    return g


def read_amass(path: str | Path, fps: float | None = None, max_seconds: float = 0.0) -> AmassMotion:
    """Read an AMASS ``.npz`` (SMPL-X or SMPL-H), check it, resample to ``fps`` (default: keep).

    Accepted keys: ``poses`` (T, 165|156) — or ``root_orient``/``pose_body``/``pose_hand``
    (/``pose_jaw``/``pose_eye``) — ``trans`` (T, 3), ``betas``, ``gender`` and the frame rate
    as ``mocap_framerate`` or ``mocap_frame_rate`` (both spellings occur in AMASS releases).
    Rotations are resampled by quaternion slerp, translations linearly.
    """
    path = Path(path)
    if not path.is_file():
        raise MotionSourceError(f"{path}: AMASS file not found")
    data = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            # Only the fields used are read: AMASS SMPL-X files also hold pickled dicts
            # (e.g. markers_latent_vids), which are never unpickled (unsafe) nor needed.
            for k in z.files:
                if k not in _AMASS_FIELDS:
                    continue
                try:
                    data[k] = z[k]
                except ValueError as exc:
                    if "allow_pickle" in str(exc):
                        raise MotionSourceError(f"{path}: field '{k}' is a pickled object array; "
                                                "store it as a plain numeric/string array") from None
                    raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise MotionSourceError(f"{path}: not a readable AMASS .npz (truncated or corrupt: {exc})") from exc
    if "poses" not in data and {"root_orient", "pose_body"} <= set(data):
        parts = [data["root_orient"], data["pose_body"]]
        if "pose_jaw" in data or "pose_eye" in data:
            parts += [data.get("pose_jaw", np.zeros((len(parts[0]), 3))), data.get("pose_eye", np.zeros((len(parts[0]), 6)))]
        parts.append(data.get("pose_hand", np.zeros((len(parts[0]), 90))))
        try:
            data["poses"] = np.concatenate([np.asarray(p, np.float64).reshape(len(parts[0]), -1) for p in parts], 1)
        except ValueError as exc:
            raise MotionSourceError(f"{path}: pose fields 'root_orient'/'pose_body'/... disagree in length ({exc})") from exc
    for key in ("poses", "trans", "betas", "gender"):
        if key not in data:
            raise MotionSourceError(f"{path}: missing field '{key}' (an AMASS file has poses, trans, betas, gender "
                                    f"and {' or '.join(AMASS_FPS_KEYS)})")
    fps_key = next((k for k in AMASS_FPS_KEYS if k in data), None)
    if fps_key is None:
        raise MotionSourceError(f"{path}: missing field 'mocap_framerate' (or 'mocap_frame_rate')")
    try:
        src_fps = float(np.asarray(data[fps_key]).reshape(-1)[0])
    except (ValueError, IndexError, TypeError) as exc:
        raise MotionSourceError(f"{path}: field '{fps_key}' must be a number of Hz") from exc
    if not (math.isfinite(src_fps) and src_fps > 0):
        raise MotionSourceError(f"{path}: field '{fps_key}' must be a positive frame rate, got {src_fps}")
    try:
        poses = np.asarray(data["poses"], np.float64)
        trans = np.asarray(data["trans"], np.float64)
        betas = np.asarray(data["betas"], np.float64).reshape(-1)
    except (ValueError, TypeError) as exc:
        raise MotionSourceError(f"{path}: fields 'poses', 'trans', 'betas' must be numeric arrays ({exc})") from exc
    if poses.ndim != 2 or poses.shape[1] not in AMASS_POSE_SIZES:
        raise MotionSourceError(f"{path}: field 'poses' must be (T, 165) for SMPL-X or (T, 156) for SMPL-H, got {poses.shape}")
    if poses.shape[0] < 1:
        raise MotionSourceError(f"{path}: field 'poses' has no frames")
    if trans.shape != (poses.shape[0], 3):
        raise MotionSourceError(f"{path}: field 'trans' must be ({poses.shape[0]}, 3) to match 'poses', got {trans.shape}")
    if betas.size < 1:
        raise MotionSourceError(f"{path}: field 'betas' is empty")
    gender = _amass_gender(data["gender"], path)
    _check_finite(poses, path, "poses")
    _check_finite(trans, path, "trans")
    _check_finite(betas[None], path, "betas")
    model_type = AMASS_POSE_SIZES[poses.shape[1]]
    surf = data.get("surface_model_type")
    if surf is not None and str(np.asarray(surf).reshape(-1)[0]).lower() != model_type:
        raise MotionSourceError(f"{path}: field 'surface_model_type' says {surf!r} but 'poses' has {poses.shape[1]} values ({model_type})")
    fps = float(fps or src_fps)
    t_src = np.arange(poses.shape[0]) / src_fps
    t = resample_times(poses.shape[0], src_fps, fps, max_seconds)
    if len(t) == poses.shape[0] and abs(fps - src_fps) < 1e-9:
        new_poses, new_trans = poses, trans
    else:
        new_poses = slerp_rotvecs(poses.reshape(poses.shape[0], -1, 3), t_src, t).reshape(len(t), -1)
        new_trans = np.stack([np.interp(t, t_src, trans[:, k]) for k in range(3)], 1)
    return AmassMotion(model_type, gender, betas, new_poses, new_trans, fps, src_fps, path)


def amass_mesh(motion: AmassMotion, body, chunk: int = 200, progress: bool = True):
    """Pose ``body`` (a :class:`~pipeline.body.models.smplx_model.SmplxBody`) with ``motion``.

    Returns a :class:`~pipeline.body.mesh.MeshSequence` in OpenSim axes (metres).
    """
    import torch

    from ..log import progress as progress_iter

    if body.topology != motion.model_type:
        raise MotionSourceError(f"{motion.source}: the motion is {motion.model_type} but the body model is {body.topology}")
    nb = body.num_betas
    betas = np.zeros(nb)
    betas[: min(nb, motion.betas.size)] = motion.betas[:nb]
    shape = torch.as_tensor(betas[None], dtype=body.dtype, device=body.device)
    out = []
    starts = range(0, motion.n_frames, chunk)
    it = progress_iter(starts, desc="AMASS mesh", total=len(starts), unit="chunk") if progress else starts
    with torch.no_grad():
        for s in it:
            pose = torch.as_tensor(motion.poses[s:s + chunk], dtype=body.dtype, device=body.device)
            tr = torch.as_tensor(motion.trans[s:s + chunk], dtype=body.dtype, device=body.device)
            out.append(body(shape, pose, tr).vertices.cpu().numpy())
    return body.mesh_sequence(np.concatenate(out), fps=motion.fps, name=str(motion.source),
                              world_to_opensim=motion.world_to_opensim)


# ---- marker files ----------------------------------------------------------------------------

def read_marker_mapping(path: str | Path | None) -> tuple[dict[str, str], str]:
    """A marker-name mapping YAML -> ({name in file: odah name}, lab up axis 'y' or 'z').

    Format::

        up_axis: z        # the lab's vertical axis: y (OpenSim-style TRC, default) or z (most C3D)
        markers:          # name in the file: odah marker name
          LFWT: LASI
          RFWT: RASI
    """
    if path is None:
        return {}, "y"
    path = Path(path)
    data = read_document(path, MotionSourceError, "the marker mapping") or {}
    if not isinstance(data, dict):
        raise MotionSourceError(f"{path}: a marker mapping is a mapping with 'markers' (and optional 'up_axis')")
    up = str(data.get("up_axis", "y")).lower()
    if up not in ("y", "z"):
        raise MotionSourceError(f"{path}: field 'up_axis' must be y or z, got {up!r}")
    markers = data.get("markers", {})
    if not isinstance(markers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in markers.items()):
        raise MotionSourceError(f"{path}: field 'markers' must map file marker names to odah marker names")
    return dict(markers), up


def read_marker_file(path: str | Path, mapping: str | Path | None = None, fps: float | None = None,
                     max_seconds: float = 0.0, up_axis: str | None = None):
    """Read a TRC or C3D file -> :class:`~pipeline.kinematics.trc.MarkerData` in OpenSim axes, odah names.

    Missing samples stay NaN (IK weights them zero); a frame where every marker is missing is an
    error. ``up_axis`` overrides the mapping file's.
    """
    from ..kinematics.c3d import read_c3d
    from ..kinematics.trc import read_trc

    path = Path(path)
    names, up = read_marker_mapping(mapping)
    up = up_axis or up
    try:
        if path.suffix.lower() == ".c3d":
            data = read_c3d(path, marker_map=names or None)
        else:
            data = read_trc(path)
            if names:
                absent = [n for n in names if n not in data.names]
                if absent:
                    raise MotionSourceError(f"{mapping}: field 'markers': {', '.join(absent)} not in {path}")
                data = data.rename(names)
    except MotionIOError as exc:
        raise MotionSourceError(str(exc)) from exc
    if data.n_frames < 1:
        raise MotionSourceError(f"{path}: no frames")
    empty = np.isnan(data.positions).all(axis=(1, 2))
    if empty.any():
        raise MotionSourceError(f"{path}: frame {int(np.argmax(empty))} has no marker at all")
    if np.isinf(data.positions).any():
        raise MotionSourceError(f"{path}: marker positions contain inf values")
    if up == "z":
        data.positions = axes.apply(axes.ZUP_TO_OPENSIM, data.positions)
    if fps and abs(fps - data.rate) > 1e-9:
        data = data.resample(fps)
    if max_seconds and max_seconds > 0:
        data = data.time_range(data.times[0], data.times[0] + max_seconds)
    return data


# ---- OpenSim motions and the motion library --------------------------------------------------

def conform_motion(motion, coordinate_names, defaults: dict[str, float], where: str, fps: float | None = None,
                   max_seconds: float = 0.0, driven: tuple[str, ...] | list[str] = ()):
    """Check a :class:`~pipeline.kinematics.mot.Motion` for NaNs, order its columns as the model's
    coordinates (missing ones take the model's default value, with a warning unless they are
    ``driven`` by a CoordinateCouplerConstraint, which sets them from their independent one),
    resample, trim."""
    _check_finite(motion.values, Path(where), "values")
    unknown = [n for n in motion.names if n not in coordinate_names and n not in ("time",)]
    missing = [n for n in coordinate_names if n not in motion.names]
    if len(missing) == len(coordinate_names):
        raise MotionSourceError(f"{where}: no column is a coordinate of the model (columns: {', '.join(motion.names[:8])} ...)")
    absent = [n for n in missing if n not in driven]
    if absent:
        log.warning("%s: %d model coordinates absent, set to their defaults (%s)", where, len(absent), ", ".join(absent[:6]))
    if unknown:
        log.info("%s: ignoring %d columns that are not model coordinates (%s)", where, len(unknown), ", ".join(unknown[:6]))
    m = motion.reorder(list(coordinate_names), fill={n: defaults.get(n, 0.0) for n in missing})
    if fps and m.n_frames > 1 and abs(fps - m.rate) > 1e-6:
        m = m.resample(fps)
    if max_seconds and max_seconds > 0:
        m = m.time_range(m.times[0], m.times[0] + max_seconds)
    return m


def read_opensim_motion(path: str | Path, model, fps: float | None = None, max_seconds: float = 0.0):
    """Read a ``.mot``/``.sto`` of coordinates for ``model`` (an :class:`OsimModel`)."""
    from ..kinematics.mot import read_mot

    path = Path(path)
    try:
        motion = read_mot(path, model=model)
    except MotionIOError as exc:
        raise MotionSourceError(str(exc)) from exc
    defaults = {c.name: float(c.default_value) for c in model.coordinates}
    return conform_motion(motion, model.coordinate_names, defaults, str(path), fps, max_seconds,
                          driven=model.dependent_coordinates)


def library_motion(name: str, model, fps: float, max_seconds: float = 0.0, rng: np.random.Generator | None = None):
    """A motion of the project's motion library, on ``model``'s coordinates."""
    from .motion_library import list_motions, load_motion

    if name not in list_motions():
        raise MotionSourceError(f"library:{name}: no such motion (available: {', '.join(list_motions())})")
    motion = load_motion(name, fps=fps, duration=max_seconds or None, rng=rng)
    defaults = {c.name: float(c.default_value) for c in model.coordinates}
    return conform_motion(motion, model.coordinate_names, defaults, f"library:{name}", fps, max_seconds,
                          driven=model.dependent_coordinates)


# ---- the normalised source file (source.npz) -------------------------------------------------

def save_source(path: str | Path, kind: str, **arrays) -> Path:
    """Write the normalised motion of a source (kind + arrays) atomically."""
    if kind not in SOURCE_KINDS:
        raise MotionSourceError(f"unknown source kind {kind!r}")
    return atomic_savez(path, compressed=True, kind=np.str_(kind), **arrays)


def load_source(path: str | Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise MotionSourceError(f"{path}: not a readable normalised motion ({exc})") from exc
    out["kind"] = str(out["kind"])
    return out
