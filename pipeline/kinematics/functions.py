"""OpenSim functions of one coordinate, evaluated in torch (differentiable), with OpenSim's semantics.

Supported (the XML tag in brackets):

* :class:`Constant` (``Constant``)
* :class:`LinearFunction` (``LinearFunction``; coefficients ``slope intercept``)
* :class:`PolynomialFunction` (``PolynomialFunction``; coefficients highest power first, as
  ``SimTK::Function::Polynomial``)
* :class:`SimmSpline` (``SimmSpline``, and ``NaturalCubicSpline``/``natCubicSpline``, which
  OpenSim itself maps onto SimmSpline): SIMM's cubic spline with end conditions from divided
  differences; outside ``[x0, xn]`` it extrapolates linearly with the end slopes, exactly as
  ``SimmSpline::calcValue`` does.
* :class:`PiecewiseLinearFunction` (``PiecewiseLinearFunction``), with the same linear extrapolation.
* :class:`MultiplierFunction` (``MultiplierFunction``: ``scale`` times an inner function); OpenSim
  writes these when it scales a model.

Coefficients are computed once in float64 numpy with the same arithmetic as OpenSim's C++
(``SimmSpline::calcCoefficients``). :class:`FunctionBank` evaluates many functions at once, one
input value per function, which is what forward kinematics needs (no Python loop per function).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import KinematicsError

TINY_NUMBER = 1e-7  # SimmMacros.h


class Function:
    """A function of zero or one coordinate. ``__call__`` and ``derivative`` take any tensor."""

    #: number of arguments: 0 (constant) or 1
    n_args: int = 1

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def base(self) -> tuple["Function", float]:
        """The innermost non-multiplier function and the product of the multipliers around it."""
        return self, 1.0


@dataclass(frozen=True)
class Constant(Function):
    value: float
    n_args: int = field(default=0, init=False)

    def __call__(self, x):
        return torch.full_like(x, self.value)

    def derivative(self, x):
        return torch.zeros_like(x)


@dataclass(frozen=True)
class LinearFunction(Function):
    slope: float
    intercept: float

    def __call__(self, x):
        return self.slope * x + self.intercept

    def derivative(self, x):
        return torch.full_like(x, self.slope)


@dataclass(frozen=True)
class PolynomialFunction(Function):
    """``sum_i c_i x^(n-1-i)``: coefficients highest power first."""

    coefficients: tuple[float, ...]

    def __call__(self, x):
        out = torch.zeros_like(x)
        for c in self.coefficients:
            out = out * x + c
        return out

    def derivative(self, x):
        n = len(self.coefficients)
        out = torch.zeros_like(x)
        for i, c in enumerate(self.coefficients[:-1]):
            out = out * x + c * (n - 1 - i)
        return out


@dataclass(frozen=True)
class _Piecewise(Function):
    """A piecewise cubic ``y_k + dx (b_k + dx (c_k + dx d_k))`` with linear extrapolation."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def coefficients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _table(self):
        b, c, d = self.coefficients()
        return np.asarray(self.x, float), np.asarray(self.y, float), b, c, d

    def __call__(self, xv):
        return _piecewise_eval(self._table(), xv, derivative=False)

    def derivative(self, xv):
        return _piecewise_eval(self._table(), xv, derivative=True)


def _piecewise_eval(table, xv: torch.Tensor, derivative: bool) -> torch.Tensor:
    X, Y, B, C, D = (torch.as_tensor(a, dtype=xv.dtype, device=xv.device) for a in table)
    n = X.shape[0]
    k = (xv.unsqueeze(-1) > X[1 : n - 1]).sum(-1) if n > 2 else torch.zeros_like(xv, dtype=torch.long)
    dx = xv - X[k]
    if derivative:
        inside = B[k] + dx * (2.0 * C[k] + 3.0 * dx * D[k])
        lo, hi = B[0].expand_as(xv), B[n - 1].expand_as(xv)
    else:
        inside = Y[k] + dx * (B[k] + dx * (C[k] + dx * D[k]))
        lo = Y[0] + (xv - X[0]) * B[0]
        hi = Y[n - 1] + (xv - X[n - 1]) * B[n - 1]
    return torch.where(xv < X[0], lo, torch.where(xv > X[n - 1], hi, inside))


@dataclass(frozen=True)
class SimmSpline(_Piecewise):
    """OpenSim's SimmSpline (also what OpenSim reads for ``NaturalCubicSpline``)."""

    def coefficients(self):
        return simm_spline_coefficients(np.asarray(self.x, float), np.asarray(self.y, float))


@dataclass(frozen=True)
class PiecewiseLinearFunction(_Piecewise):
    def coefficients(self):
        x, y = np.asarray(self.x, float), np.asarray(self.y, float)
        n = len(x)
        b = np.zeros(n)
        if n > 1:
            b[:-1] = (y[1:] - y[:-1]) / np.maximum(TINY_NUMBER, x[1:] - x[:-1])
            b[-1] = b[-2]
        return b, np.zeros(n), np.zeros(n)


