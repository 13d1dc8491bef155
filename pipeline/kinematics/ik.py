"""Batched inverse kinematics in torch: the objective of OpenSim's InverseKinematicsTool, solved
for many frames at once with a Levenberg-Marquardt method and analytic Jacobians.

Objective per frame (OpenSim's ``AssemblySolver`` with a ``Markers`` goal and ``QValue`` goals,
Simbody's Assembler): ::

    sum_i w_i |x_i(q) - m_i|^2 / (2 sum_i w_i)  +  sum_j w_j (q_j - q*_j)^2 / 2

where the sums over markers ``i`` only include markers present (not NaN) in that frame; so marker
weights are relative, and coordinate-task weights are absolute (radians or metres).

* Locked coordinates stay at their default value; clamped coordinates stay inside their range
  (projection with an active set); coupler-dependent coordinates follow their independent
  coordinate exactly (OpenSim's ``constraint_weight`` = Inf).
* Jacobians are analytic: for a rotation axis ``w`` of a joint with centre ``c``,
  ``dx/dv = w x (x - c)``; for a translation axis ``dx/dv = w``; chained with ``dv/dq`` (spline
  slopes, multipliers, coupler slopes). The Gauss-Newton matrix is assembled per body from the
  markers' weighted moments (no per-marker Jacobian); steps along slowly converging (flat)
  directions are extrapolated to the limit of their geometric series.
* Warm start across frames, coarse to fine: every ``stride``-th frame is solved first (from the
  root pose found by a rigid fit and the model's default pose); one whose solution jumps from its
  predecessor's (by more than 0.5 rad or 0.5 m) is re-solved from the predecessor's solution and
  keeps whichever fits better (so a frame cannot settle in a flipped minimum its neighbour
  avoids); then every stride/4-th frame, ..., every
  frame is solved from its solved neighbours, interpolated. Converged frames leave the batch.
* Frames with no tracked marker keep their warm-start pose and report NaN errors.

Differences from OpenSim, by design: constraints are always strict (``constraint_weight`` is not
used; OpenSim's default and Hamner's setup are Inf), locked coordinates stay at their default
value, and the solver runs to its own tolerance (``accuracy`` of a setup is not used): OpenSim
stops earlier at a loose accuracy (1e-4 on Hamner), a few percent above the optimum.
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import KinematicsError
from ..io_utils import read_xml
from ..log import get_logger
from .fk import Skeleton
from .functions import LinearFunction

log = get_logger("kinematics.ik")


# ----------------------------------------------------------------------------------------------
# IK setup files


@dataclass
class CoordinateTask:
    """A coordinate task: keep ``coordinate`` near ``value`` with ``weight``.

    ``value_type``: 'default_value' (the model's default), 'manual_value' (``value``) or
    'from_file' (the setup's ``coordinate_file``; the caller supplies per-frame targets).
    """

    name: str
    weight: float
    value_type: str = "default_value"
    value: float = 0.0


@dataclass
class IKSetup:
    """An OpenSim InverseKinematicsTool setup; paths are resolved against the setup's folder."""

    path: Path | None
    name: str = ""
    model_file: Path | None = None
    marker_file: Path | None = None
    coordinate_file: Path | None = None
    output_motion_file: Path | None = None
    results_directory: Path | None = None
    time_range: tuple[float, float] | None = None
    accuracy: float = 1e-5
    constraint_weight: float = math.inf
    marker_weights: dict[str, float] = field(default_factory=dict)  # applied marker tasks
    coordinate_tasks: list[CoordinateTask] = field(default_factory=list)  # applied tasks

    def frame_range(self, times: np.ndarray) -> tuple[int, int]:
        """First and last frame index (inclusive) inside ``time_range``, as OpenSim picks them
        (the rows nearest the range clipped to the data)."""
        times = np.asarray(times, float)
        if len(times) == 0:
            raise KinematicsError(f"{self.path}: the marker data has no frames")
        if self.time_range is None:
            return 0, len(times) - 1
        t0 = max(times[0], self.time_range[0])
        t1 = min(times[-1], self.time_range[1])
        if t1 < t0:
            raise KinematicsError(f"{self.path} <time_range>: {self.time_range} does not overlap the data "
                                  f"({times[0]:g} to {times[-1]:g} s)")
        return int(np.argmin(np.abs(times - t0))), int(np.argmin(np.abs(times - t1)))

    def coordinate_targets(self, model, n_frames: int, coordinate_values: dict[str, np.ndarray] | None = None):
        """``{name: (target (T,) or float, weight)}`` for :func:`solve_ik`."""
        out = {}
        names = set(model.coordinate_names)
        for t in self.coordinate_tasks:
            if t.name not in names:
                raise KinematicsError(f"{self.path}: IKCoordinateTask {t.name!r} is not a coordinate of the model")
            if t.value_type == "from_file":
                if coordinate_values is None or t.name not in coordinate_values:
                    raise KinematicsError(f"{self.path}: IKCoordinateTask {t.name!r} takes its value from the "
                                          "coordinate file, but no values for it were given")
                v = np.asarray(coordinate_values[t.name], float)
                if v.shape != (n_frames,):
                    raise KinematicsError(f"coordinate values for {t.name!r}: expected ({n_frames},), got {v.shape}")
                out[t.name] = (v, t.weight)
            elif t.value_type == "manual_value":
                out[t.name] = (float(t.value), t.weight)
            else:
                out[t.name] = (float(model.coordinate(t.name).default_value), t.weight)
        return out


def _text(el, tag):
    c = el.find(tag)
    return None if c is None or c.text is None else c.text.strip()


def _num(text: str, where: str) -> float:
    t = text.strip()
    if t.lower() in ("inf", "infinity", "+inf"):
        return math.inf
    try:
        return float(t)
    except ValueError:
        raise KinematicsError(f"{where}: expected a number, got {text!r}") from None


def _tasks(el: ET.Element, base: Path, where: str, setup: IKSetup):
    src = el.get("file")
    if src:
        p = (base / src.strip()).resolve()
        root = read_xml(p, KinematicsError, "IKTaskSet file", prefix=f"{where}: ")
        el = root if root.tag == "IKTaskSet" else root.find(".//IKTaskSet")
        if el is None:
            raise KinematicsError(f"{p}: no <IKTaskSet>")
        where = str(p)
    objs = el.find("objects")
    for t in list(objs) if objs is not None else []:
        name = t.get("name", "")
        w = f"{where}: <{t.tag} name={name!r}>"
        apply = (_text(t, "apply") or "true").lower() == "true"
        weight = _num(_text(t, "weight") or "1", f"{w} <weight>")
        if t.tag == "IKMarkerTask":
            if apply and weight > 0:
                setup.marker_weights[name] = weight
        elif t.tag == "IKCoordinateTask":
            vt = (_text(t, "value_type") or "default_value").strip()
            if vt not in ("default_value", "manual_value", "from_file"):
                raise KinematicsError(f"{w} <value_type>: expected default_value, manual_value or from_file, got {vt!r}")
            if apply:
                setup.coordinate_tasks.append(CoordinateTask(name, weight, vt, _num(_text(t, "value") or "0", f"{w} <value>")))
        else:
            raise KinematicsError(f"{w}: unsupported task type (IKMarkerTask, IKCoordinateTask)")


def read_ik_setup(path: str | Path) -> IKSetup:
    """Read an OpenSim IK setup XML (task set inline or in a separate file)."""
    p = Path(path)
    root = read_xml(p, KinematicsError, "IK setup")
    tool = root if root.tag == "InverseKinematicsTool" else root.find("InverseKinematicsTool")
    if tool is None:
        raise KinematicsError(f"{p}: no <InverseKinematicsTool> element")
    base = p.resolve().parent
    s = IKSetup(path=p, name=tool.get("name", ""))

    def _path(tag):
        v = _text(tool, tag)
        return None if not v or v == "Unassigned" else (base / v).resolve()

    s.model_file = _path("model_file")
    s.marker_file = _path("marker_file")
    s.coordinate_file = _path("coordinate_file")
    s.output_motion_file = _path("output_motion_file")
    s.results_directory = _path("results_directory")
    tr = _text(tool, "time_range")
    if tr:
        vals = [_num(v, f"{p} <time_range>") for v in tr.split()]
        if len(vals) != 2:
            raise KinematicsError(f"{p} <time_range>: expected two numbers, got {tr!r}")
        s.time_range = (vals[0], vals[1])
    if _text(tool, "accuracy"):
        s.accuracy = _num(_text(tool, "accuracy"), f"{p} <accuracy>")
    if _text(tool, "constraint_weight"):
        s.constraint_weight = _num(_text(tool, "constraint_weight"), f"{p} <constraint_weight>")
    ts = tool.find("IKTaskSet")
    if ts is not None:
        _tasks(ts, base, str(p), s)
    return s


# ----------------------------------------------------------------------------------------------
# The solver


@dataclass
class IKResult:
    """IK results, one row per frame (numpy, float64)."""

    q: np.ndarray  # (T, C) radians / metres, every model coordinate in model order
    coordinate_names: list[str]
    marker_names: list[str]  # the markers used, in the order of marker_errors' columns
    marker_errors: np.ndarray  # (T, M) distance model-to-data marker, metres (NaN: missing)
    marker_rmse: np.ndarray  # (T,) metres over the markers present
    marker_max: np.ndarray  # (T,) metres
    converged: np.ndarray  # (T,) bool: the step fell below the tolerance
    iterations: int = 0  # solver iterations run in total (all stages)
    weighted_error: np.ndarray | None = None  # (T,) the objective value per frame

    @property
    def n_frames(self) -> int:
        return self.q.shape[0]


class _Problem:
    """One IK problem: the model, the tracked markers, free coordinates and tasks.

    Jacobians are assembled per body: every transform axis ``a`` driven by a coordinate adds,
    for each body below its joint, an angular column ``w_a`` and a linear column ``c_a x w_a``
    (rotations about ``w_a`` through the joint centre ``c_a``) or ``0, w_a`` (translations), times
    ``dv_a/dq``, to the free coordinate it depends on (through coupler slopes when the
    coordinate is dependent). A marker ``x`` on body ``b`` then has ``dx/dq = W_b x x + V_b``.
    """

    def __init__(self, sk: Skeleton, model_markers: list[int], scales, marker_offsets,
                 locked_values: dict[int, float], task_idx: list[int]):
        self.sk = sk
        kw = dict(dtype=sk.dtype, device=sk.device)
        dev = sk.device
        model = sk.model
        C = sk.n_coordinates
        self.C = C
        dep = set(sk.dependent_indices)
        self.free = [i for i in range(C) if i not in dep and i not in locked_values]
        if not self.free:
            raise KinematicsError(f"{model._where()}: every coordinate is locked or dependent; nothing to solve")
        self.F = F = len(self.free)
        self.free_idx = torch.tensor(self.free, dtype=torch.long, device=dev)
        self.q_base = sk.default_q().clone()
        for i, v in locked_values.items():
            self.q_base[i] = v
        coords = model.coordinates
        self.lo = torch.tensor([coords[i].range[0] if coords[i].clamped else -math.inf for i in self.free], **kw)
        self.hi = torch.tensor([coords[i].range[1] if coords[i].clamped else math.inf for i in self.free], **kw)
        self.has_bounds = any(coords[i].clamped for i in self.free)
        self.set_scaling(scales, marker_offsets)
        self.mk = torch.tensor(model_markers, dtype=torch.long, device=dev)
        self.M = len(model_markers)

        # free column of each coordinate (through coupler chains), -1 for locked ones
        deps = {c.dependent: c.independent[0] for c in model.constraints}
        fcol = []
        for cn in sk.coordinate_names:
            while cn in deps:
                cn = deps[cn]
            i = sk._cidx[cn]
            fcol.append(self.free.index(i) if i in self.free else -1)
        self.fcol = fcol

        # active transform axes and, per body, the axes of the joints on its path to the ground
        ac = sk.axis_coordinate  # (J, 6) model joint order
        act = [(j, k, int(ac[j, k])) for j in range(ac.shape[0]) for k in range(6)
               if ac[j, k] >= 0 and fcol[int(ac[j, k])] >= 0]
        self.A = len(act)
        self.a_joint = torch.tensor([a[0] for a in act], dtype=torch.long, device=dev)
        self.a_flat = torch.tensor([a[0] * 6 + a[1] for a in act], dtype=torch.long, device=dev)
        self.a_coord = torch.tensor([a[2] for a in act], dtype=torch.long, device=dev)
        self.a_rot = torch.tensor([a[1] < 3 for a in act], device=dev).unsqueeze(-1)
        jchild = {j.child.body: n for n, j in enumerate(model.joints)}
        body_rows = {b: i for i, b in enumerate(model.body_names)}
        used_bodies = sorted({body_rows[model.markers[mi].body] for mi in model_markers
                              if model.markers[mi].body != model.ground})
        self.used_bodies = used_bodies
        pair_axis, pair_target = [], []
        for r, b in enumerate(used_bodies):
            body = model.body_names[b]
            path = set()
            while body != model.ground:
                jn = jchild[body]
                path.add(jn)
                body = model.joints[jn].parent.body
            for n, a in enumerate(act):
                if a[0] in path:
                    pair_axis.append(n)
                    pair_target.append(r * F + fcol[a[2]])
        self.NB = len(used_bodies)
        # scatter matrix: axis a -> (used body, free column) for every body below a's joint
        scat = torch.zeros(self.A, max(self.NB, 1) * F, **kw)
        scat[pair_axis, pair_target] = 1.0
        self.scat = scat
        # K_b = sum_m w A_m^T A_m is linear in the moments [w, w x (3), w x x^T (9)]
        L = np.zeros((13, 6, 6))
        L[0, 3:, 3:] = np.eye(3)
        skew_basis = [np.array([[0, 0, 0], [0, 0, -1], [0, 1, 0]]), np.array([[0, 0, 1], [0, 0, 0], [-1, 0, 0]]),
                      np.array([[0, -1, 0], [1, 0, 0], [0, 0, 0]])]
        for i in range(3):
            L[1 + i, :3, 3:] = skew_basis[i]
            L[1 + i, 3:, :3] = -skew_basis[i]
            for j in range(3):
                L[4 + 3 * i + j, :3, :3] = (np.eye(3) if i == j else 0.0) - np.outer(np.eye(3)[i], np.eye(3)[j])
        self.kmap = torch.tensor(L.reshape(13, 36), **kw)
        # marker -> row in used_bodies (ground markers -> an extra zero row)
        brow = {b: r for r, b in enumerate(used_bodies)}
        self.m_row = torch.tensor([brow.get(body_rows.get(model.markers[mi].body, -1), self.NB)
                                   for mi in model_markers], dtype=torch.long, device=dev)
        self.task_idx = torch.tensor(task_idx, dtype=torch.long, device=dev)
        self.task_col = torch.tensor([max(fcol[i], 0) for i in task_idx], dtype=torch.long, device=dev)
        self.task_live = torch.tensor([fcol[i] >= 0 for i in task_idx], **kw)

    def set_scaling(self, scales, marker_offsets) -> None:
        """Use scale factors ``(B, 3)`` and marker locations ``(M_model, 3)`` (None: the model's);
        nothing else of the problem depends on them, so a scaling fit updates them in place."""
        kw = dict(dtype=self.sk.dtype, device=self.sk.device)
        self.scales = None if scales is None else torch.as_tensor(scales, **kw)
        self.offsets = None if marker_offsets is None else torch.as_tensor(marker_offsets, **kw)

    def full_q(self, qf: torch.Tensor) -> torch.Tensor:
        base = self.q_base.expand(qf.shape[:-1] + (self.C,))
        return base.index_copy(-1, self.free_idx, qf)

    def evaluate(self, qf, target, wsqrt, task_target, task_wsqrt, jacobian=True):
        """Residuals ``r (T, R)``, Jacobian ``J (T, R, F)`` (or None) and the full ``q``."""
        fk = self._fk(qf, jacobian)
        q = fk["q"]
        x = fk["markers"].index_select(0, self.mk).transpose(0, 1)  # (T, M, 3)
        parts = [((x - target) * wsqrt.unsqueeze(-1)).flatten(-2)]
        has_tasks = self.task_idx.numel() > 0
        if has_tasks:
            parts.append((q.index_select(-1, self.task_idx) - task_target) * task_wsqrt)
        r = torch.cat(parts, -1)
        if not jacobian:
            return r, None, q
        T, F = qf.shape[0], self.F
        Z = self.body_jacobians(fk)  # (T, NB, 6, F)
        # each marker takes its body's rows (markers on the ground: zero rows)
        Zm = torch.cat([Z, Z.new_zeros(T, 1, 6, F)], 1).index_select(1, self.m_row)  # (T, M, 6, F)
        W0, W1, W2, V0, V1, V2 = Zm.unbind(-2)  # (T, M, F) each
        ws = wsqrt.unsqueeze(-1)
        x0, x1, x2 = (xi.unsqueeze(-1) for xi in x.unbind(-1))
        # rows of d x_m / d q: W x x + V, weighted
        J = torch.stack([(W1 * x2 - W2 * x1 + V0) * ws, (W2 * x0 - W0 * x2 + V1) * ws,
                         (W0 * x1 - W1 * x0 + V2) * ws], -2).reshape(T, self.M * 3, F)
        if has_tasks:
            Jt = torch.zeros(T, self.task_idx.numel(), F, dtype=qf.dtype, device=qf.device)
            tf = task_wsqrt * self.task_live
            if fk["chain"] is not None:
                tf = tf * fk["chain"].index_select(-1, self.task_idx)
            Jt.scatter_(-1, self.task_col.expand(T, -1).unsqueeze(-1), tf.expand(T, -1).unsqueeze(-1))
            J = torch.cat([J, Jt], -2)
        return r, J, q

    def _fk(self, qf, jacobian=True):
        """Joint-major FK of the full coordinates of ``qf (T, F)``, with the Jacobian data
        (see ``Skeleton._core``)."""
        q = self.full_q(qf)
        return self.sk._core(q, self.scales, self.offsets, (q.shape[0],), jacobian, False)

    def body_jacobians(self, fk) -> torch.Tensor:
        """(T, NB, 6, F): per used body, the rows ``[W; V]`` of ``dx/dq = W x x + V``."""
        q, chain = fk["q"], fk["chain"]
        T, F = q.shape[0], self.F
        J = self.sk.n_joints
        w = fk["axes"].transpose(1, 2).reshape(J * 6, T, 3).index_select(0, self.a_flat)  # (A, T, 3)
        c = fk["jc"].index_select(0, self.a_joint)  # (A, T, 3)
        rho = fk["dvalues"].transpose(1, 2).reshape(J * 6, T).index_select(0, self.a_flat)  # (A, T)
        if chain is not None:
            rho = rho * chain.t().index_select(0, self.a_coord)
        rot = self.a_rot.unsqueeze(-1)  # (A, 1, 1)
        ang = torch.where(rot, w, torch.zeros_like(w))
        lin = torch.where(rot, torch.linalg.cross(c, w, dim=-1), w)
        z = torch.cat([ang, lin], -1) * rho.unsqueeze(-1)  # (A, T, 6)
        Z = z.permute(1, 2, 0) @ self.scat  # (T, 6, NB * F)
        return Z.view(T, 6, -1, F).transpose(1, 2).contiguous()  # (T, NB, 6, F)

    def normal_equations(self, qf, target, w, task_target, task_w):
        """Objective (T,), Gauss-Newton matrix H (T, F, F) and gradient g (T, F) in one pass.

        ``w (T, M)`` marker weights (normalised per frame), ``task_w (K,)`` task weights. Per
        body, the markers' weighted moments give the 6x6 matrix ``K_b = sum_m w A_m^T A_m`` with
        ``A_m = [-[x_m]x, I]``, so ``H = sum_b Z_b^T K_b Z_b`` without a per-marker Jacobian.
        """
        fk = self._fk(qf)
        x = fk["markers"].index_select(0, self.mk).transpose(0, 1)  # (T, M, 3)
        e = x - target
        we = e * w.unsqueeze(-1)
        cost = 0.5 * (we * e).sum((-1, -2))
        Z = self.body_jacobians(fk)  # (T, NB, 6, F)
        T, F, NB = qf.shape[0], self.F, self.NB
        wx = x * w.unsqueeze(-1)
        mom = torch.cat([w.unsqueeze(-1), wx, (wx.unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2),
                         torch.linalg.cross(x, we, dim=-1), we], -1)  # (T, M, 19)
        sums = torch.zeros(T, NB + 1, 19, dtype=qf.dtype, device=qf.device).index_add_(1, self.m_row, mom)
        K = (sums[:, :NB, :13] @ self.kmap).view(T, NB, 6, 6)
        phi = sums[:, :NB, 13:]  # (T, NB, 6) [sum x x w e; sum w e]
        Zf = Z.view(T, NB * 6, F)
        H = Zf.transpose(1, 2) @ (K @ Z).view(T, NB * 6, F)
        g = (Zf.transpose(1, 2) @ phi.reshape(T, NB * 6, 1)).squeeze(-1)
        if self.task_idx.numel():
            qt = fk["q"].index_select(-1, self.task_idx)
            d = qt - task_target
            cost = cost + 0.5 * (task_w * d * d).sum(-1)
            tf = self.task_live.expand_as(d)
            if fk["chain"] is not None:
                tf = tf * fk["chain"].index_select(-1, self.task_idx)
            g = g.index_add(-1, self.task_col, task_w * tf * d)
            H = H.reshape(T, F * F).index_add(-1, self.task_col * (F + 1), task_w * tf * tf).reshape(T, F, F)
        return cost, H, g


def _lm(prob: _Problem, qf, target, w, tt, tw, max_iter: int, tol: float):
    """Levenberg-Marquardt for every frame of the batch at once.

    ``w (T, M)`` normalised marker weights, ``tw (K,)`` task weights. Returns ``(q_free, cost,
    converged, iterations)``. A frame stops when its step falls below ``tol`` or its cost stops
    decreasing (relative change 1e-12); finished frames leave the batch, so the last
    iterations of slow frames are cheap.
    """
    T, F = qf.shape
    dev = qf.device
    q_out = torch.maximum(torch.minimum(qf, prob.hi), prob.lo)
    cost_out = torch.empty(T, dtype=qf.dtype, device=dev)
    conv_out = torch.zeros(T, dtype=torch.bool, device=dev)
    act = torch.arange(T, device=dev)  # frames still iterating
    qf = q_out
    cost, H, g = prob.normal_equations(qf, target, w, tt, tw)
    lam = torch.full((T,), 1e-3, dtype=qf.dtype, device=dev)
    prev = torch.zeros_like(qf)  # last plain accepted step
    it = 0
    work = T  # frame evaluations, for the debug log
    for it in range(1, max_iter + 1):
        work += qf.shape[0]
        Hd = H.clone()
        dg = Hd.diagonal(dim1=-2, dim2=-1)
        if prob.has_bounds:
            # active bounds: a coordinate on its bound whose descent direction leaves the range
            blocked = ((qf <= prob.lo) & (g > 0)) | ((qf >= prob.hi) & (g < 0))
            keep = (~blocked).to(qf.dtype)
            Hd = Hd * (keep.unsqueeze(-1) * keep.unsqueeze(-2))
            dg = Hd.diagonal(dim1=-2, dim2=-1)
            dg.add_(lam.unsqueeze(-1) * (H.diagonal(dim1=-2, dim2=-1) + 1e-9) * keep + (1.0 - keep))
            gk = g * keep
        else:
            dg.add_(lam.unsqueeze(-1) * (dg + 1e-9))
            gk = g
        L, info = torch.linalg.cholesky_ex(Hd)
        if bool((info > 0).any()):  # numerically indefinite: damp harder
            d0 = H.diagonal(dim1=-2, dim2=-1)
            Hd = Hd + torch.diag_embed((d0.abs().amax(-1, keepdim=True) * 1e-6 + 1e-9).expand_as(d0))
            L, _ = torch.linalg.cholesky_ex(Hd)
        step = -torch.cholesky_solve(gk.unsqueeze(-1), L).squeeze(-1)
        # Gauss-Newton converges linearly along flat directions, its steps shrinking by a steady
        # ratio rho, often alternating in sign (it overshoots where the residuals' own curvature
        # adds to J^T J). When two steps are (anti)parallel, jump to the limit of the series.
        nrm = step.norm(dim=-1)
        pn = prev.norm(dim=-1)
        cos = (step * prev).sum(-1) / (nrm * pn).clamp_min(1e-300)
        rho = nrm / pn.clamp_min(1e-300)
        ext = (cos.abs() > 0.95) & (rho < 0.95) & (pn > 0)
        step = torch.where(ext.unsqueeze(-1), step / (1.0 - cos * rho).unsqueeze(-1), step)
        q_try = torch.maximum(torch.minimum(qf + step, prob.hi), prob.lo) if prob.has_bounds else qf + step
        cost2, H2, g2 = prob.normal_equations(q_try, target, w, tt, tw)
        ok = cost2 <= cost
        small = (q_try - qf).abs().amax(-1) < tol
        flat = (cost - cost2).abs() <= 1e-12 * cost
        qf = torch.where(ok.unsqueeze(-1), q_try, qf)
        g = torch.where(ok.unsqueeze(-1), g2, g)
        H = torch.where(ok[:, None, None], H2, H)
        cost = torch.where(ok, cost2, cost)
        # a failed extrapolation is retried as a plain step (no extra damping)
        lam = torch.where(ok, (lam * 0.2).clamp_min(1e-10), torch.where(ext, lam, (lam * 10.0).clamp_max(1e10)))
        prev = torch.where((ok & ~ext).unsqueeze(-1), step, torch.zeros_like(step))
        small = small & ~(ext & ~ok)
        fin = small | (ok & flat) | (lam >= 1e10)
        if bool(fin.any()) or it == max_iter:
            last = it == max_iter
            out_ix = act if last else act[fin]
            src = slice(None) if last else fin
            q_out = q_out.index_copy(0, out_ix, qf[src])
            cost_out = cost_out.index_copy(0, out_ix, cost[src])
            conv_out = conv_out.index_copy(0, out_ix, fin[src])
            if last or bool(fin.all()):
                break
            live = ~fin
            act, qf, cost, H, g, lam, prev = act[live], qf[live], cost[live], H[live], g[live], lam[live], prev[live]
            target, w, tt = target[live], w[live], tt[live]
    log.debug("LM: %d frames, %d iterations, %.1f evaluations per frame", T, it, work / max(T, 1))
    return q_out, cost_out, conv_out, it


def _root_init(prob: _Problem, target: torch.Tensor, w: torch.Tensor) -> torch.Tensor | None:
    """Root-joint coordinates (T, 6) from a rigid fit of the default-pose markers to the data,
    when the root joint is a 6-DOF joint with orthogonal axes and identity functions (the usual
    pelvis joint); else None."""
    sk, model = prob.sk, prob.sk.model
    roots = [n for n, j in enumerate(model.joints) if j.parent.body == model.ground]
    if len(roots) != 1:
        return None
    jn = roots[0]
    joint = model.joints[jn]
    cidx = [sk._cidx.get(ax.coordinates[0]) if ax.coordinates else None for ax in joint.spatial_transform]
    fns = [ax.function for ax in joint.spatial_transform]
    if any(c is None or c not in prob.free for c in cidx):
        return None
    if not all(isinstance(f, LinearFunction) and abs(f.slope) == 1.0 for f in fns):
        return None
    A = np.array([ax.axis / np.linalg.norm(ax.axis) for ax in joint.spatial_transform])
    Ar, At = A[:3].T, A[3:].T
    if not (np.allclose(Ar.T @ Ar, np.eye(3), atol=1e-9) and np.allclose(At.T @ At, np.eye(3), atol=1e-9)):
        return None
    kw = dict(dtype=sk.dtype, device=sk.device)
    # default-pose markers with the root coordinates at zero
    q0 = prob.q_base.clone()
    for k, c in enumerate(cidx):
        q0[c] = -fns[k].intercept / fns[k].slope
    out0 = sk(q0, prob.scales, prob.offsets)
    y = out0.markers.index_select(-2, prob.mk)  # (M, 3)
    R0 = out0.body_rotations[model.body_names.index(joint.child.body)]
    o0 = out0.body_origins[model.body_names.index(joint.child.body)]
    # weighted Kabsch per frame: data ~ R y + t
    wsum = w.sum(-1, keepdim=True).clamp_min(1e-12)
    mu_y = (w.unsqueeze(-1) * y).sum(-2) / wsum
    mu_m = (w.unsqueeze(-1) * target).sum(-2) / wsum
    Hc = ((y - mu_y.unsqueeze(-2)) * w.unsqueeze(-1)).transpose(-1, -2) @ (target - mu_m.unsqueeze(-2))
    U, S, Vh = torch.linalg.svd(Hc)
    d = torch.sign(torch.linalg.det(Vh.transpose(-1, -2) @ U.transpose(-1, -2)))
    Dm = torch.diag_embed(torch.stack([torch.ones_like(d), torch.ones_like(d), d], -1))
    R = Vh.transpose(-1, -2) @ Dm @ U.transpose(-1, -2)
    t = mu_m - (R @ mu_y.unsqueeze(-1)).squeeze(-1)
    # the root body's new pose, then the joint's R_FM and p_FM (parent frame is on the ground)
    Rb = R @ R0
    ob = (R @ o0.unsqueeze(-1)).squeeze(-1) + t
    R_GF = torch.as_tensor(joint.parent.rotation, **kw)
    o_F = torch.as_tensor(joint.parent.translation, **kw)
    R_cf = torch.as_tensor(joint.child.rotation, **kw)
    s_child = None if prob.scales is None else prob.scales[model.body_names.index(joint.child.body)]
    t_cf = torch.as_tensor(joint.child.translation_matrix, **kw) @ (s_child if s_child is not None else torch.ones(3, **kw))
    R_FM = R_GF.T @ Rb @ R_cf
    p_FM = (R_GF.T @ (ob + (Rb @ t_cf) - o_F).unsqueeze(-1)).squeeze(-1)
    Ar_t = torch.as_tensor(Ar, **kw)
    flip = float(np.linalg.det(Ar)) < 0
    if flip:
        Ar_t = Ar_t * torch.tensor([1.0, 1.0, -1.0], **kw)
    Mx = Ar_t.T @ R_FM @ Ar_t  # body-fixed XYZ in the axes' basis
    th1 = torch.asin(Mx[..., 0, 2].clamp(-1, 1))
    th0 = torch.atan2(-Mx[..., 1, 2], Mx[..., 2, 2])
    th2 = torch.atan2(-Mx[..., 0, 1], Mx[..., 0, 0])
    if flip:
        th2 = -th2
    v = torch.stack([th0, th1, th2] + list((p_FM @ torch.as_tensor(At, **kw)).unbind(-1)), -1)
    slope = torch.tensor([f.slope for f in fns], **kw)
    icpt = torch.tensor([f.intercept for f in fns], **kw)
    qroot = (v - icpt) / slope
    ok = (w > 0).sum(-1) >= 3
    return qroot, [prob.free.index(c) for c in cidx], ok


@dataclass
class _Prepared:
    m: torch.Tensor
    T: int
    use: list
    data_col: torch.Tensor
    target: torch.Tensor
    present: torch.Tensor
    wnorm: torch.Tensor
    empty: torch.Tensor
    tt: torch.Tensor
    tw: torch.Tensor
    prob: "_Problem"


def _prepare(sk, markers, marker_names, weights, coordinate_tasks, scales, marker_offsets, log_ignored=False) -> _Prepared:
    """Check the inputs and build the problem: tracked markers, normalised weights, tasks."""
    model = sk.model
    kw = dict(dtype=sk.dtype, device=sk.device)
    m = torch.as_tensor(np.asarray(markers, float) if not torch.is_tensor(markers) else markers, **kw)
    if m.ndim != 3 or m.shape[-1] != 3 or m.shape[1] != len(marker_names):
        raise KinematicsError(f"markers: expected (T, {len(marker_names)}, 3) for {len(marker_names)} names, got {tuple(m.shape)}")
    T = m.shape[0]
    if T == 0:
        raise KinematicsError("markers: no frames")
    model_idx = {n: i for i, n in enumerate(model.marker_names)}
    if len(set(marker_names)) != len(marker_names):
        raise KinematicsError("marker_names: a name appears twice")
    if weights is None:
        use = [n for n in marker_names if n in model_idx]
        wts = {n: 1.0 for n in use}
    else:
        bad = {n: w for n, w in weights.items() if not (w >= 0 and math.isfinite(w))}
        if bad:
            raise KinematicsError(f"marker weights must be finite and >= 0: {bad}")
        use = [n for n in marker_names if n in model_idx and weights.get(n, 0.0) > 0]
        wts = weights
    ignored = [n for n in marker_names if n not in model_idx]
    if ignored and log_ignored:
        log.info("IK: %d data markers are not in the model and are ignored: %s", len(ignored), ", ".join(ignored))
    if weights is not None and log_ignored:
        absent = [n for n in weights if weights[n] > 0 and (n not in model_idx or n not in marker_names)]
        if absent:
            log.info("IK: weighted markers missing from the model or the data are skipped: %s", ", ".join(absent))
    if not use:
        raise KinematicsError(f"none of the data markers ({', '.join(marker_names[:8])}...) is a tracked marker of "
                              f"model {model._where()}")
    data_col = torch.tensor([marker_names.index(n) for n in use], dtype=torch.long, device=sk.device)
    target = m.index_select(1, data_col)
    present = torch.isfinite(target).all(-1)
    target = torch.where(present.unsqueeze(-1), target, torch.zeros_like(target))
    wraw = torch.tensor([float(wts[n]) for n in use], **kw) * present
    wsum = wraw.sum(-1, keepdim=True)
    empty = wsum.squeeze(-1) <= 0
    wnorm = wraw / wsum.clamp_min(1e-300)

    locked = {i: c.default_value for i, c in enumerate(model.coordinates) if c.locked}
    task_idx, tt_cols, tw = [], [], []
    for name, (val, wt) in (coordinate_tasks or {}).items():
        if name not in sk._cidx:
            raise KinematicsError(f"coordinate task {name!r}: not a coordinate of model {model._where()}")
        if not (wt >= 0 and math.isfinite(wt)):
            raise KinematicsError(f"coordinate task {name!r}: weight must be finite and >= 0, got {wt}")
        if wt == 0 or sk._cidx[name] in locked:
            continue
        v = torch.as_tensor(val, **kw)
        if v.ndim == 0:
            v = v.expand(T)
        if v.shape != (T,):
            raise KinematicsError(f"coordinate task {name!r}: target must be a number or ({T},) values, got {tuple(v.shape)}")
        task_idx.append(sk._cidx[name])
        tt_cols.append(v)
        tw.append(wt)
    tt = torch.stack(tt_cols, -1) if tt_cols else torch.zeros(T, 0, **kw)
    tw_t = torch.tensor(tw, **kw) if tw else torch.zeros(0, **kw)

    prob = _Problem(sk, [model_idx[n] for n in use], scales, marker_offsets, locked, task_idx)
    return _Prepared(m, T, use, data_col, target, present, wnorm, empty, tt, tw_t, prob)


def ik_objective(sk: Skeleton, q, markers, marker_names: list[str], weights: dict[str, float] | None = None,
                 coordinate_tasks: dict[str, tuple] | None = None, scales=None, marker_offsets=None) -> np.ndarray:
    """OpenSim's IK objective of poses ``q (T, C)`` per frame (the weighted squared marker error
    with weights normalised over the markers present, plus the coordinate-task terms): ``(T,)``.

    The same inputs as :func:`solve_ik`; use it to compare solutions of different solvers.
    """
    with torch.inference_mode():
        d = _prepare(sk, markers, marker_names, weights, coordinate_tasks, scales, marker_offsets)
        qt = torch.as_tensor(np.asarray(q, float), dtype=sk.dtype, device=sk.device)
        if qt.shape != (d.T, sk.n_coordinates):
            raise KinematicsError(f"q: expected ({d.T}, {sk.n_coordinates}), got {tuple(qt.shape)}")
        cost, _, _ = d.prob.normal_equations(qt.index_select(-1, d.prob.free_idx), d.target, d.wnorm, d.tt, d.tw)
        return (2.0 * cost).cpu().numpy().astype(np.float64)


def coordinate_rms(model, q_a: np.ndarray, q_b: np.ndarray) -> dict[str, float]:
    """Per-coordinate RMS difference of two ``(T, C)`` solutions: degrees for rotational
    coordinates, millimetres for translational and coupled ones (as OpenSim reports them)."""
    out = {}
    for i, c in enumerate(model.coordinates):
        d = np.asarray(q_a)[:, i] - np.asarray(q_b)[:, i]
        rms = float(np.sqrt(np.mean(d * d)))
        out[c.name] = math.degrees(rms) if c.motion_type == "rotational" else 1000.0 * rms
    return out


def solve_ik(
    sk: Skeleton,
    markers,
    marker_names: list[str],
    weights: dict[str, float] | None = None,
    coordinate_tasks: dict[str, tuple] | None = None,
    scales=None,
    marker_offsets=None,
    q0=None,
    max_iterations: int = 30,
    tolerance: float = 1e-5,
    stride: int = 16,
    batch_frames: int = 0,
    progress: bool = True,
) -> IKResult:
    """Inverse kinematics of ``markers (T, M, 3)`` (metres, ground frame, NaN = missing).

    * ``weights``: ``{marker: weight}``; only these markers are tracked (OpenSim's rule when a
      task set names markers). None: every marker of the data that the model has, weight 1.
      Data markers the model lacks are ignored (and logged).
    * ``coordinate_tasks``: ``{coordinate: (target, weight)}``, target a float or ``(T,)`` values
      (rad / m).
    * ``scales (B, 3)``, ``marker_offsets (M_model, 3)``: as in :class:`Skeleton`.
    * ``q0``: ``(C,)`` start pose for the coarse frames, or ``(T, C)`` one per frame (then every
      frame is solved from its own start, without the coarse-to-fine pass). Default: the root
      pose from a rigid fit of the markers, the model's defaults elsewhere.
    * ``stride``: the coarsest level of the warm start solves every ``stride``-th frame (then
      every stride/4-th, ..., every frame); 1 solves all frames from the start pose.
    * ``batch_frames``: most frames in one solver batch (0: no limit).

    Returns an :class:`IKResult`. Raises :class:`KinematicsError` on bad shapes or when no data
    marker is in the model.
    """
    with torch.inference_mode():
        kw = dict(dtype=sk.dtype, device=sk.device)
        d = _prepare(sk, markers, marker_names, weights, coordinate_tasks, scales, marker_offsets, log_ignored=True)
        m, T, use, data_col, target, present, wnorm, empty = (
            d.m, d.T, d.use, d.data_col, d.target, d.present, d.wnorm, d.empty)
        tt, tw_t, prob = d.tt, d.tw, d.prob
        free = prob.free_idx

        # start poses
        if q0 is not None:
            q0t = torch.as_tensor(q0, **kw)
            if q0t.shape not in ((sk.n_coordinates,), (T, sk.n_coordinates)):
                raise KinematicsError(f"q0: expected ({sk.n_coordinates},) or ({T}, {sk.n_coordinates}), got {tuple(q0t.shape)}")
            start = q0t.expand(T, sk.n_coordinates).index_select(-1, free).clone()
            per_frame_start = q0t.ndim == 2
        else:
            per_frame_start = False
            start = prob.q_base.index_select(-1, free).expand(T, prob.F).clone()
            ri = _root_init(prob, target, wnorm)
            if ri is not None:
                qroot, cols, ok = ri
                for k, col in enumerate(cols):
                    start[:, col] = torch.where(ok, qroot[:, k], start[:, col])

        # coarse-to-fine levels: frames every `stride`, then every stride/4, ... down to every frame
        strides = []
        st_ = 1 if per_frame_start else max(1, int(stride))
        while st_ > 1 and T / st_ < 16:  # keep at least ~16 frames on the coarsest level
            st_ //= 4
        while st_ > 1:
            strides.append(st_)
            st_ = max(1, st_ // 4)
        strides.append(1)
        levels, seen = [], set()
        for st_ in strides:
            idx = [t for t in range(0, T, st_) if t not in seen]
            if st_ == strides[0] and T - 1 not in idx and T - 1 not in seen:
                idx.append(T - 1)
            if idx:
                levels.append(idx)
                seen.update(idx)
        total_it = 0

        def run(idx, init, iters):
            nonlocal total_it
            n = batch_frames if batch_frames > 0 else len(idx)
            parts = []
            for a in range(0, len(idx), n):
                ix = torch.tensor(idx[a:a + n], dtype=torch.long, device=sk.device)
                t0 = time.perf_counter()
                q, cost, conv, it = _lm(prob, init[a:a + n], target[ix], wnorm[ix], tt[ix], tw_t, iters, tolerance)
                total_it += it
                (log.info if progress and T >= 500 else log.debug)(
                    "IK: %d frames solved in %d iterations, %.2f s", len(ix), it, time.perf_counter() - t0)
                parts.append((q, cost, conv))
            if len(parts) == 1:
                return parts[0]
            return tuple(torch.cat(z, 0) for z in zip(*parts))

        qf = torch.empty(T, prob.F, **kw)
        cost = torch.empty(T, **kw)
        conv = torch.empty(T, dtype=torch.bool, device=sk.device)
        # 1) coarsest frames, independently, from the rigid root fit (or q0)
        coarse = levels[0]
        qc, cc, convc = run(coarse, start[coarse], 2 * max_iterations)
        # 2) continuity: where the solutions of neighbouring coarse frames jump (> 0.5 rad or 0.5 m
        #    in a coordinate), each frame is re-solved from its neighbour's solution (forward and
        #    backward) and keeps a clearly better fit; on a tie (two equally good branches) it
        #    takes its predecessor's branch if that predecessor is itself continuous. Passes repeat
        #    until nothing changes, so a run of flipped frames is repaired from its good end.
        n_c = len(coarse)

        def _repair(direction: int) -> bool:
            jmp = ((qc[1:] - qc[:-1]).abs().amax(-1) > 0.5).tolist()  # between i and i+1
            if direction > 0:  # frame i+1 from i; "stable": i did not itself jump from i-1
                pairs = [(i + 1, i, i == 0 or not jmp[i - 1]) for i, j in enumerate(jmp) if j]
            else:  # frame i from i+1
                pairs = [(i, i + 1, False) for i, j in enumerate(jmp) if j]
            if not pairs:
                return False
            ft = torch.tensor([f for f, _, _ in pairs], dtype=torch.long, device=sk.device)
            seed = qc[torch.tensor([g for _, g, _ in pairs], dtype=torch.long, device=sk.device)]
            stable = torch.tensor([st for _, _, st in pairs], dtype=torch.bool, device=sk.device)
            q2, c2, conv2 = run([coarse[f] for f, _, _ in pairs], seed, max_iterations)
            c1, q1 = cc[ft], qc[ft]
            # a wrong basin costs clearly more; equal within 1e-4 (or (1 um)^2 for exact fits) is a
            # tie, which only a stable predecessor decides (one convention: no ping-pong)
            better = c2 < c1 * (1 - 1e-3) - 1e-12
            tie = (c2 - c1).abs() <= 1e-4 * c1 + 1e-12
            take = better | (stable & tie & ((q2 - q1).abs().amax(-1) > 0.1))
            kk = torch.nonzero(take).flatten()
            qc[ft[kk]], cc[ft[kk]], convc[ft[kk]] = q2[kk], c2[kk], conv2[kk]
            return bool(kk.numel())

        for _ in range(n_c if n_c > 1 and not per_frame_start else 0):
            changed = _repair(+1)
            changed = _repair(-1) or changed
            if not changed:
                break
        ci = torch.tensor(coarse, dtype=torch.long, device=sk.device)
        qf[ci], cost[ci], conv[ci] = qc, cc, convc
        done_idx = sorted(coarse)
        # 3) each finer level starts from the solved neighbours, interpolated
        for idx in levels[1:]:
            c_np = np.array(done_idx)
            r_np = np.array(idx)
            hi_i = np.clip(np.searchsorted(c_np, r_np), 1, len(c_np) - 1)
            lo_i = hi_i - 1
            a = np.clip((r_np - c_np[lo_i]) / np.maximum(c_np[hi_i] - c_np[lo_i], 1), 0.0, 1.0)
            a = torch.tensor(a, **kw).unsqueeze(-1)
            qd = qf[torch.as_tensor(c_np, device=sk.device)]
            q_lo, q_hi = qd[torch.as_tensor(lo_i, device=sk.device)], qd[torch.as_tensor(hi_i, device=sk.device)]
            init = q_lo * (1 - a) + q_hi * a
            # never interpolate across a jump (two branches): start from the nearer neighbour
            apart = ((q_hi - q_lo).abs().amax(-1) > 0.5).unsqueeze(-1)
            init = torch.where(apart, torch.where(a < 0.5, q_lo, q_hi), init)
            qr, cr, convr = run(idx, init, max_iterations)
            ri_t = torch.tensor(idx, dtype=torch.long, device=sk.device)
            qf[ri_t], cost[ri_t], conv[ri_t] = qr, cr, convr
            done_idx = sorted(done_idx + idx)
        if progress:
            log.info("IK: %d frames, %d solver iterations", T, total_it)

        q_full = prob.full_q(qf)
        out = sk(q_full, prob.scales, prob.offsets)
        x = out.markers.index_select(-2, prob.mk)
        err = (x - m.index_select(1, data_col)).norm(dim=-1)  # NaN where missing
        err = torch.where(present, err, torch.full_like(err, float("nan")))
        n_present = present.sum(-1)
        sq = torch.where(present, err * err, torch.zeros_like(err)).sum(-1)
        rmse = torch.where(n_present > 0, (sq / n_present.clamp_min(1)).sqrt(), torch.full_like(sq, float("nan")))
        mx = torch.where(present, err, torch.full_like(err, -1.0)).amax(-1)
        mx = torch.where(n_present > 0, mx, torch.full_like(mx, float("nan")))
        cost = torch.where(empty, torch.full_like(cost, float("nan")), cost)
        return IKResult(
            q=out.q.cpu().numpy().astype(np.float64),
            coordinate_names=list(sk.coordinate_names),
            marker_names=use,
            marker_errors=err.cpu().numpy().astype(np.float64),
            marker_rmse=rmse.cpu().numpy().astype(np.float64),
            marker_max=mx.cpu().numpy().astype(np.float64),
            converged=conv.cpu().numpy(),
            iterations=total_it,
            weighted_error=(2 * cost).cpu().numpy().astype(np.float64),
        )
