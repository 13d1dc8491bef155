"""The per-frame marker error report of an IK run (JSON), shared by ``odah ik`` and stage 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io_utils import atomic_write_text


def write_ik_report(path: str | Path, *, backend: str, model: str | Path, markers: str | Path | None, times,
                    rmse, max_err, marker_names, seconds: float, extra: dict | None = None) -> dict:
    """Write the report atomically and return it.

    ``times`` (T,) s; ``rmse`` and ``max_err`` (T,) metres per frame (NaN: not known); ``seconds``
    the solve time; ``extra`` keys are added last.
    """
    rmse, max_err = np.asarray(rmse, float), np.asarray(max_err, float)

    def stat(f, a):
        a = a[np.isfinite(a)]
        return float(f(a)) if a.size else None

    doc = {
        "backend": backend, "model": str(model), "markers": str(markers) if markers else None, "units": "m",
        "frames": int(len(times)), "seconds": round(float(seconds), 4),
        "frames_per_second": round(len(times) / seconds, 2) if seconds > 0 else None,
        "summary": {"rmse_mean": stat(np.mean, rmse), "rmse_median": stat(np.median, rmse),
                    "rmse_max": stat(np.max, rmse), "max_error_max": stat(np.max, max_err)},
        "marker_names": list(marker_names), "times": [float(t) for t in times],
        "marker_rmse": [None if not np.isfinite(v) else float(v) for v in rmse],
        "marker_max": [None if not np.isfinite(v) else float(v) for v in max_err],
    }
    doc.update(extra or {})
    atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    return doc