@dataclass(frozen=True)
class MultiplierFunction(Function):
    function: Function
    scale: float

    @property
    def n_args(self):  # type: ignore[override]
        return self.function.n_args

    def __call__(self, x):
        return self.scale * self.function(x)

    def derivative(self, x):
        return self.scale * self.function.derivative(x)

    def base(self):
        inner, s = self.function.base()
        return inner, s * self.scale


def simm_spline_coefficients(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``b, c, d`` of ``SimmSpline::calcCoefficients`` (OpenSim/Common/SimmSpline.cpp), float64."""
    n = len(x)
    b, c, d = np.zeros(n), np.zeros(n), np.zeros(n)
    if n < 2:
        return b, c, d
    if n == 2:
        t = max(TINY_NUMBER, x[1] - x[0])
        b[:] = (y[1] - y[0]) / t
        return b, c, d
    nm1, nm2 = n - 1, n - 2
    d[0] = max(TINY_NUMBER, x[1] - x[0])
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = max(TINY_NUMBER, x[i + 1] - x[i])
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[nm1] = -d[nm2]
    c[0] = 0.0
    c[nm1] = 0.0
    if n > 3:
        d31 = max(TINY_NUMBER, x[3] - x[1])
        d20 = max(TINY_NUMBER, x[2] - x[0])
        d1 = max(TINY_NUMBER, x[nm1] - x[n - 3])
        d2 = max(TINY_NUMBER, x[nm2] - x[n - 4])
        d30 = max(TINY_NUMBER, x[3] - x[0])
        d3 = max(TINY_NUMBER, x[nm1] - x[n - 4])
        c[0] = c[2] / d31 - c[1] / d20
        c[nm1] = c[nm2] / d1 - c[n - 3] / d2
        c[0] = c[0] * d[0] * d[0] / d30
        c[nm1] = -c[nm1] * d[nm2] * d[nm2] / d3
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] -= t * d[i - 1]
        c[i] -= t * c[i - 1]
    c[nm1] /= b[nm1]
    for j in range(nm1):
        i = nm2 - j
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[nm2]) / d[nm2] + d[nm2] * (c[nm2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] *= 3.0
    c[nm1] *= 3.0
    d[nm1] = d[nm2]
    return b, c, d


class FunctionBank:
    """Evaluate A functions at once: ``values(x)`` with ``x (..., A)`` gives ``(..., A)``.

    Function ``a`` is evaluated at ``x[..., a]`` (ignored for constants). Multipliers are folded
    into one factor per function. Polynomials (incl. constants and linear functions) and piecewise
    cubics (splines, piecewise linear) are each evaluated as one batched group.
    """

    def __init__(self, functions: list[Function], dtype=torch.float64, device="cpu"):
        self.size = len(functions)
        poly_idx, poly_coefs, pw_idx, pw_tables, factors = [], [], [], [], []
        for a, fn in enumerate(functions):
            base, factor = fn.base()
            factors.append(factor)
            # multipliers are folded into the coefficients (a scaled polynomial or spline)
            if isinstance(base, Constant):
                poly_idx.append(a)
                poly_coefs.append([factor * base.value])
            elif isinstance(base, LinearFunction):
                poly_idx.append(a)
                poly_coefs.append([factor * base.slope, factor * base.intercept])
            elif isinstance(base, PolynomialFunction):
                poly_idx.append(a)
                poly_coefs.append([factor * c for c in base.coefficients] or [0.0])
            elif isinstance(base, _Piecewise):
                if len(base.x) < 2:
                    # OpenSim returns y0 for a one-point spline through SimTK; treat as constant.
                    poly_idx.append(a)
                    poly_coefs.append([factor * base.y[0] if base.y else 0.0])
                else:
                    pw_idx.append(a)
                    x, y, b, c, d = base._table()
                    pw_tables.append((x, factor * y, factor * b, factor * c, factor * d))
            else:  # pragma: no cover - the reader only builds the classes above
                raise KinematicsError(f"FunctionBank: unsupported function {type(base).__name__}")
        kw = dict(dtype=dtype, device=device)
        self.factors = torch.tensor(factors, **kw)
        self.poly_idx = torch.tensor(poly_idx, dtype=torch.long, device=device)
        deg = max((len(c) for c in poly_coefs), default=1)
        P = np.zeros((len(poly_coefs), deg))
        for i, c in enumerate(poly_coefs):
            P[i, deg - len(c):] = c  # left-pad: highest power first
        self.poly = torch.tensor(P, **kw)
        # derivative coefficients of each polynomial, same layout, one degree less
        powers = np.arange(deg - 1, -1, -1, dtype=float)
        Pd = (P * powers)[:, :-1] if deg > 1 else np.zeros((len(poly_coefs), 1))
        self.poly_d = torch.tensor(Pd, **kw)
        self.pw_idx = torch.tensor(pw_idx, dtype=torch.long, device=device)
        nmax = max((len(t[0]) for t in pw_tables), default=2)
        S = len(pw_tables)
        X = np.full((S, nmax), np.inf)
        Y, B, C, D = (np.zeros((S, nmax)) for _ in range(4))
        first = np.zeros((S, 3))  # x0, y0, b0
        last = np.zeros((S, 3))  # xn, yn, bn
        for s, (x, y, b, c, d) in enumerate(pw_tables):
            n = len(x)
            X[s, :n], Y[s, :n], B[s, :n], C[s, :n], D[s, :n] = x, y, b, c, d
            first[s] = (x[0], y[0], b[0])
            last[s] = (x[n - 1], y[n - 1], b[n - 1])
        # interior knots x1..x_{n-2} decide the segment; padding with +inf never counts
        interior = X[:, 1:].copy()
        for s, t in enumerate(pw_tables):
            interior[s, len(t[0]) - 2:] = np.inf
        self.pw_interior = torch.tensor(interior[:, : max(nmax - 2, 1)], **kw)
        self.pw_nmax = nmax
        self.pw_X = torch.tensor(np.where(np.isinf(X), 0.0, X), **kw)
        self.pw_Y, self.pw_B, self.pw_C, self.pw_D = (torch.tensor(a, **kw) for a in (Y, B, C, D))
        self.pw_first = torch.tensor(first, **kw)
        self.pw_last = torch.tensor(last, **kw)
        self._pw_row_offset = (torch.arange(S, device=device) * nmax).unsqueeze(-1)
        order = np.argsort(np.concatenate([poly_idx, pw_idx]).astype(int), kind="stable")
        self.perm = torch.tensor(order, dtype=torch.long, device=device)

    # The core works on rows: x (A, N), function a on row a (contiguous per function).

    def _poly(self, x: torch.Tensor, coefs: torch.Tensor) -> torch.Tensor:
        out = coefs[:, :1].expand_as(x)
        for i in range(1, coefs.shape[1]):
            out = out * x + coefs[:, i:i + 1]
        return out

    def _pw(self, x: torch.Tensor, want_value: bool, want_slope: bool):
        k = (x.unsqueeze(-1) > self.pw_interior.unsqueeze(1)).sum(-1)  # (S, N) segment index
        flat = k + self._pw_row_offset
        xk = self.pw_X.reshape(-1)[flat]
        b = self.pw_B.reshape(-1)[flat]
        c = self.pw_C.reshape(-1)[flat]
        d = self.pw_D.reshape(-1)[flat]
        dx = x - xk
        x0, y0, b0 = (t.unsqueeze(-1) for t in self.pw_first.unbind(-1))
        xn, yn, bn = (t.unsqueeze(-1) for t in self.pw_last.unbind(-1))
        below, above = x < x0, x > xn
        v = s = None
        if want_value:
            y = self.pw_Y.reshape(-1)[flat]
            inside = y + dx * (b + dx * (c + dx * d))
            v = torch.where(below, y0 + (x - x0) * b0, torch.where(above, yn + (x - xn) * bn, inside))
        if want_slope:
            inside = b + dx * (2.0 * c + 3.0 * dx * d)
            s = torch.where(below, b0.expand_as(x), torch.where(above, bn.expand_as(x), inside))
        return v, s

    def rows(self, x: torch.Tensor, want_value: bool = True, want_slope: bool = False):
        """Values and/or slopes for ``x (A, N)`` (function ``a`` on row ``a``): ``(A, N)`` each."""
        if self.size == 0:
            return (x if want_value else None), (x if want_slope else None)
        vp, sp = [], []
        if self.poly_idx.numel():
            xp = x.index_select(0, self.poly_idx)
            if want_value:
                vp.append(self._poly(xp, self.poly))
            if want_slope:
                sp.append(self._poly(xp, self.poly_d))
        if self.pw_idx.numel():
            v, s = self._pw(x.index_select(0, self.pw_idx), want_value, want_slope)
            if want_value:
                vp.append(v)
            if want_slope:
                sp.append(s)

        def _join(parts):
            out = torch.cat(parts, 0) if len(parts) > 1 else parts[0]
            return out.index_select(0, self.perm)

        return (_join(vp) if want_value else None), (_join(sp) if want_slope else None)

    def _last(self, x: torch.Tensor, want_value: bool, want_slope: bool):
        shape = x.shape
        xr = x.reshape(-1, shape[-1]).transpose(0, 1)
        v, s = self.rows(xr, want_value, want_slope)
        back = lambda t: None if t is None else t.transpose(0, 1).reshape(shape)  # noqa: E731
        return back(v), back(s)

    def values(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., A)`` values of every function at ``x (..., A)``."""
        if self.size == 0:
            return x[..., :0]
        return self._last(x, True, False)[0]

    def values_and_derivatives(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both at once (one segment search)."""
        if self.size == 0:
            return x[..., :0], x[..., :0]
        return self._last(x, True, True)
