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

Everything is vectorised over frames (any leading batch shape) and over joints; the only Python
loop walks the depth levels of the tree (about six).
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


@dataclass
class _JacobianData:
    """What analytic Jacobians need, joints in model order."""

    axes_world: torch.Tensor  # (..., J, 6, 3) the six transform axes in ground
    joint_centres: torch.Tensor  # (..., J, 3) pivot of the three rotations
    dvalues: torch.Tensor  # (..., J, 6) d v_k / d q_(coordinate of axis k)


def _rodrigues(axes: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotation matrices about unit ``axes (N, 3)`` by ``angles (..., N)`` -> ``(..., N, 3, 3)``."""
    x, y, z = axes.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(-1, 3, 3)
    K2 = K @ K
    s = torch.sin(angles)[..., None, None]
    c = torch.cos(angles)[..., None, None]
    eye = torch.eye(3, dtype=axes.dtype, device=axes.device)
    return eye + s * K + (1.0 - c) * K2


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
        self._levels = []
        start = 0
        for d in sorted(set(jdepth)):
            n = sum(1 for k in order if jdepth[k] == d)
            self._levels.append((start, start + n))
            start += n
        # position in the level-ordered "with ground" list: ground 0, joint order[i] -> i + 1
        pos_of_body = {model.ground: 0}
        for i, k in enumerate(order):
            pos_of_body[model.joints[k].child.body] = i + 1
        parent_pos = [pos_of_body[model.joints[k].parent.body] for k in order]
        for a, b in self._levels:
            if any(p > a for p in parent_pos[a:b]):
                raise KinematicsError("internal: a parent is not on an earlier level")
        self._parent_pos = [torch.tensor(parent_pos[a:b], dtype=torch.long, device=self.device)
                            for a, b in self._levels]
        # model body order -> level position; model joint order -> level position
        self._body_pos = torch.tensor([pos_of_body[b] for b in self.body_names], dtype=torch.long, device=self.device)
        inv = np.argsort(order)
        self._joint_pos = torch.tensor(inv, dtype=torch.long, device=self.device)
        self._order = order
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
        self._rot_axes = self.axes[:, :3].reshape(-1, 3)
        funcs, coord_of_axis, scaled = [], [], []
        for j in jl:
            for k, ax in enumerate(j.spatial_transform):
                funcs.append(ax.function)
                coord_of_axis.append(cidx[ax.coordinates[0]] if ax.coordinates else -1)
                ident = isinstance(ax.function, LinearFunction) and ax.function.slope == 1.0 and ax.function.intercept == 0.0
                scaled.append(k >= 3 and not ident)
        self.bank = FunctionBank(funcs, dtype, self.device)
        self._axis_coord = torch.tensor([max(c, 0) for c in coord_of_axis], dtype=torch.long, device=self.device)
        self._axis_has_coord = torch.tensor([c >= 0 for c in coord_of_axis], device=self.device).reshape(J, 6)
        self.axis_coordinate = np.array(coord_of_axis).reshape(J, 6)[inv]  # model joint order, -1: none
        self._axis_scaled = torch.tensor(scaled, device=self.device).reshape(J, 6)
        self._abs_axes_t = self.axes[:, 3:].abs()  # (J, 3, 3) |a_k| for translation axes

        # -- bodies, markers
        self.com = torch.tensor(np.stack([b.mass_center for b in model.bodies]) if B else np.zeros((0, 3)), **kw)
        self.masses = torch.tensor([b.mass for b in model.bodies], **kw)
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

    def _tensor(self, x) -> torch.Tensor:
        return torch.as_tensor(x, dtype=self.dtype, device=self.device)

    def _scale_table(self, scales: torch.Tensor | None, batch) -> torch.Tensor | None:
        """(..., B+1, 3) scale factors with a row of ones for the ground at index 0."""
        if scales is None:
            return None
        s = self._tensor(scales)
        if s.shape[-2:] != (self.n_bodies, 3):
            raise KinematicsError(f"scales: expected shape (..., {self.n_bodies}, 3), got {tuple(s.shape)}")
        ones = torch.ones(s.shape[:-2] + (1, 3), dtype=s.dtype, device=s.device)
        return torch.cat([ones, s], -2)

    def apply_couplers(self, q: torch.Tensor, scales: torch.Tensor | None = None) -> torch.Tensor:
        """``q`` with every coupler-dependent coordinate recomputed from its independent one."""
        if not self._couplers:
            return q
        table = self._scale_table(scales, q.shape[:-1])
        for dep, ind, sf, bank, rows, is_t in self._couplers:
            v = bank.values(q.index_select(-1, ind)) * sf
            if table is not None:
                sx = table[..., rows, 0]
                v = v * torch.where(is_t, sx, torch.ones_like(sx))
            q = q.index_copy(-1, dep, v.expand(q.shape[:-1] + dep.shape))
        return q

    def coupler_derivatives(self, q: torch.Tensor, scales: torch.Tensor | None = None):
        """For each coupler group: ``(dep, ind, d q_dep / d q_ind (..., n))``."""
        table = self._scale_table(scales, q.shape[:-1])
        out = []
        for dep, ind, sf, bank, rows, is_t in self._couplers:
            d = bank.derivatives(q.index_select(-1, ind)) * sf
            if table is not None:
                sx = table[..., rows, 0]
                d = d * torch.where(is_t, sx, torch.ones_like(sx))
            out.append((dep, ind, d))
        return out

    def forward(self, q, scales=None, marker_offsets=None) -> FKOutput:  # noqa: D102
        out, _ = self._run(q, scales, marker_offsets, jacobian_data=False)
        return out

    def _run(self, q, scales=None, marker_offsets=None, jacobian_data=False):
        q = self._tensor(q)
        if q.shape[-1] != self.n_coordinates:
            raise KinematicsError(f"q: expected (..., {self.n_coordinates}) coordinates, got {tuple(q.shape)}")
        table = self._scale_table(scales, q.shape[:-1])
        q = self.apply_couplers(q, scales)
        batch = q.shape[:-1]
        J = self.n_joints

        # TransformAxis values, joints in level order: (..., J, 6)
        x = q.index_select(-1, self._axis_coord)
        vals = self.bank.values(x).reshape(batch + (J, 6))
        dvals = self.bank.derivatives(x).reshape(batch + (J, 6)) if jacobian_data else None
        if table is not None:
            s_par = table.index_select(-2, self._parent_scale_row)  # (..., J, 3)
            s_chi = table.index_select(-2, self._child_scale_row)
            mult_t = (s_par.unsqueeze(-2) * self._abs_axes_t).sum(-1)  # (..., J, 3)
            mult = torch.cat([torch.ones_like(mult_t), mult_t], -1)
            mult = torch.where(self._axis_scaled, mult, torch.ones_like(mult))
            vals = vals * mult
            if dvals is not None:
                dvals = dvals * mult
            t_pf = (self.M_pf @ s_par.unsqueeze(-1)).squeeze(-1)
            t_cf = (self.M_cf @ s_chi.unsqueeze(-1)).squeeze(-1)
        else:
            t_pf = self.M_pf.sum(-1)
            t_cf = self.M_cf.sum(-1)

        Rk = _rodrigues(self._rot_axes, vals[..., :3].reshape(batch + (3 * J,))).reshape(batch + (J, 3, 3, 3))
        R01 = Rk[..., 0, :, :] @ Rk[..., 1, :, :]
        R_fm = R01 @ Rk[..., 2, :, :]
        p_fm = (vals[..., 3:].unsqueeze(-1) * self.axes[:, 3:]).sum(-2)  # (..., J, 3)
        R_local = self.R_pf @ R_fm @ self.R_cf.transpose(-1, -2)
        jc_local = t_pf + (self.R_pf @ p_fm.unsqueeze(-1)).squeeze(-1)
        o_local = jc_local - (R_local @ t_cf.unsqueeze(-1)).squeeze(-1)

        # walk the tree level by level; index 0 is the ground
        eye = torch.eye(3, dtype=self.dtype, device=self.device).expand(batch + (1, 3, 3))
        Rs = [eye]
        os_ = [torch.zeros(batch + (1, 3), dtype=self.dtype, device=self.device)]
        jcs, RGF = [], []
        for (a, b), ppos in zip(self._levels, self._parent_pos):
            R_all = torch.cat(Rs, -3)
            o_all = torch.cat(os_, -2)
            Rp = R_all.index_select(-3, ppos)
            op = o_all.index_select(-2, ppos)
            Rs.append(Rp @ R_local[..., a:b, :, :])
            os_.append(op + (Rp @ o_local[..., a:b, :, None]).squeeze(-1))
            jcs.append(op + (Rp @ jc_local[..., a:b, :, None]).squeeze(-1))
            if jacobian_data:
                RGF.append(Rp @ self.R_pf[a:b])
        R_all = torch.cat(Rs, -3)  # (..., 1 + J, 3, 3) level positions
        o_all = torch.cat(os_, -2)
        jc = torch.cat(jcs, -2) if jcs else o_all[..., :0, :]

        R_body = R_all.index_select(-3, self._body_pos)
        o_body = o_all.index_select(-2, self._body_pos)
        joint_centres = jc.index_select(-2, self._joint_pos)

        com = self.com if table is None else self.com * table[..., 1:, :]
        body_coms = o_body + (R_body @ com.unsqueeze(-1)).squeeze(-1)

        loc = self.marker_locations if marker_offsets is None else self._tensor(marker_offsets)
        if loc.shape[-2:] != self.marker_locations.shape:
            raise KinematicsError(f"marker_offsets: expected ({len(self.marker_names)}, 3), got {tuple(loc.shape)}")
        if table is not None:
            s_m = table.index_select(-2, self.marker_body_row)
            loc = loc * s_m
        if not self._marker_direct:
            s_m = table.index_select(-2, self.marker_body_row) if table is not None else torch.ones_like(loc)
            loc = (self.R_mk @ loc.unsqueeze(-1)).squeeze(-1) + (self.M_mk @ s_m.unsqueeze(-1)).squeeze(-1)
        Rm = R_all.index_select(-3, self._marker_pos)
        om = o_all.index_select(-2, self._marker_pos)
        markers = om + (Rm @ loc.unsqueeze(-1)).squeeze(-1)

        out = FKOutput(q, R_body, o_body, joint_centres, body_coms, markers)
        if not jacobian_data:
            return out, None
        R_GF = torch.cat(RGF, -3)  # (..., J, 3, 3) level order
        a = self.axes  # (J, 6, 3)
        w0 = R_GF @ a[:, 0, :, None]
        w1 = (R_GF @ Rk[..., 0, :, :]) @ a[:, 1, :, None]
        w2 = (R_GF @ R01) @ a[:, 2, :, None]
        wt = R_GF.unsqueeze(-3) @ a[:, 3:, :, None]  # (..., J, 3, 3, 1)
        w = torch.cat([w0.unsqueeze(-3), w1.unsqueeze(-3), w2.unsqueeze(-3), wt], -3).squeeze(-1)
        jd = _JacobianData(
            axes_world=w.index_select(-3, self._joint_pos),
            joint_centres=joint_centres,
            dvalues=dvals.index_select(-2, self._joint_pos),
        )
        return out, jd

    # ------------------------------------------------------------------------------------------

    def keypoints(self, out: FKOutput) -> torch.Tensor:
        """``(..., K, 3)``: joint centres then body COMs (names in :attr:`keypoint_names`)."""
        return torch.cat([out.joint_centres, out.body_coms], -2)

    def default_q(self) -> torch.Tensor:
        """(C,) the model's default coordinate values."""
        return self._tensor(self.model.default_q())

    def marker_indices(self, names) -> list[int]:
        idx = {n: i for i, n in enumerate(self.marker_names)}
        missing = [n for n in names if n not in idx]
        if missing:
            raise KinematicsError(f"markers {missing} are not in model {self.model._where()}")
        return [idx[n] for n in names]
