"""Batched, differentiable forward kinematics of an OpenSim model in torch.

:class:`Skeleton` turns coordinates (and optional per-body scale factors and marker locations)
into body transforms, joint centres, body centres of mass and marker positions, all in the
ground frame (metres, OpenSim axes, Y up). It matches OpenSim 4.6 to float64 round-off (see
``tests/kinematics/test_fk_parity.py``).

Semantics, following OpenSim's source:

* A joint moves its child frame M relative to its parent frame F by the six TransformAxis values
  ``v_k = f_k(q)``: ``R_FM = R(a1, v1) R(a2, v2) R(a3, v3)`` (successive body-fixed rotations about
  the unit axes), ``p_FM = v4 a4 + v5 a5 + v6 a6`` (translations along the F-frame axes).
  Built-in joints (Pin, Universal, Gimbal, ...) are read as their equivalent SpatialTransform.
* Scaling (``Model::scale``): every offset-frame translation, marker location and COM is
  multiplied elementwise by its base body's factors; every translation axis whose function is not
  the identity ``LinearFunction(1, 0)`` is multiplied by ``|axis| . s_parent`` (the factors of the
  joint's parent body); a translational coupler-dependent coordinate by ``s_parent[0]``.
* Coordinates that are the dependent coordinate of a CoordinateCouplerConstraint are recomputed
  from their independent coordinate (``q_dep = scale_factor * f(q_ind)``): the value passed in
  for them is ignored.

Everything is vectorised over frames (any leading batch shape) and over joints; bodies are
composed along the tree by pointer jumping (log2 of the tree depth steps, three for a full-body
model). A translational coupler-dependent coordinate under non-uniform scaling of its joint's
parent (which OpenSim refuses to scale) uses the parent's x factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import KinematicsError
from .functions import FunctionBank, LinearFunction
from .osim import TRANSLATIONAL, OsimModel


@dataclass
class FKOutput:
    """Forward-kinematics results, ground frame, metres. ``...`` is the batch shape of ``q``."""

    q: torch.Tensor  # (..., C) coordinates used (coupler-dependent ones recomputed)
    body_rotations: torch.Tensor  # (..., B, 3, 3) body frame -> ground
    body_origins: torch.Tensor  # (..., B, 3)
    joint_centres: torch.Tensor  # (..., J, 3) origin of each joint's child frame
    body_coms: torch.Tensor  # (..., B, 3)
    markers: torch.Tensor  # (..., M, 3)


def _skew_np(v: np.ndarray) -> np.ndarray:
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    o = np.zeros_like(x)
    return np.stack([o, -z, y, z, o, -x, -y, x, o], -1).reshape(v.shape[:-1] + (3, 3))


class Skeleton(torch.nn.Module):
    """Torch forward kinematics of an :class:`OsimModel`.

    ``Skeleton(model, dtype=torch.float64, device="cpu")``; ``sk(q, scales=None,
    marker_offsets=None)`` returns an :class:`FKOutput`.

    * ``q (..., C)``: every model coordinate in model order (radians / metres).
    * ``scales (..., B, 3)`` or ``(B, 3)``: per-body scale factors (None: ones).
    * ``marker_offsets (M, 3)`` or ``(..., M, 3)``: marker locations replacing the model's
      ``location`` values, in the same (unscaled) parent frames; they are scaled like the model's.
    """

    def __init__(self, model: OsimModel, dtype: torch.dtype = torch.float64, device="cpu"):
        super().__init__()
        self.model = model
        self.dtype = dtype
        self.device = torch.device(device)
        kw = dict(dtype=dtype, device=self.device)
        self.coordinate_names = model.coordinate_names
        self.body_names = model.body_names
        self.joint_names = model.joint_names
        self.marker_names = model.marker_names
        C, B, J = len(self.coordinate_names), len(self.body_names), len(self.joint_names)
        self.n_coordinates, self.n_bodies, self.n_joints = C, B, J
        cidx = {n: i for i, n in enumerate(self.coordinate_names)}
        bidx = {n: i + 1 for i, n in enumerate(self.body_names)}  # 0 = ground
        bidx[model.ground] = 0
        self._cidx = cidx

        # -- joints, reordered by depth level so each level is a contiguous slice
        child_joint = {j.child.body: k for k, j in enumerate(model.joints)}
        depth = {}

        def _depth(body):
            if body == model.ground:
                return 0
            if body not in depth:
                depth[body] = 1 + _depth(model.joints[child_joint[body]].parent.body)
            return depth[body]

        jdepth = [_depth(j.child.body) for j in model.joints]
        order = sorted(range(J), key=lambda k: (jdepth[k], k))  # level order -> model joint index
        # position in the level-ordered "with ground" list: ground 0, joint order[i] -> i + 1
        pos_of_body = {model.ground: 0}
        for i, k in enumerate(order):
            pos_of_body[model.joints[k].child.body] = i + 1
        parent_pos = [pos_of_body[model.joints[k].parent.body] for k in order]
        anc = np.array([0] + parent_pos)  # ancestor position of each level position (ground: itself)
        self._jumps = []
        while np.any(anc != 0):
            self._jumps.append(torch.tensor(anc, dtype=torch.long, device=self.device))
            anc = anc[anc]
        bottom = np.zeros(11)
        bottom[3] = bottom[4] = 1.0
        self._bottom = torch.tensor(bottom, **kw)
        # model body order -> level position; model joint order -> level position
        self._body_pos = torch.tensor([pos_of_body[b] for b in self.body_names], dtype=torch.long, device=self.device)
        inv = np.argsort(order)
        self._joint_pos = torch.tensor(inv, dtype=torch.long, device=self.device)
        # scale rows: index into (B+1) "ground + bodies (model order)" scale table
        self._parent_scale_row = torch.tensor([bidx[model.joints[k].parent.body] for k in order], dtype=torch.long, device=self.device)
        self._child_scale_row = torch.tensor([bidx[model.joints[k].child.body] for k in order], dtype=torch.long, device=self.device)

        jl = [model.joints[k] for k in order]
        self.R_pf = torch.tensor(np.stack([j.parent.rotation for j in jl]) if J else np.zeros((0, 3, 3)), **kw)
        self.M_pf = torch.tensor(np.stack([j.parent.translation_matrix for j in jl]) if J else np.zeros((0, 3, 3)), **kw)
        self.R_cf = torch.tensor(np.stack([j.child.rotation for j in jl]) if J else np.zeros((0, 3, 3)), **kw)
        self.M_cf = torch.tensor(np.stack([j.child.translation_matrix for j in jl]) if J else np.zeros((0, 3, 3)), **kw)
        axes = np.array([[ax.axis / np.linalg.norm(ax.axis) for ax in j.spatial_transform] for j in jl]).reshape(J, 6, 3)
        self.axes = torch.tensor(axes, **kw)
        funcs, coord_of_axis, scaled = [], [], []
        for j in jl:
            for k, ax in enumerate(j.spatial_transform):
                funcs.append(ax.function)
                coord_of_axis.append(cidx[ax.coordinates[0]] if ax.coordinates else -1)
                ident = isinstance(ax.function, LinearFunction) and ax.function.slope == 1.0 and ax.function.intercept == 0.0
                scaled.append(k >= 3 and not ident)
        self.bank = FunctionBank(funcs, dtype, self.device)
        self._axis_coord = torch.tensor([max(c, 0) for c in coord_of_axis], dtype=torch.long, device=self.device)
        self.axis_coordinate = np.array(coord_of_axis).reshape(J, 6)[inv]  # model joint order, -1: none
        self._axis_scaled = torch.tensor(scaled, device=self.device).reshape(J, 6)
        self._abs_axes_t = self.axes[:, 3:].abs()  # (J, 3, 3) |a_k| for translation axes
        # Joint-major constants. Rotations about axes a_k of F, seen from the parent body, are
        # rotations about b_k = R_pf a_k: R_pf R_FM R_cf^T = R(b1) R(b2) R(b3) (R_pf R_cf^T).
        b = self.R_pf.unsqueeze(1) @ self.axes.unsqueeze(-1)  # (J, 6, 3, 1)
        b = b.squeeze(-1)
        self._b = b  # (J, 6, 3) all six axes in the parent body
        Kb = _skew_np(b[:, :3].cpu().numpy())  # (J, 3, 3, 3)
        self._Kb = torch.tensor(Kb, **kw).unsqueeze(2)  # (J, 3, 1, 3, 3)
        self._Kb2 = (self._Kb @ self._Kb)
        self._C = self.R_pf @ self.R_cf.transpose(-1, -2)  # (J, 3, 3)
        self._bt = b[:, 3:].contiguous()  # (J, 3, 3) rows: translation axes in the parent body
        self._b1 = b[:, 1].unsqueeze(-1)  # (J, 3, 1)
        self._b2 = b[:, 2].unsqueeze(-1)
        self._t_pf1 = self.M_pf.sum(-1)  # (J, 3) unscaled offsets
        self._t_cf1 = self.M_cf.sum(-1)

        # -- bodies, markers
        self.com = torch.tensor(np.stack([b.mass_center for b in model.bodies]) if B else np.zeros((0, 3)), **kw)
        self.marker_body_row = torch.tensor([bidx[m.body] for m in model.markers], dtype=torch.long, device=self.device)
        self._marker_pos = torch.tensor([pos_of_body[m.body] for m in model.markers], dtype=torch.long, device=self.device)
        self.marker_locations = torch.tensor(np.stack([m.location for m in model.markers]) if model.markers else np.zeros((0, 3)), **kw)
        self._marker_direct = all(not m.frame.steps for m in model.markers)
        if not self._marker_direct:
            self.R_mk = torch.tensor(np.stack([m.frame.rotation for m in model.markers]), **kw)
            self.M_mk = torch.tensor(np.stack([m.frame.translation_matrix for m in model.markers]), **kw)

        # -- coupler constraints, grouped so each group only needs earlier ones
        deps = {c.dependent: c for c in model.constraints}
        lvl = {}

        def _clevel(name):
            if name not in deps:
                return -1
            if name not in lvl:
                lvl[name] = 1 + _clevel(deps[name].independent[0])
            return lvl[name]

        groups: dict[int, list] = {}
        for c in model.constraints:
            groups.setdefault(_clevel(c.dependent), []).append(c)
        self._couplers = []
        for g in sorted(groups):
            cs = groups[g]
            dep = torch.tensor([cidx[c.dependent] for c in cs], dtype=torch.long, device=self.device)
            ind = torch.tensor([cidx[c.independent[0]] for c in cs], dtype=torch.long, device=self.device)
            sf = torch.tensor([c.scale_factor for c in cs], **kw)
            # translational dependents scale with their joint's parent body (x factor)
            rows = []
            for c in cs:
                dc = model.coordinate(c.dependent)
                jnt = model.joint(dc.joint)
                rows.append(bidx[jnt.parent.body] if dc.motion_type == TRANSLATIONAL else -1)
            self._couplers.append((dep, ind, sf, FunctionBank([c.function for c in cs], dtype, self.device),
                                   torch.tensor([max(r, 0) for r in rows], dtype=torch.long, device=self.device),
                                   torch.tensor([r >= 0 for r in rows], device=self.device)))
        self.dependent_indices = [cidx[c.dependent] for c in model.constraints]

        # -- keypoints: joint centres, then body COMs
        self.keypoint_names = list(self.joint_names) + [f"{b}_com" for b in self.body_names]

    # ------------------------------------------------------------------------------------------

    def to(self, *args, **kwargs) -> "Skeleton":
        """A Skeleton of the same model on another device / dtype (a new object: the constants
        are plain tensors, built for one device and dtype)."""
        device, dtype, _, _ = torch._C._nn._parse_to(*args, **kwargs)
        return Skeleton(self.model, dtype=dtype or self.dtype, device=device or self.device)

    def _tensor(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=self.dtype, device=self.device)

    def forward(self, q, scales=None, marker_offsets=None) -> FKOutput:  # noqa: D102
        q = self._tensor(q)
        if q.shape[-1] != self.n_coordinates:
            raise KinematicsError(f"q: expected (..., {self.n_coordinates}) coordinates, got {tuple(q.shape)}")
        batch = q.shape[:-1]
        r = self._core(q.reshape(-1, self.n_coordinates), scales, marker_offsets, batch, False, True)

        def pub(t, tail):  # (K, N, *tail) -> (*batch, K, *tail)
            return t.movedim(1, 0).reshape(batch + (t.shape[0],) + tail)

        return FKOutput(
            q=r["q"].reshape(batch + (self.n_coordinates,)),
            body_rotations=pub(r["R"], (3, 3)),
            body_origins=pub(r["o"], (3,)),
            joint_centres=pub(r["jc"], (3,)),
            body_coms=pub(r["com"], (3,)),
            markers=pub(r["markers"], (3,)),
        )

    def _core(self, q, scales, marker_offsets, batch, jacobian_data, coms):
        """FK with joints first: ``q (N, C)``, ``batch`` the shape that ``N`` flattens (for
        per-frame scales or marker offsets). Returns a dict of tensors:

        * ``q (N, C)`` (coupler-dependent coordinates recomputed), ``R (B, N, 3, 3)``,
          ``o (B, N, 3)``, ``jc (J, N, 3)``, ``markers (M, N, 3)``, ``com (B, N, 3)`` if ``coms``;
        * with ``jacobian_data``, what analytic Jacobians need (joints in model order):
          ``axes (J, N, 6, 3)`` the six transform axes in ground (the rotations pivot on ``jc``),
          ``dvalues (J, N, 6)`` d v_k / d q_(coordinate of axis k), and ``chain (N, C)`` d q_c /
          d q_(the independent coordinate at the root of c's coupler chain), None without couplers.
        """
        N = q.shape[0]
        J = self.n_joints
        kw = dict(dtype=self.dtype, device=self.device)
        # scale table (B+1, N or 1, 3), ground row first
        table = None
        if scales is not None:
            sc = self._tensor(scales)
            if sc.shape[-2:] != (self.n_bodies, 3):
                raise KinematicsError(f"scales: expected shape (..., {self.n_bodies}, 3), got {tuple(sc.shape)}")
            if sc.ndim == 2:
                sc = sc.unsqueeze(1)  # shared by every frame
            else:
                sc = sc.expand(batch + sc.shape[-2:]).reshape(N, self.n_bodies, 3).transpose(0, 1)
            table = torch.cat([torch.ones((1,) + sc.shape[1:], **kw), sc], 0)
        q, chain = self._couplers_rows(q, table, jacobian_data)

        # TransformAxis values (J, 6, N), joints in level order
        x = q.t().index_select(0, self._axis_coord)
        vals, dvals = self.bank.rows(x, True, jacobian_data)
        vals = vals.reshape(J, 6, N)
        if table is not None:
            s_par = table.index_select(0, self._parent_scale_row)  # (J, n, 3)
            s_chi = table.index_select(0, self._child_scale_row)
            mult_t = (s_par.unsqueeze(-2) * self._abs_axes_t.unsqueeze(1)).sum(-1).transpose(1, 2)  # (J, 3, n)
            mult = torch.cat([torch.ones_like(mult_t), mult_t], 1)
            mult = torch.where(self._axis_scaled.unsqueeze(-1), mult, torch.ones_like(mult))
            vals = vals * mult
            if dvals is not None:
                dvals = dvals.reshape(J, 6, N) * mult
            t_pf = (self.M_pf.unsqueeze(1) @ s_par.unsqueeze(-1)).squeeze(-1)  # (J, n, 3)
            t_cf = (self.M_cf.unsqueeze(1) @ s_chi.unsqueeze(-1)).squeeze(-1)
        else:
            t_pf = self._t_pf1.unsqueeze(1)
            t_cf = self._t_cf1.unsqueeze(1)
            if dvals is not None:
                dvals = dvals.reshape(J, 6, N)

        th = vals[:, :3].unsqueeze(-1).unsqueeze(-1)  # (J, 3, N, 1, 1)
        eye = torch.eye(3, **kw)
        Rb = eye + torch.sin(th) * self._Kb + (1.0 - torch.cos(th)) * self._Kb2  # (J, 3, N, 3, 3)
        R01 = Rb[:, 0] @ Rb[:, 1]
        R012 = R01 @ Rb[:, 2]
        R_local = (R012.reshape(J, N * 3, 3) @ self._C).reshape(J, N, 3, 3)
        jc_local = t_pf + vals[:, 3:].transpose(1, 2) @ self._bt  # (J, N, 3)
        if t_cf.shape[1] == 1:
            o_local = jc_local - (R_local.reshape(J, N * 3, 3) @ t_cf.transpose(1, 2)).reshape(J, N, 3)
        else:
            o_local = jc_local - (R_local @ t_cf.unsqueeze(-1)).squeeze(-1)
        cols = [R_local, o_local.unsqueeze(-1), jc_local.unsqueeze(-1)]
        if jacobian_data:
            w1 = (Rb[:, 0].reshape(J, N * 3, 3) @ self._b1).reshape(J, N, 3, 1)
            w2 = (R01.reshape(J, N * 3, 3) @ self._b2).reshape(J, N, 3, 1)
            cols += [self._b[:, 0].reshape(J, 1, 3, 1).expand(J, N, 3, 1), w1, w2,
                     self._bt.transpose(1, 2).unsqueeze(1).expand(J, N, 3, 3)]
        top = torch.cat(cols, -1)  # (J, N, 3, K): [R | o | jc | axes] of each body in its parent
        K = top.shape[-1]
        bottom = self._bottom[:K]  # homogeneous row: 1 for points (o, jc), 0 for directions

        # compose along the tree by pointer jumping: each step applies, to every body, the
        # transform of its current ancestor and doubles the jump (log2(depth) steps)
        ground = torch.cat([eye, torch.zeros(3, K - 3, **kw)], -1).expand(1, N, 3, K)
        X = torch.cat([ground, top], 0)  # (1 + J, N, 3, K), level order, ground first
        for anc in self._jumps:
            A = X.index_select(0, anc)
            X = torch.addcmul(A[..., :3] @ X, A[..., 3:4], bottom)
        G = X[..., :4]
        W = X[1:, ..., 4:]
        jc = W[..., 0].index_select(0, self._joint_pos)  # (J, N, 3) model order
        Gb = G.index_select(0, self._body_pos)  # (B, N, 3, 4)
        res = {"q": q, "R": Gb[..., :3], "o": Gb[..., 3], "jc": jc}
        if jacobian_data:
            res["axes"] = W[..., 1:].transpose(-1, -2).index_select(0, self._joint_pos)  # (J, N, 6, 3)
            res["dvalues"] = dvals.transpose(1, 2).index_select(0, self._joint_pos)  # (J, N, 6)
            res["chain"] = chain
        if coms:
            com = self.com if table is None else self.com.unsqueeze(1) * table[1:]
            res["com"] = self._points(Gb, com)

        loc = self.marker_locations if marker_offsets is None else self._tensor(marker_offsets)
        if loc.shape[-2:] != self.marker_locations.shape:
            raise KinematicsError(f"marker_offsets: expected ({len(self.marker_names)}, 3), got {tuple(loc.shape)}")
        if loc.ndim > 2:
            loc = loc.expand(batch + loc.shape[-2:]).reshape(N, -1, 3).transpose(0, 1)  # (M, N, 3)
        s_m = table.index_select(0, self.marker_body_row) if table is not None else None
        if s_m is not None:
            loc = loc * s_m if loc.ndim == 3 else loc.unsqueeze(1) * s_m
        if not self._marker_direct:
            loc3 = loc if loc.ndim == 3 else loc.unsqueeze(1)
            s3 = s_m if s_m is not None else torch.ones_like(loc3)
            loc = (self.R_mk.unsqueeze(1) @ loc3.unsqueeze(-1)).squeeze(-1) + (self.M_mk.unsqueeze(1) @ s3.unsqueeze(-1)).squeeze(-1)
        res["markers"] = self._points(G.index_select(0, self._marker_pos), loc)
        return res

    @staticmethod
    def _points(Gp: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
        """Points ``loc`` ((P, 3) or (P, n, 3), body frames) through ``Gp (P, N, 3, 4)`` -> (P, N, 3)."""
        P, N = Gp.shape[0], Gp.shape[1]
        if loc.ndim == 2 or loc.shape[1] == 1:
            l1 = loc.reshape(P, 3)
            return (Gp[..., :3].reshape(P, N * 3, 3) @ l1.unsqueeze(-1)).reshape(P, N, 3) + Gp[..., 3]
        return (Gp[..., :3] @ loc.unsqueeze(-1)).squeeze(-1) + Gp[..., 3]

    def _couplers_rows(self, q: torch.Tensor, table, slopes: bool = False):
        """``q (N, C)`` with the coupler-dependent coordinates recomputed (table: (B+1, n, 3))
        and, with ``slopes``, their chain factors ``(N, C)`` (see :meth:`_core`; None without
        couplers), from the same function evaluation."""
        if not self._couplers:
            return q, None
        chain = torch.ones_like(q) if slopes else None
        for dep, ind, sf, bank, rows, is_t in self._couplers:
            x = q.index_select(-1, ind)
            v, d = bank.values_and_derivatives(x) if slopes else (bank.values(x), None)
            v = v * sf
            if table is not None:
                sx = table[rows, :, 0].transpose(0, 1)  # (n, k)
                mult = torch.where(is_t, sx, torch.ones_like(sx))
                v = v * mult
            q = q.index_copy(-1, dep, v.expand(q.shape[:-1] + dep.shape))
            if slopes:
                d = d * sf
                if table is not None:
                    d = d * mult
                # group by group, so an independent that is itself dependent already has its factor
                chain = chain.index_copy(-1, dep, d * chain.index_select(-1, ind))
        return q, chain

    # ------------------------------------------------------------------------------------------

    def keypoints(self, out: FKOutput) -> torch.Tensor:
        """``(..., K, 3)``: joint centres then body COMs (names in :attr:`keypoint_names`)."""
        return torch.cat([out.joint_centres, out.body_coms], -2)

    def default_q(self) -> torch.Tensor:
        """(C,) the model's default coordinate values."""
        return self._tensor(self.model.default_q())

