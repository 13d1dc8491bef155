"""TRC marker files: read, write, and the :class:`MarkerData` container.

A TRC file (OpenSim's marker format) is tab separated::

    PathFileType  4  (X/Y/Z)  walk.trc
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    60.00     60.00       151        41          mm     60.00         1                   151
    Frame#  Time  R.ASIS  <tab> <tab> L.ASIS ...
                  X1  Y1  Z1  X2  Y2  Z2 ...
    <blank line>
    1  0.000  617.2  1055.3  170.8 ...

Inside odah marker positions are always float64 METRES in the file's lab frame; a missing marker
(blank cell, ``NaN``, a short row, or exactly (0, 0, 0), the gap value many exporters write) is NaN. Downstream IK gives a NaN marker zero weight for that
frame (documented handling of gaps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import MotionIOError
from ..io_utils import atomic_write_text
from ..log import get_logger

log = get_logger("kinematics.trc")

#: Length units a TRC header may name, and their size in metres.
UNIT_SCALE: dict[str, float] = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "cm": 0.01, "centimeter": 0.01, "centimeters": 0.01,
    "mm": 0.001, "millimeter": 0.001, "millimeters": 0.001,
}

# A human marker cloud spans roughly 0.1-2.5 m in one frame. If the span after unit conversion is
# 100x outside that, the Units header is almost surely wrong (mm labelled m or the reverse).
_PLAUSIBLE_SPAN_M = (0.005, 25.0)


def unit_scale(units: str, where: str = "units") -> float:
    """Metres per unit of ``units`` ('mm', 'cm', 'm', ...); MotionIOError if unknown."""
    key = str(units).strip().lower()
    if key not in UNIT_SCALE:
        raise MotionIOError(f"{where}: unknown length unit {units!r}; expected one of mm, cm, m")
    return UNIT_SCALE[key]


@dataclass
class MarkerData:
    """Marker trajectories.

    names: marker names, unique, in column order.
    positions: (T, M, 3) float64 metres in the lab frame of the source; NaN where a marker is missing.
    rate: frames per second (Hz).
    times: (T,) seconds. Default: ``frame_index / rate``.
    frame_numbers: (T,) int frame numbers as in the file. Default: 1..T.
    source: the file the data came from, if any.
    meta: what the reader recorded: units, header, zero_gaps (samples at exactly (0, 0, 0) read as NaN).
    """

    names: list[str]
    positions: np.ndarray
    rate: float
    times: np.ndarray | None = None
    frame_numbers: np.ndarray | None = None
    source: Path | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        self.positions = np.asarray(self.positions, dtype=np.float64)
        where = f"MarkerData{f' from {self.source}' if self.source else ''}"
        if self.positions.ndim != 3 or self.positions.shape[2] != 3:
            raise MotionIOError(f"{where}: positions must be (T, M, 3), got {self.positions.shape}")
        t, m, _ = self.positions.shape
        if len(self.names) != m:
            raise MotionIOError(f"{where}: {len(self.names)} names for {m} markers")
        _check_unique(self.names, where)
        if not (isinstance(self.rate, (int, float, np.floating, np.integer)) and math.isfinite(self.rate)
                and self.rate > 0):
            raise MotionIOError(f"{where}: rate must be a positive number of Hz, got {self.rate!r}")
        self.rate = float(self.rate)
        if self.times is None:
            self.times = np.arange(t, dtype=np.float64) / self.rate
        self.times = np.asarray(self.times, dtype=np.float64).reshape(-1)
        if self.times.shape != (t,):
            raise MotionIOError(f"{where}: times has {self.times.shape[0]} entries for {t} frames")
        if self.frame_numbers is None:
            self.frame_numbers = np.arange(1, t + 1, dtype=np.int64)
        self.frame_numbers = np.asarray(self.frame_numbers, dtype=np.int64).reshape(-1)
        if self.frame_numbers.shape != (t,):
            raise MotionIOError(f"{where}: frame_numbers has {self.frame_numbers.shape[0]} entries for {t} frames")
        if self.source is not None:
            self.source = Path(self.source)

    # -- shape ---------------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def n_markers(self) -> int:
        return self.positions.shape[1]

    @property
    def missing(self) -> np.ndarray:
        """(T, M) bool: True where a marker has no data in a frame."""
        return ~np.isfinite(self.positions).all(axis=2)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise MotionIOError(f"{self._where()}: no marker named {name!r}") from None

    def marker(self, name: str) -> np.ndarray:
        """(T, 3) metres of one marker."""
        return self.positions[:, self.index(name)]

    # -- selection -----------------------------------------------------------------------------
    def subset(self, names: Sequence[str], missing: str = "error") -> "MarkerData":
        """Markers ``names`` in that order.

        missing: 'error' raises MotionIOError listing names not in the data; 'nan' adds them as
        all-NaN columns (weight zero downstream); 'drop' leaves them out.
        """
        if missing not in ("error", "nan", "drop"):
            raise ValueError(f"missing must be 'error', 'nan' or 'drop', not {missing!r}")
        names = list(names)
        _check_unique(names, "requested marker names")
        absent = [n for n in names if n not in self.names]
        if absent and missing == "error":
            raise MotionIOError(
                f"{self._where()}: marker(s) not in the data: {', '.join(absent)}"
                f" (available: {', '.join(self.names)})"
            )
        if missing == "drop":
            names = [n for n in names if n not in absent]
        pos = np.full((self.n_frames, len(names), 3), np.nan)
        for j, n in enumerate(names):
            if n not in absent:
                pos[:, j] = self.positions[:, self.names.index(n)]
        return replace(self, names=names, positions=pos, meta=dict(self.meta))

    def rename(self, mapping: dict[str, str]) -> "MarkerData":
        """Rename markers (names not in ``mapping`` keep theirs); duplicates after renaming are an error."""
        return replace(self, names=[mapping.get(n, n) for n in self.names], positions=self.positions.copy(),
                       meta=dict(self.meta))

    def select_frames(self, frames: slice | Sequence[int] | np.ndarray) -> "MarkerData":
        """Frames by index (slice, index list or boolean mask)."""
        idx = np.arange(self.n_frames)[frames]
        return replace(self, positions=self.positions[idx].copy(), times=self.times[idx].copy(),
                       frame_numbers=self.frame_numbers[idx].copy(), meta=dict(self.meta))

    def time_range(self, start: float | None = None, end: float | None = None) -> "MarkerData":
        """Frames with ``start <= time <= end`` seconds (a tolerance of 1e-6 of a frame either side)."""
        eps = 1e-6 / self.rate
        keep = np.ones(self.n_frames, dtype=bool)
        if start is not None:
            keep &= self.times >= start - eps
        if end is not None:
            keep &= self.times <= end + eps
        if not keep.any():
            raise MotionIOError(
                f"{self._where()}: no frame in time range [{start}, {end}] s"
                f" (data covers {self.times[0]:.6g}..{self.times[-1]:.6g} s)"
            )
        return self.select_frames(keep)

    def resample(self, rate: float) -> "MarkerData":
        """Linear interpolation to ``rate`` Hz over the same time span.

        A new sample is NaN when either neighbouring original sample of that marker is NaN, so
        gaps are never bridged by interpolation.
        """
        if not (rate > 0 and math.isfinite(rate)):
            raise MotionIOError(f"resample: rate must be positive, got {rate!r}")
        if self.n_frames < 2:
            return replace(self, rate=float(rate), meta=dict(self.meta))
        t0, t1 = self.times[0], self.times[-1]
        n = int(math.floor((t1 - t0) * rate + 1e-6)) + 1
        new_t = t0 + np.arange(n) / rate
        src = self.times
        if np.any(np.diff(src) <= 0):
            raise MotionIOError(f"{self._where()}: times must increase strictly to resample")
        hi = np.clip(np.searchsorted(src, new_t, side="right"), 1, len(src) - 1)
        lo = hi - 1
        w = np.clip((new_t - src[lo]) / (src[hi] - src[lo]), 0.0, 1.0)[:, None, None]
        a, b = self.positions[lo], self.positions[hi]
        pos = (1.0 - w) * a + w * b
        # exact hits need only one side: don't let a NaN on the unused side spoil them
        pos = np.where(w == 0.0, a, np.where(w == 1.0, b, pos))
        return replace(self, positions=pos, rate=float(rate), times=new_t,
                       frame_numbers=np.arange(1, n + 1), meta=dict(self.meta))

    def _where(self) -> str:
        return str(self.source) if self.source else "marker data"


def _check_unique(names: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    dups = []
    for n in names:
        if n in seen and n not in dups:
            dups.append(n)
        seen.add(n)
    if dups:
        raise MotionIOError(f"{where}: duplicate marker name(s): {', '.join(dups)}")


def check_plausible_units(data: MarkerData, units: str) -> None:
    """Raise MotionIOError when the marker cloud's size says the units are wrong.

    Uses the median over frames of the per-frame bounding-box diagonal (frames with >= 3 visible
    markers). A human spans about 0.1-2.5 m; 1000x off means mm read as m or the reverse.
    """
    pos = data.positions
    vis = np.isfinite(pos).all(axis=2)
    spans = []
    for f in np.flatnonzero(vis.sum(axis=1) >= 3)[:: max(1, data.n_frames // 50)]:
        p = pos[f, vis[f]]
        spans.append(float(np.linalg.norm(p.max(axis=0) - p.min(axis=0))))
    if not spans:
        return
    span = float(np.median(spans))
    lo, hi = _PLAUSIBLE_SPAN_M
    if span == 0.0 or lo <= span <= hi:
        return
    guess = "mm" if span > hi else "m"
    raise MotionIOError(
        f"{data._where()}: Units header says {units!r} but the markers then span {span:.4g} m per frame "
        f"(a person spans about 0.1-2.5 m); the file is probably in {guess}. "
        f"Fix the Units field or force the unit (--units {guess} on the command line, "
        f"read_trc(..., units='{guess}') in Python)"
    )


def zero_gaps_to_nan(data: np.ndarray, names: Sequence[str], source) -> int:
    """Set samples at exactly (0, 0, 0) to NaN, in place, say which markers had them and return
    how many samples that was.

    data: (T, M, 3). Many exporters write a gap as zeros; read as a position, such a marker would
    pull IK and scaling toward the lab origin (Hamner's running trial has one for all 600 frames).
    OpenSim's tools read such a file's zeros as positions: give them a converted file (blank cells).
    """
    zero = (data == 0.0).all(axis=2)
    if zero.any():
        data[zero] = np.nan
        counts = zero.sum(axis=0)
        which = ", ".join(f"{names[i]} ({counts[i]} of {len(data)})" for i in np.flatnonzero(counts))
        log.info("%s: samples at exactly (0, 0, 0) read as missing: %s", source, which)
    return int(zero.sum())


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------

def _split(line: str) -> list[str]:
    line = line.rstrip("\r\n")
    return line.split("\t") if "\t" in line else line.split()


def read_trc(path: str | Path, units: str | None = None, check_units: bool = True) -> MarkerData:
    """Read a TRC file into :class:`MarkerData` (metres).

    units: force the file's length unit ('mm', 'cm', 'm'); default: the header's Units field.
    check_units: raise when the marker cloud's size contradicts the unit (see
        :func:`check_plausible_units`); pass False for non-human data.
    Missing values (blank cells, NaN, rows shorter than the header) become NaN. Duplicate marker
    names, non-numeric cells and a malformed header raise MotionIOError naming file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise MotionIOError(f"{path}: cannot read TRC file: {exc.strerror or exc}") from exc
    lines = text.splitlines()
    if len(lines) < 5:
        raise MotionIOError(f"{path}: not a TRC file (expected at least 5 header lines, found {len(lines)})")
    if not lines[0].startswith("PathFileType"):
        raise MotionIOError(f"{path}: line 1: expected a TRC header starting with 'PathFileType'")

    keys = [k.strip() for k in _split(lines[1])]
    vals = [v.strip() for v in _split(lines[2])]
    header = {k: v for k, v in zip(keys, vals) if k}
    for required in ("DataRate", "NumMarkers"):
        if required not in header:
            raise MotionIOError(f"{path}: line 2: header field {required!r} missing (found {', '.join(keys)})")
    try:
        rate = float(header["DataRate"])
    except ValueError:
        raise MotionIOError(f"{path}: line 3: DataRate {header['DataRate']!r} is not a number") from None
    if not (rate > 0 and math.isfinite(rate)):
        raise MotionIOError(f"{path}: line 3: DataRate must be positive Hz, got {header['DataRate']!r}")
    try:
        n_markers = int(float(header["NumMarkers"]))
    except ValueError:
        raise MotionIOError(f"{path}: line 3: NumMarkers {header['NumMarkers']!r} is not a number") from None

    file_units = header.get("Units", "")
    if units is None:
        if not file_units:
            raise MotionIOError(f"{path}: line 2: no 'Units' header field; pass units='mm'|'cm'|'m'")
        scale = unit_scale(file_units, f"{path}: line 3: Units")
        used_units = file_units
    else:
        scale = unit_scale(units, "units argument")
        used_units = units

    label_cells = _split(lines[3])
    if len(label_cells) < 2 or not label_cells[0].strip().lower().startswith("frame"):
        raise MotionIOError(f"{path}: line 4: expected 'Frame#<tab>Time<tab>marker names...'")
    names = [c.strip() for c in label_cells[2:] if c.strip()]
    if len(names) != n_markers:
        if len(names) < n_markers:
            raise MotionIOError(
                f"{path}: line 4: header says NumMarkers={n_markers} but {len(names)} marker names are given"
            )
        log.warning("%s: NumMarkers=%d but %d marker names; using the names", path, n_markers, len(names))
        n_markers = len(names)
    _check_unique(names, f"{path}: line 4")

    # Data starts after the X1 Y1 Z1 line and an optional blank line.
    start = 5
    while start < len(lines) and not lines[start].strip():
        start += 1
    ncol = 2 + 3 * n_markers
    frames, times, rows = [], [], []
    for lineno in range(start, len(lines)):
        raw = lines[lineno]
        if not raw.strip():
            continue
        cells = _split(raw)
        if len(cells) > ncol:
            extra = [c for c in cells[ncol:] if c.strip()]
            if extra:
                raise MotionIOError(
                    f"{path}: line {lineno + 1}: {len(cells)} columns, expected at most {ncol} "
                    f"(Frame#, Time and 3 per marker for {n_markers} markers)"
                )
            cells = cells[:ncol]
        cells = cells + [""] * (ncol - len(cells))
        row = np.empty(ncol, dtype=np.float64)
        for j, c in enumerate(cells):
            c = c.strip()
            if not c:
                row[j] = np.nan
                continue
            try:
                row[j] = float(c)
            except ValueError:
                col = "Frame#" if j == 0 else "Time" if j == 1 else f"{names[(j - 2) // 3]} {'XYZ'[(j - 2) % 3]}"
                raise MotionIOError(f"{path}: line {lineno + 1}, column {j + 1} ({col}): {c!r} is not a number") from None
        frames.append(row[0])
        times.append(row[1])
        rows.append(row[2:])
    if not rows:
        raise MotionIOError(f"{path}: no data rows after the header")
    data = np.asarray(rows).reshape(len(rows), n_markers, 3) * scale
    # as OpenSim: a marker with any component missing is missing as a whole
    data[~np.isfinite(data).all(axis=2)] = np.nan
    zero_gaps = zero_gaps_to_nan(data, names, path)
    frames_arr = np.asarray(frames)
    times_arr = np.asarray(times)
    if np.isnan(frames_arr).any():
        frames_arr = np.arange(1, len(rows) + 1, dtype=np.float64)
    if np.isnan(times_arr).any():
        # Some exporters leave Time blank: derive it from the frame numbers and the rate.
        times_arr = (frames_arr - frames_arr[0]) / rate
    n_declared = header.get("NumFrames", "").strip()
    if n_declared and n_declared.replace(".", "", 1).isdigit() and int(float(n_declared)) != len(rows):
        log.warning("%s: header says NumFrames=%s but %d rows were read", path, n_declared, len(rows))
    out = MarkerData(names=names, positions=data, rate=rate, times=times_arr,
                     frame_numbers=frames_arr.astype(np.int64), source=path,
                     meta={"units": used_units, "header": header, "zero_gaps": zero_gaps})
    if check_units:
        check_plausible_units(out, used_units)
    n_missing = int(out.missing.sum())
    if n_missing:
        log.debug("%s: %d missing marker samples read as NaN", path, n_missing)
    return out


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------

