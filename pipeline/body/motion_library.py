"""odah's small motion library: keyframed OpenSim coordinate trajectories with published values.

Each motion is a YAML file in ``pipeline/body/motions/`` (the format: ``motions/README.md``). :func:`load_motion` turns one into a
:class:`pipeline.kinematics.mot.Motion` for the generic model
(:data:`pipeline.kinematics.generic_model.GENERIC_MODEL_PATH`): every coordinate of the model,
in the model's order, RADIANS for rotational coordinates and METRES for translations.

How a motion is built:

1. Keyframes over a normalised cycle (phase 0..1) in degrees (metres for ``pelvis_t*`` and
   ``lift``) are interpolated: a periodic cubic spline for cyclic motions, a monotone cubic
   (PCHIP, no overshoot, flat ends) for one-off motions. Keys without a side suffix
   (``knee_angle``) are the right side; the left side is the same curve shifted by
   ``mirror.phase_shift`` of a cycle (0.5 for gait). Keys with ``_r``/``_l`` set one side.
2. Optional seeded variation (an explicit ``numpy.random.Generator``): speed x U(0.9, 1.1) and
   amplitude x U(0.9, 1.1) about each curve's mean; deterministic for a seed.
3. Derived coordinates: ``ankle_angle: foot_flat`` keeps the foot flat in the sagittal plane
   (ankle = knee - hip flexion - pelvis tilt); the patella follows its coupler.
4. Values are clipped to the model's coordinate ranges (keyframes themselves are inside them: a
   test checks it).
5. Placement on the floor with forward kinematics of the generic model: ``pelvis_ty`` puts the
   lowest sole point on the floor in every frame (plus an optional keyframed ``lift`` for flight
   phases); ``forward_speed`` moves the pelvis along +X; ``planted`` keeps the midpoint of the
   listed bodies fixed on the floor (the feet do not slide); ``fix_feet`` re-solves both legs
   per frame so each foot keeps its first-frame pose exactly (for motions that turn the pelvis
   over planted feet).

Forward kinematics here is the torch :class:`pipeline.kinematics.fk.Skeleton` of the generic
model (float64, CPU); tests check the result independently through the ``opensim`` package.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MotionSourceError
from ..io_utils import read_document
from ..kinematics import generic_model as gm
from ..kinematics.mot import Motion

MOTIONS_DIR = Path(__file__).resolve().parent / "motions"
VARIATION = 0.10  # +- fraction for the seeded speed and amplitude variation

BILATERAL = (
    "hip_flexion", "hip_adduction", "hip_rotation", "knee_angle", "ankle_angle", "subtalar_angle",
    "mtp_angle", "arm_flex", "arm_add", "arm_rot", "elbow_flex", "pro_sup", "wrist_flex", "wrist_dev",
)
MIDLINE = ("pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz",
           "lumbar_extension", "lumbar_bending", "lumbar_rotation")
SPECIAL_KEYS = ("lift",)  # metres of the soles above the floor (flight phases)


@dataclass
class MotionSpec:
    """A parsed motion file (values as written: degrees, metres)."""

    name: str
    path: Path
    description: str
    kind: str  # 'cyclic' | 'one_off'
    cycle_duration: float  # s: one cycle (cyclic) or the whole movement (one-off)
    cycles: int
    sources: list[str]
    phase_shift: float
    keyframes: dict[str, np.ndarray]  # full coordinate name (or 'lift') -> (K, 2) phase, value
    pose: dict[str, float]  # full coordinate name -> constant value (named with its side)
    pose_both_sides: dict[str, float]  # from a key without a side: both sides, lowest priority
    derive: dict[str, str]
    forward_speed: float
    planted: list[str]
    fix_feet: bool = False

    @property
    def default_duration(self) -> float:
        return self.cycle_duration * (self.cycles if self.kind == "cyclic" else 1)


def list_motions() -> list[str]:
    """Names of the motions in the library (sorted)."""
    return sorted(p.stem for p in MOTIONS_DIR.glob("*.yaml"))


def _err(path: Path, field_: str, msg: str) -> MotionSourceError:
    return MotionSourceError(f"{path}: {field_}: {msg}")


def _expand(key: str, path: Path) -> list[str]:
    """A keyframe key -> the coordinate names it sets (bilateral keys set the right side)."""
    if key in SPECIAL_KEYS or key in MIDLINE:
        return [key]
    if key in BILATERAL:
        return [f"{key}_r"]
    if key in gm.COORDINATE_NAMES and not key.endswith("_beta"):
        return [key]
    raise _err(path, f"keyframes.{key}", "not a coordinate of the generic model "
               f"(expected one of {', '.join(BILATERAL + MIDLINE)} or a name with _r/_l)")


def _number(value, path: Path, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _err(path, where, f"expected a finite number, got {value!r}")
    return float(value)


def parse_motion(path: str | Path) -> MotionSpec:
    """Read and check one motion YAML (errors name the file and the field)."""
    path = Path(path)
    doc = read_document(path, MotionSourceError, "the motion file")
    if not isinstance(doc, dict):
        raise _err(path, "(top level)", "expected a mapping")
    for req in ("name", "kind", "cycle_duration", "sources", "keyframes"):
        if req not in doc:
            raise _err(path, req, "missing")
    kind = doc["kind"]
    if kind not in ("cyclic", "one_off"):
        raise _err(path, "kind", f"expected 'cyclic' or 'one_off', got {kind!r}")
    duration = _number(doc["cycle_duration"], path, "cycle_duration")
    if duration <= 0:
        raise _err(path, "cycle_duration", "must be positive (seconds)")
    sources = doc["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise _err(path, "sources", "expected a non-empty list of citations")
    mirror = doc.get("mirror") or {}
    shift = _number(mirror.get("phase_shift", 0.0), path, "mirror.phase_shift")
    placement = doc.get("placement") or {}
    speed = _number(placement.get("forward_speed", 0.0), path, "placement.forward_speed")
    fix_feet = placement.get("fix_feet", False)
    if not isinstance(fix_feet, bool):
        raise _err(path, "placement.fix_feet", f"expected true or false, got {fix_feet!r}")
    if fix_feet and placement.get("planted"):
        raise _err(path, "placement", "fix_feet already keeps both feet in place: drop planted")
    planted = placement.get("planted", [])
    if not isinstance(planted, list) or not all(b in gm.BODY_NAMES for b in planted):
        raise _err(path, "placement.planted", f"expected a list of body names, got {planted!r}")

    keyframes: dict[str, np.ndarray] = {}
    raw = doc["keyframes"]
    if not isinstance(raw, dict) or not raw:
        raise _err(path, "keyframes", "expected a mapping of coordinate -> [[phase, value], ...]")
    if "lift" in placement:
        raw = {**raw, "lift": placement["lift"]}
    for key, rows in raw.items():
        where = f"keyframes.{key}"
        if not isinstance(rows, list) or len(rows) < 2:
            raise _err(path, where, "expected at least two [phase, value] pairs")
        arr = np.array([[_number(v, path, where) for v in r] if isinstance(r, list) and len(r) == 2
                        else [math.nan, math.nan] for r in rows])
        if np.isnan(arr).any():
            raise _err(path, where, "every keyframe must be a [phase, value] pair of numbers")
        if arr[0, 0] != 0.0 or arr[-1, 0] > 1.0 or np.any(np.diff(arr[:, 0]) <= 0):
            raise _err(path, where, "phases must start at 0, increase strictly and end at <= 1")
        if kind == "one_off" and arr[-1, 0] != 1.0:
            raise _err(path, where, "a one-off motion's keyframes must end at phase 1")
        if kind == "cyclic" and arr[-1, 0] == 1.0 and not np.isclose(arr[-1, 1], arr[0, 1]):
            raise _err(path, where, "a cyclic curve must end (phase 1) where it starts (phase 0)")
        for name in _expand(key, path):
            keyframes[name] = arr
    pose: dict[str, float] = {}
    both_sides: dict[str, float] = {}
    for key, value in (doc.get("pose") or {}).items():
        v = _number(value, path, f"pose.{key}")
        if key in BILATERAL:
            both_sides[f"{key}_r"] = both_sides[f"{key}_l"] = v
        else:
            for name in _expand(key, path):
                pose[name] = v
    derive = doc.get("derive") or {}
    for key, rule in derive.items():
        if key not in ("ankle_angle", "ankle_angle_r", "ankle_angle_l") or rule != "foot_flat":
            raise _err(path, f"derive.{key}", f"unknown rule {key}: {rule!r} "
                       "(known: ankle_angle[_r|_l]: foot_flat)")
    cycles = int(_number(doc.get("cycles", 1), path, "cycles"))
    return MotionSpec(
        name=str(doc["name"]), path=path, description=str(doc.get("description", "")), kind=kind,
        cycle_duration=duration, cycles=max(cycles, 1), sources=list(sources), phase_shift=shift,
        keyframes=keyframes, pose=pose, pose_both_sides=both_sides, derive=dict(derive), forward_speed=speed,
        planted=list(planted), fix_feet=fix_feet)


def motion_path(name: str) -> Path:
    path = MOTIONS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise MotionSourceError(f"unknown motion {name!r} (no {path}); available: {', '.join(list_motions())}")
    return path


# ------------------------------------------------------------------------------------ curves
def _curve(spec: MotionSpec, key: str, phase: np.ndarray, amplitude: float) -> np.ndarray:
    """Keyframe curve ``key`` at ``phase`` (T,), in file units, with amplitude scaling."""
    from scipy.interpolate import CubicSpline, PchipInterpolator

    kf = spec.keyframes[key]
    x, y = kf[:, 0], kf[:, 1]
    if spec.kind == "cyclic" and key == "lift":  # bumps on zero: monotone, no ringing
        if x[-1] < 1.0:
            x, y = np.append(x, 1.0), np.append(y, y[0])
        f = PchipInterpolator(x, y)
        values = f(np.mod(phase, 1.0))
        mean = float(np.trapezoid(f(np.linspace(0, 1, 201)), dx=1 / 200))
    elif spec.kind == "cyclic":
        if x[-1] < 1.0:
            x, y = np.append(x, 1.0), np.append(y, y[0])
        f = CubicSpline(x, y, bc_type="periodic")
        values = f(np.mod(phase, 1.0))
        mean = f.integrate(0.0, 1.0)
    else:
        f = PchipInterpolator(x, y, extrapolate=False)
        values = f(np.clip(phase, 0.0, 1.0))
        mean = float(np.trapezoid(f(np.linspace(0, 1, 201)), dx=1 / 200))
    return mean + amplitude * (values - mean)


@functools.lru_cache(maxsize=1)
def _skeleton():
    import torch

    from ..kinematics.fk import Skeleton
    from ..kinematics.osim import load_osim

    return Skeleton(load_osim(gm.GENERIC_MODEL_PATH), dtype=torch.float64)


def sole_points_world(q: np.ndarray) -> dict[str, np.ndarray]:
    """Sole points of each foot body in the ground frame: body -> (T, P, 3) metres.

    ``q`` (T, C): every coordinate of the generic model (radians/metres).
    """
    import torch

    sk = _skeleton()
    with torch.no_grad():
        out = sk(torch.as_tensor(q, dtype=torch.float64))
    R, o = out.body_rotations.numpy(), out.body_origins.numpy()
    res = {}
    for body, pts in gm.foot_contact_points().items():
        b = sk.body_names.index(body)
        res[body] = np.einsum("tij,pj->tpi", R[:, b], pts) + o[:, b, None, :]
    return res


def body_origins_world(q: np.ndarray, bodies: list[str]) -> np.ndarray:
    """(T, len(bodies), 3) origins of ``bodies`` in the ground frame (metres)."""
    import torch

    sk = _skeleton()
    with torch.no_grad():
        out = sk(torch.as_tensor(q, dtype=torch.float64))
    idx = [sk.body_names.index(b) for b in bodies]
    return out.body_origins.numpy()[:, idx]


LEG_COORDINATES = ("hip_flexion", "hip_adduction", "hip_rotation", "knee_angle", "ankle_angle",
                   "subtalar_angle")


def _fix_feet(values: np.ndarray, iterations: int = 30, damping: float = 1e-4) -> np.ndarray:
    """Re-solve each leg (hip 3, knee, ankle, subtalar) so both feet keep their first-frame pose.

    values (T, C) radians/metres. Six leg coordinates per side against the six degrees of
    freedom of the calcaneus: Levenberg-Marquardt from the keyframed values, batched over frames,
    finite-difference Jacobian (one FK call per leg coordinate), clamped to the ranges. The
    pelvis, trunk and arms are kept as keyframed. A leg that cannot reach keeps its best pose
    (the floor guard afterwards keeps the soles above the floor).
    """
    import torch

    sk = _skeleton()
    names = list(gm.COORDINATE_NAMES)
    feet = [sk.body_names.index(f"calcn_{s}") for s in "rl"]
    cols = [[names.index(f"{c}_{s}") for c in LEG_COORDINATES] for s in "rl"]
    flat = [c for side in cols for c in side]
    lo = np.array([gm.coordinate_range(names[c])[0] for c in flat])
    hi = np.array([gm.coordinate_range(names[c])[1] for c in flat])
    q = torch.as_tensor(values, dtype=torch.float64).clone()

    def pose(qq):
        with torch.no_grad():
            out = sk(qq)
        return out.body_rotations[:, feet], out.body_origins[:, feet]  # (T, 2, 3, 3), (T, 2, 3)

    R0, p0 = pose(q[:1])

    def residual(qq):
        R, p = pose(qq)
        dR = R0.transpose(-1, -2) @ R  # rotation error in the first-frame foot frame
        w = 0.5 * torch.stack([dR[..., 2, 1] - dR[..., 1, 2], dR[..., 0, 2] - dR[..., 2, 0],
                               dR[..., 1, 0] - dR[..., 0, 1]], -1)
        return torch.cat([(p - p0) * 10.0, w], -1)  # (T, 2, 6): 10 cm ~ 1 rad

    eps = 1e-6
    lam = torch.full((q.shape[0], 2), damping, dtype=q.dtype)
    lo_t, hi_t = torch.as_tensor(lo), torch.as_tensor(hi)
    r = residual(q)
    for _ in range(iterations):
        if float(r.abs().max()) < 1e-8:
            break
        cand = q.clone()
        for side in range(2):
            J = torch.empty(q.shape[0], 6, 6, dtype=q.dtype)
            for k, c in enumerate(cols[side]):
                qp = q.clone()
                qp[:, c] += eps
                J[:, :, k] = (residual(qp)[:, side] - r[:, side]) / eps
            JtJ = J.transpose(1, 2) @ J
            A = JtJ + lam[:, side, None, None] * torch.diag_embed(torch.diagonal(JtJ, dim1=1, dim2=2) + 1e-9)
            step = torch.linalg.solve(A, -(J.transpose(1, 2) @ r[:, side, :, None]))[..., 0]
            cand[:, cols[side]] += step.clamp(-0.3, 0.3)
        cand[:, flat] = torch.minimum(torch.maximum(cand[:, flat], lo_t), hi_t)
        rc = residual(cand)
        better = (rc ** 2).sum(-1) < (r ** 2).sum(-1)  # (T, 2), per frame and leg
        for side in range(2):  # accept per frame and leg where the error went down
            c = cols[side]
            q[:, c] = torch.where(better[:, side:side + 1], cand[:, c], q[:, c])
        lam = torch.where(better, lam * 0.3, lam * 10.0).clamp(1e-9, 1e6)
        r = residual(q)
    out = q.numpy()
    for s in "rl":
        i = names.index(f"knee_angle_{s}")
        out[:, names.index(f"knee_angle_{s}_beta")] = gm.PATELLA_FLEXION_RATIO * out[:, i]
    return out


def load_motion(name: str, fps: float = 60.0, duration: float | None = None,
                rng: np.random.Generator | None = None) -> Motion:
    """A library motion as a :class:`Motion` of the generic model.

    name: a motion of :func:`list_motions` (or a path to a motion YAML).
    fps: frame rate (Hz). duration: seconds (default: the motion's cycles x cycle duration for
    cyclic motions, the movement itself for one-off ones; a one-off motion holds its last pose
    after it ends). rng: optional seeded variation of speed and amplitude (+-10 %).
    Returns values (T, C) for every coordinate of the generic model, radians / metres, T =
    round(duration * fps) + 1 frames from t = 0.
    """
    path = Path(name) if str(name).endswith(".yaml") else motion_path(name)
    spec = parse_motion(path)
    if not (fps > 0 and math.isfinite(fps)):
        raise _err(path, "fps", f"must be positive, got {fps!r}")
    speed_f, amp_f = 1.0, 1.0
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise MotionSourceError(f"{path}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
        speed_f = float(rng.uniform(1.0 - VARIATION, 1.0 + VARIATION))
        amp_f = float(rng.uniform(1.0 - VARIATION, 1.0 + VARIATION))
    cycle = spec.cycle_duration / speed_f
    if duration is None:
        duration = cycle * (spec.cycles if spec.kind == "cyclic" else 1)
    if not (duration > 0 and math.isfinite(duration)):
        raise _err(path, "duration", f"must be positive seconds, got {duration!r}")
    n = int(round(duration * fps)) + 1
    times = np.arange(n) / fps
    phase = times / cycle

    names = list(gm.COORDINATE_NAMES)
    defaults = gm.default_coordinate_values()
    values = np.array([[defaults[c] for c in names]] * n, dtype=float)
    lift = np.zeros(n)
    if "lift" in spec.keyframes:
        lift = np.maximum(_curve(spec, "lift", phase, amp_f), 0.0)
    for col, cname in enumerate(names):
        # Priority: own keyframes > own pose > the right side's keyframes shifted > a pose given
        # for both sides > the model default.
        right = cname[:-2] + "_r" if cname.endswith("_l") else None
        if cname in spec.keyframes:
            v = _curve(spec, cname, phase, amp_f)
        elif cname in spec.pose:
            v = np.full(n, spec.pose[cname])
        elif right in spec.keyframes:
            v = _curve(spec, right, phase - spec.phase_shift, amp_f)
        elif cname in spec.pose_both_sides:
            v = np.full(n, spec.pose_both_sides[cname])
        else:
            continue
        values[:, col] = v if cname in gm.TRANSLATIONAL else np.radians(v)

    idx = {c: i for i, c in enumerate(names)}
    for s in "rl":  # sagittal: shank lean over a flat foot = knee - thigh inclination
        if "foot_flat" in (spec.derive.get("ankle_angle"), spec.derive.get(f"ankle_angle_{s}")):
            values[:, idx[f"ankle_angle_{s}"]] = (values[:, idx[f"knee_angle_{s}"]]
                                                 - values[:, idx[f"hip_flexion_{s}"]]
                                                 - values[:, idx["pelvis_tilt"]])
    for c in names:
        lo, hi = gm.coordinate_range(c)
        if c not in gm.TRANSLATIONAL:
            values[:, idx[c]] = np.clip(values[:, idx[c]], lo, hi)
    for s in "rl":
        values[:, idx[f"knee_angle_{s}_beta"]] = gm.PATELLA_FLEXION_RATIO * values[:, idx[f"knee_angle_{s}"]]

    # Placement: forward progression, planted feet, soles on the floor.
    if spec.forward_speed:
        values[:, idx["pelvis_tx"]] += spec.forward_speed * speed_f * times
    if spec.planted and not spec.fix_feet:
        anchor = body_origins_world(values, spec.planted).mean(axis=1)  # (T, 3)
        values[:, idx["pelvis_tx"]] += anchor[0, 0] - anchor[:, 0]
        values[:, idx["pelvis_tz"]] += anchor[0, 2] - anchor[:, 2]
    soles = sole_points_world(values)
    lowest = np.min(np.concatenate([p[..., 1] for p in soles.values()], axis=1), axis=1)  # (T,)
    if spec.fix_feet:
        # The pelvis keeps its keyframed height from a first frame standing on the floor; the
        # legs are then solved so both feet stay where they were in that frame.
        values[:, idx["pelvis_ty"]] += lift - lowest[0]
        values = _fix_feet(values)
        soles = sole_points_world(values)
        lowest = np.min(np.concatenate([p[..., 1] for p in soles.values()], axis=1), axis=1)
        values[:, idx["pelvis_ty"]] -= np.minimum(lowest, 0.0)  # guard: never below the floor
    else:
        values[:, idx["pelvis_ty"]] += lift - lowest

    meta = {
        "motion": spec.name, "kind": spec.kind, "sources": spec.sources,
        "cycle_duration": cycle, "speed_factor": speed_f, "amplitude_factor": amp_f,
        "forward_speed": spec.forward_speed * speed_f, "model": gm.MODEL_NAME,
    }
    rotational = np.array([c not in gm.TRANSLATIONAL for c in names])
    return Motion(names=names, values=values, times=times, source=path, rotational=rotational,
                  name=spec.name, meta=meta)
