"""Compare two .osim files through OpenSim itself (test helper)."""

from __future__ import annotations

import numpy as np

from pipeline.kinematics.opensim_tools import import_opensim


def body_origin_difference(path_a, path_b, n: int = 5, seed: int = 0) -> float:
    """Largest body-origin difference (metres) between two models with the same coordinates, over
    ``n`` random poses inside the coordinate ranges."""
    opensim = import_opensim()
    a, b = opensim.Model(str(path_a)), opensim.Model(str(path_b))
    sa, sb = a.initSystem(), b.initSystem()
    ca, cb = a.getCoordinateSet(), b.getCoordinateSet()
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(n):
        for j in range(ca.getSize()):
            v = rng.uniform(ca.get(j).getRangeMin(), ca.get(j).getRangeMax())
            ca.get(j).setValue(sa, v, False)
            cb.get(j).setValue(sb, v, False)
        a.realizePosition(sa)
        b.realizePosition(sb)
        for i in range(a.getBodySet().getSize()):
            d = a.getBodySet().get(i).getPositionInGround(sa).to_numpy() - b.getBodySet().get(i).getPositionInGround(sb).to_numpy()
            worst = max(worst, float(np.abs(d).max()))
    return worst