def _fmt(v: float, decimals: int) -> str:
    return "" if not math.isfinite(v) else f"{v:.{decimals}f}"


def write_trc(path: str | Path, data: MarkerData, units: str = "m", name: str | None = None) -> Path:
    """Write ``data`` as a TRC file OpenSim reads, atomically. Returns the path.

    units: 'm' (default), 'cm' or 'mm'. Missing samples (NaN) are written as blank cells, which
    OpenSim reads back as NaN. name: the file name the header records (default: ``path``'s; give
    the final name when ``path`` is a temporary).
    """
    path = Path(path)
    scale = unit_scale(units, "write_trc units")
    if data.n_frames == 0:
        raise MotionIOError(f"{path}: refusing to write a TRC with no frames")
    bad = [n for n in data.names if not n or any(ch in n for ch in "\t\r\n")]
    if bad:
        raise MotionIOError(f"{path}: marker names must be non-empty without tabs or line breaks: {bad}")
    decimals = {1.0: 7, 0.01: 5, 0.001: 4}.get(scale, 7)
    t, m = data.n_frames, data.n_markers
    rate = f"{data.rate:.6g}"
    out = [
        f"PathFileType\t4\t(X/Y/Z)\t{name or path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate}\t{rate}\t{t}\t{m}\t{units}\t{rate}\t{int(data.frame_numbers[0])}\t{t}",
        "Frame#\tTime\t" + "\t\t\t".join(data.names) + "\t\t",
        "\t\t" + "\t".join(f"{a}{i + 1}" for i in range(m) for a in "XYZ"),
        "",
    ]
    vals = data.positions / scale
    for f in range(t):
        cells = [str(int(data.frame_numbers[f])), f"{data.times[f]:.8f}"]
        cells.extend(_fmt(v, decimals) for v in vals[f].reshape(-1))
        # trailing tab: OpenSim's tokenizer drops a final empty cell, so a blank last marker needs it
        out.append("\t".join(cells) + "\t")
    atomic_write_text(path, "\n".join(out) + "\n")
    return path
