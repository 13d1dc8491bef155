"""Torch scaling without a setup file (AddBiomechanics-style): per-body scale factors, optional
marker offsets and the poses of a set of frames, fitted jointly to marker data.

The unknowns are three scale factors per *scale group* (a body, or bodies tied together), the
poses of ``frames`` frames of the trial and, optionally, each marker's location on its body. The
objective is ::

    sum_f sum_m w_m |x_m(q_f, s, d) - data_fm|^2 / sigma^2   (sigma = marker_noise / sqrt 3)
  + sum_g sum_k ((s_gk - mean_k s_gk) / 0.1)^2                      (mild anisotropy)
  + sum_g ((mean_k s_gk - s_0) / 0.2)^2                              (overall size, weak)
  + sum_(right, left groups) sum_k ((s_rk - s_lk) / 0.1)^2           (left/right, weak)
  + sum_m |d_m|^2 / 0.02^2                                          (marker offsets, if fitted)
  + sum_m |d_m(s)|^2 / 0.1^2                           (markers placed on a static trial, if given)

``s_0`` is the subject's height over the model's (when ``height`` is given) or the best single
scale for the whole model. The priors only matter where markers say little (a body's depth, say);
markers determine the rest.

With a static trial of known pose (``static=``), the markers it holds are no unknowns: for any
scales they are placed on it (``d(s)``, OpenSim's MarkerPlacer), so the scale factors are set by
how the segments turn about their joint centres in the motion, not by a tight prior that pulls
each marker toward the model's location (a body's own landmarks sit up to 7 cm from the generic
model's); only a weak one (10 cm) holds what the motion leaves loose.

Solver: marker positions are linear in the scale factors for fixed poses, so each round runs IK
for the frames (warm started), linearises in the scales and offsets (central differences, exact
for linear terms), eliminates the poses by their Schur complement (bundle-adjustment style, so
scale and pose move together), and takes the Gauss-Newton step, halving it until the objective
(after re-solving the poses) decreases.

Default scale groups (``groups`` overrides them, ``{body: group name}``):

* a body with markers is its own group (3 factors);
* ``patella_*`` follows ``femur_*``; ``talus_*`` and ``toes_*`` follow ``calcn_*``; ``ulna_*``
  and ``radius_*`` form one forearm group, which ``hand_*`` joins when it carries fewer than
  three markers;
* any other body without markers follows its parent's group.

Marker offsets, like :class:`pipeline.kinematics.fk.Skeleton`'s, are locations in the unscaled
body frames that replace the model's; markers with ``fixed`` set in the model keep theirs.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import KinematicsError
from ..log import get_logger
from .fk import Skeleton
from .ik import _Problem, solve_ik
from .osim import OsimModel

log = get_logger("kinematics.scaling")

SIGMA_ANISO = 0.1
SIGMA_SIZE = 0.2
SIGMA_SYM = 0.1
SIGMA_OFFSET = 0.02  # m
SIGMA_PLACED = 0.1  # m: markers placed on a static trial, from the model's locations (weak)
SCALE_LIMITS = (0.3, 3.0)  # no scale factor leaves this range


@dataclass
class ScaleResult:
    """Torch scaling results (numpy, float64)."""

    scales: dict[str, np.ndarray]  # body -> (3,) scale factors (every body of the model)
    marker_offsets: dict[str, np.ndarray] | None  # marker -> (3,) unscaled body-frame location, if fitted
    q: np.ndarray  # (F, C) poses of the frames used (rad / m)
    frames: np.ndarray  # (F,) indices of those frames in the trial
    marker_names: list[str]  # the markers used
    marker_errors: np.ndarray  # (F, M) model-to-data distance, metres (NaN: missing)
    marker_rmse: np.ndarray  # (F,) metres
    groups: dict[str, str] = field(default_factory=dict)  # body -> scale group
    # group -> (3,) standard deviation of its factors implied by the markers alone (marker noise
    # ``marker_noise``, poses free): small (< 0.01) where the markers determine the factor
    scale_std: dict[str, np.ndarray] = field(default_factory=dict)
    initial_scale: float = 1.0  # s_0 of the size prior
    mass: float | None = None  # kg, as given
    height: float | None = None  # m, as given
    rounds: int = 0
    seconds: float = 0.0
    # groups with a factor pinned at SCALE_LIMITS: the fit is not to be trusted there
    at_limit: list[str] = field(default_factory=list)


def default_groups(model: OsimModel, marker_names: list[str] | None = None) -> dict[str, str]:
    """``{body: group}`` by the rules in the module docstring (markers: those in use)."""
    use = set(model.marker_names if marker_names is None else marker_names)
    count = {b: 0 for b in model.body_names}
    for m in model.markers:
        if m.name in use and m.body in count:
            count[m.body] += 1
    bodies = set(model.body_names)
    parent = {j.child.body: j.parent.body for j in model.joints}
    group: dict[str, str] = {}

    def side(name, stem):
        m = re.fullmatch(rf"{stem}(_[rl])", name)
        return m.group(1) if m else None

    for b in model.body_names:
        g = b
        for stem, target in (("patella", "femur"), ("talus", "calcn"), ("toes", "calcn")):
            sd = side(b, stem)
            if sd and f"{target}{sd}" in bodies and count[b] == 0:
                g = f"{target}{sd}"
        for stem in ("ulna", "radius"):
            sd = side(b, stem)
            if sd and f"ulna{sd}" in bodies and f"radius{sd}" in bodies:
                g = f"forearm{sd}"
        sd = side(b, "hand")
        if sd and count[b] < 3 and f"radius{sd}" in bodies:
            g = f"forearm{sd}" if f"ulna{sd}" in bodies else f"radius{sd}"
        group[b] = g
    # other bodies without markers follow their parent
    for b in model.body_names:
        if group[b] == b and count[b] == 0:
            p = parent.get(b)
            seen = set()
            while p is not None and p in bodies and count[p] == 0 and group[p] == p and p not in seen:
                seen.add(p)
                p = parent.get(p)
            if p is not None and p in bodies:
                group[b] = group[p]
    return group


def model_height(model: OsimModel, sk: Skeleton | None = None) -> float | None:
    """Approximate standing height of the model (m): the vertical extent of its markers in the
    default pose over 0.95 (the highest marker sits a little below the top of the head). None
    when the model has fewer than two markers."""
    if len(model.markers) < 2:
        return None
    sk = sk or Skeleton(model)
    with torch.inference_mode():
        y = sk(sk.default_q()).markers[:, 1]
    return float(y.max() - y.min()) / 0.95


def _pick_frames(present: np.ndarray, n: int) -> np.ndarray:
    """``n`` frames spread over the trial, among those with the most markers present."""
    count = present.sum(1)
    ok = np.flatnonzero(count >= max(3, 0.5 * count.max()))
    if len(ok) == 0:
        raise KinematicsError("scaling: no frame has at least 3 of the markers")
    if len(ok) <= n:
        return ok
    return ok[np.round(np.linspace(0, len(ok) - 1, n)).astype(int)]


HEIGHT_MISMATCH = 0.15  # a given height this far (relative) from the markers' size is warned about
HEIGHT_RANGE = (0.3, 3.0)  # m, a subject's height (kinematics.scale.height's maximum; 0 there: unknown)


def check_height(height: float, where: str = "scaling: height") -> None:
    """Raise KinematicsError unless ``height`` (m) is in :data:`HEIGHT_RANGE`, saying which unit a
    value out of range looks like (178: centimetres, 1780: millimetres)."""
    lo, hi = HEIGHT_RANGE
    if lo <= height <= hi:
        return
    msg = f"{where} {height}: expected metres, {lo} to {hi} (e.g. 1.78)"
    if 100 * lo <= height <= 100 * hi:
        msg += f"; {height:g} looks like centimetres ({height / 100:g} m)"
    elif 1000 * lo <= height <= 1000 * hi:
        msg += f"; {height:g} looks like millimetres ({height / 1000:g} m)"
    raise KinematicsError(msg)


def scale_torch(
    model: OsimModel,
    markers,
    marker_names: list[str],
    mass: float | None = None,
    height: float | None = None,
    frames: int = 20,
    fit_marker_offsets: bool = True,
    weights: dict[str, float] | None = None,
    static=None,
    groups: dict[str, str] | None = None,
    marker_noise: float = 0.01,
    max_rounds: int = 25,
    tolerance: float = 1e-4,
    device="cpu",
    dtype: torch.dtype = torch.float64,
    progress: bool = True,
) -> ScaleResult:
    """Fit per-body scale factors (and optionally marker offsets) to ``markers (T, M, 3)``
    (metres, OpenSim axes, NaN = missing) of a static or dynamic trial.

    ``height`` (m) centres the overall-size prior; ``mass`` (kg) is only recorded (the scaled
    model's writer distributes it). ``frames``: how many frames of the trial are fitted.
    ``weights``: marker weights (default 1). ``marker_noise``: the RMS marker error (a distance,
    m) the priors are weighed against; it also sets ``scale_std``.

    ``static``: ``(markers (M, 3), q (C,))``, a static trial of *known* pose (the markers in the
    order of ``marker_names``, NaN = missing; ``q`` every model coordinate). The markers it holds
    are then placed on it for every trial of scale factors (OpenSim's MarkerPlacer, inside the
    fit: no offset unknowns, only a weak prior toward the model's locations, ``SIGMA_PLACED``), so
    the scales are those under which the placed markers best explain the trial's motion; the
    placed locations are returned as
    ``marker_offsets``. Markers the static trial lacks are fitted with the prior when
    ``fit_marker_offsets``, else keep the model's locations. Raises :class:`KinematicsError` for bad input.
    """
    t_start = time.perf_counter()
    if mass is not None and not (mass > 0 and math.isfinite(mass)):
        raise KinematicsError(f"scaling: mass must be a positive number of kg, got {mass}")
    if height is not None:
        check_height(height)
    data = np.asarray(markers, float)
    if data.ndim != 3 or data.shape[1:] != (len(marker_names), 3):
        raise KinematicsError(f"scaling: markers must be (T, {len(marker_names)}, 3), got {data.shape}")
    if frames < 1:
        raise KinematicsError(f"scaling: frames must be >= 1, got {frames}")
    kw = dict(dtype=dtype, device=device)
    sk = Skeleton(model, dtype=dtype, device=device)
    midx = {n: i for i, n in enumerate(model.marker_names)}
    use = [n for n in marker_names if n in midx and (weights is None or weights.get(n, 0.0) > 0)]
    if len(use) < 3:
        raise KinematicsError(f"scaling: only {len(use)} of the data markers are in model {model._where()} "
                              "(need at least 3)")
    dcol = [marker_names.index(n) for n in use]
    present_all = np.isfinite(data[:, dcol]).all(-1)
    fidx = _pick_frames(present_all, frames)
    target_np = data[fidx][:, dcol]  # (F, M, 3)
    F, M = target_np.shape[:2]
    wm = np.array([1.0 if weights is None else float(weights[n]) for n in use])

    # scale groups -> parameters: 3 per group
    grp = dict(default_groups(model, use))
    if groups:
        unknown = [b for b in groups if b not in grp]
        if unknown:
            raise KinematicsError(f"scaling: groups name bodies not in the model: {unknown}")
        grp.update(groups)
    gnames = sorted(set(grp.values()), key=lambda g: min(model.body_names.index(b) for b in grp if grp[b] == g))
    G = len(gnames)
    body_group = torch.tensor([gnames.index(grp[b]) for b in model.body_names], dtype=torch.long, device=device)
    P = 3 * G

    def body_scales(p: torch.Tensor) -> torch.Tensor:  # (..., P) -> (..., B, 3)
        return p.reshape(p.shape[:-1] + (G, 3)).index_select(-2, body_group)

    # marker offsets: unknown d (M, 3) per used marker, unless fixed
    mrow = [midx[n] for n in use]
    base_loc = sk.marker_locations.clone()
    free_off = torch.tensor([not model.markers[i].fixed for i in mrow], **kw)
    n_off = 3 * M if fit_marker_offsets else 0

    target = torch.as_tensor(target_np, **kw)
    present = torch.isfinite(target).all(-1)
    target = torch.where(present.unsqueeze(-1), target, torch.zeros_like(target))
    w = torch.as_tensor(wm, **kw) * present  # (F, M) absolute weights
    sigma = marker_noise / math.sqrt(3.0)  # per coordinate, for an RMS marker error of marker_noise
    wsqrt = w.sqrt() / sigma

    # known-pose static trial: markers placed on it for any scales (tied offsets)
    tied = None
    if static is not None:
        xs, qs = (np.asarray(a, float) for a in static)
        if xs.shape != (len(marker_names), 3) or qs.shape != (sk.n_coordinates,):
            raise KinematicsError(f"scaling: static must be (markers ({len(marker_names)}, 3), q ({sk.n_coordinates},)), "
                                  f"got {xs.shape} and {qs.shape}")
        xs = xs[dcol]
        okm = np.isfinite(xs).all(-1) & free_off.cpu().numpy().astype(bool)
        if okm.any():
            tied = dict(pos=torch.tensor(np.flatnonzero(okm), device=device),
                        rows=torch.tensor([mrow[i] for i in np.flatnonzero(okm)], device=device),
                        body=torch.tensor([sk.body_names.index(model.markers[mrow[i]].body) for i in np.flatnonzero(okm)],
                                          device=device),
                        x=torch.as_tensor(xs[okm], **kw), q=torch.as_tensor(qs, **kw))
            free_off = free_off.clone()
            free_off[tied["pos"]] = 0.0

    def offsets_table(d: torch.Tensor, p: torch.Tensor | None = None) -> torch.Tensor:
        """(M_model, 3) marker locations (``(..., M_model, 3)`` for a batch of ``p``): the used
        markers' offsets ``d (M, 3)`` added, the tied ones placed on the static trial under ``p``."""
        tab = base_loc.index_copy(0, torch.tensor(mrow, device=device), base_loc[mrow] + d)
        if tied is None or p is None:
            return tab
        Sb = body_scales(p)  # (..., B, 3)
        fk = sk(tied["q"].expand(Sb.shape[:-2] + tied["q"].shape), Sb)
        R = fk.body_rotations.index_select(-3, tied["body"])  # (..., K, 3, 3)
        o = fk.body_origins.index_select(-2, tied["body"])
        s_k = Sb.index_select(-2, tied["body"])
        loc = (R.transpose(-1, -2) @ (tied["x"] - o).unsqueeze(-1)).squeeze(-1)  # in the body frame
        if not sk._marker_direct:  # markers on offset frames: undo the frame (its translation scales too)
            Rm, Mm = sk.R_mk[tied["rows"]], sk.M_mk[tied["rows"]]
            loc = (Rm.transpose(-1, -2) @ (loc - (Mm @ s_k.unsqueeze(-1)).squeeze(-1)).unsqueeze(-1)).squeeze(-1)
        loc = loc / s_k
        tab = tab.expand(Sb.shape[:-2] + tab.shape).clone()
        tab[..., tied["rows"], :] = loc
        return tab

    def ik(p, d, q0=None, iters=30):
        res = solve_ik(sk, target_np, use, weights=dict(zip(use, wm)), scales=body_scales(p),
                       marker_offsets=offsets_table(d, p), q0=q0, stride=1, max_iterations=iters,
                       tolerance=1e-7, progress=False)
        return res

    # priors (residual vectors, linear in p and d)
    sym_pairs = []
    for g in gnames:
        if g.endswith("_r") and g[:-2] + "_l" in gnames:
            sym_pairs.append((gnames.index(g), gnames.index(g[:-2] + "_l")))

    def prior_residuals(p, d, s0):
        s = p.reshape(G, 3)
        mean = s.mean(-1, keepdim=True)
        parts = [((s - mean) / SIGMA_ANISO).reshape(-1), ((mean.squeeze(-1) - s0) / SIGMA_SIZE)]
        if sym_pairs:
            a = torch.tensor([i for i, _ in sym_pairs], device=device)
            b = torch.tensor([j for _, j in sym_pairs], device=device)
            parts.append(((s[a] - s[b]) / SIGMA_SYM).reshape(-1))
        if n_off:
            parts.append((d * free_off.unsqueeze(-1) / SIGMA_OFFSET).reshape(-1))
        return torch.cat(parts)


    def prior_jacobian(s0):
        # the priors are linear: their Jacobian is constant (computed by differencing once)
        z = torch.zeros(P + n_off, **kw)
        r0 = prior_residuals(z[:P] + 1.0, z[P:].reshape(M, 3) if n_off else torch.zeros(M, 3, **kw), s0)
        cols = []
        for k in range(P + n_off):
            e = z.clone()
            e[k] = 1.0
            pk = e[:P] + 1.0
            dk = e[P:].reshape(M, 3) if n_off else torch.zeros(M, 3, **kw)
            cols.append(prior_residuals(pk, dk, s0) - r0)
        return torch.stack(cols, -1)

    def placed_residuals(pp: torch.Tensor) -> torch.Tensor:
        """(..., 3K) placed markers' distance from the model's locations (unscaled body frames) /
        SIGMA_PLACED. Weak: it holds the scales the motion leaves free or nearly so (the knee's
        place along a leg that stays straight, an arm seen through sliding forearm skin) near a
        joint centre among its markers as the model has it."""
        tab = offsets_table(torch.zeros(M, 3, **kw), pp)
        r = (tab[..., tied["rows"], :] - base_loc[tied["rows"]]) / SIGMA_PLACED
        return r.reshape(r.shape[:-2] + (-1,))

    def placed_jacobian(p: torch.Tensor, h: float = 1e-4) -> torch.Tensor:  # (3K, P + n_off)
        E = torch.eye(P, **kw) * h
        r = placed_residuals(torch.cat([p + E, p - E], 0))
        J = ((r[:P] - r[P:]) / (2 * h)).T
        return torch.cat([J, torch.zeros(J.shape[0], n_off, **kw)], -1)

    def objective(res, p, d, s0):
        e = torch.as_tensor(res.marker_errors, **kw)
        e = torch.where(present, e, torch.zeros_like(e))
        data_term = ((e * e) * w).sum() / sigma ** 2
        pr = prior_residuals(p, d, s0)
        out = data_term + (pr * pr).sum()
        if tied is not None:
            out = out + (placed_residuals(p) ** 2).sum()
        return float(out)

    with torch.inference_mode():
        # 1) one scale for the whole model: IK + 1-D linear fits, a few rounds
        p = torch.ones(P, **kw)
        d = torch.zeros(M, 3, **kw)
        res = ik(p, d, iters=60)
        s_glob = 1.0
        for _ in range(4):
            q = torch.as_tensor(res.q, **kw)
            x0 = sk(q, body_scales(p), offsets_table(d, p)).markers[:, mrow]
            x1 = sk(q, body_scales(p * 1.01), offsets_table(d, p * 1.01)).markers[:, mrow]
            a = (x1 - x0) / 0.01  # d x / d(relative scale)
            r = (target - x0) * w.sqrt().unsqueeze(-1)
            aw = a * w.sqrt().unsqueeze(-1)
            ds = float((aw * r).sum() / (aw * aw).sum().clamp_min(1e-12))
            s_glob = float(np.clip(s_glob * (1 + ds), *SCALE_LIMITS))
            p = torch.full((P,), s_glob, **kw)
            res = ik(p, d, q0=res.q)
        s0 = s_glob
        if height is not None:
            h_model = model_height(model, sk)
            if h_model:
                s0 = height / h_model
                if abs(s0 / s_glob - 1) > HEIGHT_MISMATCH:  # a typo, or the wrong unit or subject
                    log.warning("scaling: height %.2f m given, but the markers are those of a %.2f m body (the model "
                                "scaled by %.3f to fit them); the size prior pulls the factors toward the given height: check it",
                                height, s_glob * h_model, s_glob)
        log.debug("scaling: whole-model scale %.4f, size prior %.4f", s_glob, s0)

        # 2) Gauss-Newton on (scales, offsets) with the poses eliminated
        Jprior = prior_jacobian(s0)
        obj = objective(res, p, d, s0)
        rounds = 0
        # the pose problem is built once: a round only changes its scales and marker locations
        prob = _Problem(sk, mrow, None, None, {i: c.default_value for i, c in enumerate(model.coordinates) if c.locked}, [])
        for rounds in range(1, max_rounds + 1):
            q = torch.as_tensor(res.q, **kw)
            S_p, table = body_scales(p), offsets_table(d, p)
            prob.set_scaling(S_p, table)
            r, Jq, _ = prob.evaluate(q.index_select(-1, prob.free_idx), target, wsqrt,
                                     torch.zeros(F, 0, **kw), torch.zeros(0, **kw))  # (F, 3M), (F, 3M, Fq)
            Jp = _scale_jacobian(sk, q, p, body_scales, lambda pp: offsets_table(d, pp), mrow, P) * wsqrt.repeat_interleave(3, -1).unsqueeze(-1)
            if n_off:
                Jd = _offset_jacobian(sk, q, S_p, table, mrow) * wsqrt.repeat_interleave(3, -1).unsqueeze(-1)
                Jd = Jd * free_off.repeat_interleave(3).unsqueeze(0).unsqueeze(0)
                Jx = torch.cat([Jp, Jd], -1)
            else:
                Jx = Jp
            Hqq = Jq.transpose(-1, -2) @ Jq
            Hqq = Hqq + torch.diag_embed(1e-9 * (1 + torch.diagonal(Hqq, dim1=-2, dim2=-1)))
            Hqx = Jq.transpose(-1, -2) @ Jx  # (F, Fq, X)
            gq = (Jq.transpose(-1, -2) @ r.unsqueeze(-1))  # (F, Fq, 1)
            Lq = torch.linalg.cholesky(Hqq)
            A = torch.cholesky_solve(Hqx, Lq)  # Hqq^-1 Hqx
            bq = torch.cholesky_solve(gq, Lq)
            S = (Jx.transpose(-1, -2) @ Jx).sum(0) - (Hqx.transpose(-1, -2) @ A).sum(0)
            rhs = (Jx.transpose(-1, -2) @ r.unsqueeze(-1)).sum(0).squeeze(-1) - (Hqx.transpose(-1, -2) @ bq).sum(0).squeeze(-1)
            pr = prior_residuals(p, d, s0)
            S_data = S.clone()
            if n_off:  # offsets are only pinned by their prior: keep it in the "markers alone" view
                Jo = Jprior[-3 * M:]
                S_data = S_data + Jo.T @ Jo
            S = S + Jprior.T @ Jprior
            rhs = rhs + Jprior.T @ pr
            if tied is not None:
                Jt = placed_jacobian(p)
                S = S + Jt.T @ Jt
                rhs = rhs + Jt.T @ placed_residuals(p)
            S = S + 1e-9 * torch.eye(S.shape[0], **kw)
            step = -torch.linalg.solve(S, rhs)
            # step control: accept when the objective (poses re-solved) decreases
            alpha, accepted = 1.0, False
            for _ in range(6):
                p_try = (p + alpha * step[:P]).clamp(*SCALE_LIMITS)
                d_try = d + alpha * step[P:].reshape(M, 3) if n_off else d
                res_try = ik(p_try, d_try, q0=res.q)
                obj_try = objective(res_try, p_try, d_try, s0)
                if obj_try <= obj:
                    accepted = True
                    break
                alpha *= 0.5
            if not accepted:
                break
            change = float((alpha * step[:P]).abs().max())
            p, d, res, obj = p_try, d_try, res_try, obj_try
            log.debug("scaling round %d: objective %.6g, largest scale change %.2e", rounds, obj, change)
            if change < tolerance:
                break
        if progress:
            log.info("scaling: %d frames, %d markers, %d scale groups, %d rounds, marker RMSE %.1f mm",
                     F, M, G, rounds, 1000 * float(np.nanmean(res.marker_rmse)))

        # what the markers alone say: the Cramer-Rao bound of each factor (last linearisation)
        ev, V = torch.linalg.eigh(S_data)
        inv = (V * torch.where(ev > 1e-12 * ev.max(), 1.0 / ev, torch.full_like(ev, 1e12))) @ V.T
        std = torch.diagonal(inv)[:P].clamp_min(0).sqrt().reshape(G, 3).cpu().numpy()
        S_b = body_scales(p).cpu().numpy()
        pg = p.reshape(G, 3).cpu().numpy()
        lo, hi = SCALE_LIMITS
        at_limit = [g for i, g in enumerate(gnames) if np.any(pg[i] <= lo * 1.001) or np.any(pg[i] >= hi * 0.999)]
        if at_limit:
            # the markers could only be explained by an absurd body: they sit elsewhere on this
            # subject than on the model (cluster markers, a different protocol) or are misnamed
            log.warning("scaling: the factors of %s reached their limits (%g to %g): the markers disagree with "
                        "the model's marker locations; fit marker offsets (kinematics.scale.fit_marker_offsets, "
                        "odah scale --fit-marker-offsets) or check the marker names",
                        ", ".join(at_limit), lo, hi)
        offsets = None
        if fit_marker_offsets or tied is not None:
            loc = offsets_table(d, p).cpu().numpy()
            placed = set() if tied is None else {mrow[i] for i in tied["pos"].tolist()}
            offsets = {n: loc[midx[n]].copy() for n in use if fit_marker_offsets or midx[n] in placed}
    return ScaleResult(
        scales={b: S_b[i].astype(np.float64) for i, b in enumerate(model.body_names)},
        marker_offsets=offsets,
        q=res.q, frames=fidx, marker_names=list(res.marker_names),
        marker_errors=res.marker_errors, marker_rmse=res.marker_rmse,
        groups=grp, scale_std={g: std[i].astype(np.float64) for i, g in enumerate(gnames)}, initial_scale=float(s0), mass=mass, height=height, rounds=rounds,
        seconds=time.perf_counter() - t_start, at_limit=at_limit,
    )


def _scale_jacobian(sk, q, p, body_scales, offsets, mrow, P, h=1e-4) -> torch.Tensor:
    """(F, 3M, P) d markers / d scale parameters by central differences (exact where linear).
    ``offsets``: the marker table, or a function of a batch of scale parameters ``(N, P)``
    giving ``(N, M_model, 3)`` (markers placed on a static trial move with the scales)."""
    F = q.shape[0]
    E = torch.eye(P, dtype=q.dtype, device=q.device) * h
    pp = torch.cat([p + E, p - E], 0)  # (2P, P)
    sc = body_scales(pp).unsqueeze(1)  # (2P, 1, B, 3)
    if callable(offsets):
        offsets = offsets(pp)
        if offsets.ndim == 3:  # one table per scale trial: (2P, 1, M_model, 3)
            offsets = offsets.unsqueeze(1)
    x = sk(q.expand((2 * P,) + q.shape), sc, offsets).markers[..., mrow, :]  # (2P, F, M, 3)
    d = (x[:P] - x[P:]) / (2 * h)  # (P, F, M, 3)
    return d.permute(1, 2, 3, 0).reshape(F, -1, P)


def _offset_jacobian(sk, q, scales, offsets, mrow, h=1e-4) -> torch.Tensor:
    """(F, 3M, 3M) d markers / d marker offsets: block diagonal, by central differences."""
    F, M = q.shape[0], len(mrow)
    idx = torch.tensor(mrow, device=q.device)
    cols = []
    for k in range(3):
        e = torch.zeros_like(offsets)
        e[idx, k] = h
        xp = sk(q, scales, offsets + e).markers[:, mrow]
        xm = sk(q, scales, offsets - e).markers[:, mrow]
        cols.append((xp - xm) / (2 * h))  # (F, M, 3): column k of each marker's 3x3 block
    blocks = torch.stack(cols, -1)  # (F, M, 3, 3)
    out = torch.zeros(F, M, 3, M, 3, dtype=q.dtype, device=q.device)
    ar = torch.arange(M, device=q.device)
    out[:, ar, :, ar, :] = blocks.permute(1, 0, 2, 3)
    return out.reshape(F, 3 * M, 3 * M)
