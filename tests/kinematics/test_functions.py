"""Transform-axis functions: values and slopes equal OpenSim's own (incl. SimmSpline extrapolation)."""

import numpy as np
import torch

from pipeline.kinematics.functions import (
    Constant,
    FunctionBank,
    LinearFunction,
    MultiplierFunction,
    PiecewiseLinearFunction,
    PolynomialFunction,
    SimmSpline,
)

KNEE_X = (-2.0944, -1.74533, -1.39626, -1.0472, -0.698132, -0.349066, -0.174533, 0.197344, 0.337395, 0.490178, 1.52146, 2.0944)
KNEE_Y = (-0.0032, 0.00179, 0.00411, 0.0041, 0.00212, -0.001, -0.0031, -0.005227, -0.005435, -0.005574, -0.005435, -0.00525)


def ours_and_opensim():
    """Pairs (ours, opensim function) covering every kind, incl. 2- and 3-point splines.

    (MultiplierFunction is left out: its Python binding crashes on ownership. It is a plain
    product, and the FK parity tests cover it through the scaled models, which are full of them.)
    """
    import opensim as osim

    pairs = []
    for x, y in [(KNEE_X, KNEE_Y), ((-1.0, 0.0, 1.5), (0.1, -0.2, 0.3)), ((0.0, 1.0), (2.0, -1.0)),
                 ((-2.0, -1.0, -0.2, 0.1, 0.7, 1.9, 2.5), (0.3, 0.1, -0.4, 0.0, 0.2, 0.25, -0.1))]:
        s = osim.SimmSpline()
        pl = osim.PiecewiseLinearFunction()
        for a, b in zip(x, y):
            s.addPoint(a, b)
            pl.addPoint(a, b)
        pairs.append((SimmSpline(x, y), s))
        pairs.append((PiecewiseLinearFunction(x, y), pl))
    coefs = (0.3, -0.2, 0.5, 0.01)
    v = osim.Vector(len(coefs), 0.0)
    for i, c in enumerate(coefs):
        v.set(i, c)
    pairs.append((PolynomialFunction(coefs), osim.PolynomialFunction(v)))
    pairs.append((LinearFunction(-0.7, 0.2), osim.LinearFunction(-0.7, 0.2)))
    pairs.append((Constant(0.05), osim.Constant(0.05)))
    return pairs, osim


def test_values_and_derivatives_match_opensim():
    pairs, osim = ours_and_opensim()
    xs = np.concatenate([np.linspace(-3.0, 3.0, 601), KNEE_X, [-1.0, 0.0, 1.5, 2.5, 1.9]])
    # A plain list, not osim.StdVectorInt: once ezc3d (also SWIG) is imported in the same process,
    # opensim's StdVectorInt proxy no longer matches calcDerivative's signature.
    deriv = [0]
    for ours, theirs in pairs:
        ref = np.array([theirs.calcValue(osim.Vector(1, float(x))) for x in xs])
        got = ours(torch.tensor(xs)).numpy()
        assert np.abs(got - ref).max() < 1e-12, type(ours).__name__
        if isinstance(ours, Constant):
            continue
        # slopes away from the knots (OpenSim's own derivative is one-sided there)
        xd = xs[np.min(np.abs(xs[:, None] - np.array(getattr(ours.base()[0], "x", [99.0]))[None]), 1) > 1e-6]
        dref = np.array([theirs.calcDerivative(deriv, osim.Vector(1, float(x))) for x in xd])
        dgot = ours.derivative(torch.tensor(xd)).numpy()
        assert np.abs(dgot - dref).max() < 1e-10, type(ours).__name__


def test_bank_equals_single_functions_and_autograd():
    fns = [SimmSpline(KNEE_X, KNEE_Y), Constant(0.3), LinearFunction(1.0, 0.0), PolynomialFunction((1.0, -2.0, 0.5)),
           PiecewiseLinearFunction((-1.0, 0.0, 1.0), (0.0, 1.0, 0.5)), MultiplierFunction(SimmSpline((0.0, 1.0, 2.0), (1.0, 0.0, 3.0)), -2.0),
           SimmSpline((0.0, 1.0), (1.0, 2.0))]
    bank = FunctionBank(fns)
    x = torch.linspace(-3, 3, 97, dtype=torch.float64)[:, None].repeat(1, len(fns)).requires_grad_(True)
    vals = bank.values(x)
    for a, f in enumerate(fns):
        assert torch.allclose(vals[:, a], f(x[:, a]), atol=1e-14, rtol=0)
    g, = torch.autograd.grad(vals.sum(), x)
    d = bank.values_and_derivatives(x.detach())[1]
    # autograd and the analytic derivative agree except exactly on knots
    assert torch.allclose(g[1:-1], d[1:-1], atol=1e-9)
    assert torch.all(g[:, 1] == 0)


def test_bank_float32_and_batch_shapes():
    fns = [SimmSpline(KNEE_X, KNEE_Y), LinearFunction(2.0, 1.0)]
    bank = FunctionBank(fns, dtype=torch.float32)
    x = torch.zeros(4, 5, 2, dtype=torch.float32)
    out = bank.values(x)
    assert out.shape == (4, 5, 2) and out.dtype == torch.float32
    assert torch.allclose(out[..., 1], torch.ones(4, 5))
