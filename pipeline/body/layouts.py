"""Marker layouts: which body-mesh vertex carries each OpenSim marker, per body topology.

A layout is a YAML file in ``marker_layouts/`` (or any path)::

    topology: smplx            # anny | smplx | smplh | smpl
    num_vertices: 10475        # the topology's vertex count
    normal_offset: 0.0095      # metres along the surface normal (marker radius + skin), default
    markers:
      LKNE: {vertex: 3682, source: "..."}  # optional per marker: 'offset' (m), 'weight' (scaling/IK)

Every marker name must exist in the OpenSim model (the generic model by default), every vertex id
must lie in ``[0, num_vertices)``. SMPL-family layouts use published vertex ids (cited per marker
in the files); Anny's is built from Anny's own mesh by::

    python -m pipeline.body.layouts build-anny [--out marker_layouts/anny.yaml]

which places each marker with the landmark rays of :mod:`pipeline.body.landmarks`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import MarkerLayoutError
from ..io_utils import atomic_write_text, read_document

#: Shipped layouts, one per topology.
LAYOUT_DIR = Path(__file__).resolve().parents[2] / "marker_layouts"

#: SMPL and SMPL-H share one body topology (and so one layout).
SAME_TOPOLOGY = {"smpl": "smplh"}

#: Vertex counts of the supported topologies.
TOPOLOGY_VERTICES = {"anny": 13718, "smplx": 10475, "smplh": 6890, "smpl": 6890}

#: The fixed odah marker set (Plug-in Gait full body + medial markers + 5th metacarpal
#: heads), 49 names; the SMPL-family layouts lack LFI5/RFI5 (no published vertex).
ODAH_MARKERS: tuple[str, ...] = (
    "LFHD", "RFHD", "LBHD", "RBHD", "C7", "T10", "CLAV", "STRN", "RBAK", "LSHO", "RSHO",
    "LUPA", "RUPA", "LELB", "RELB", "LELM", "RELM", "LFRA", "RFRA", "LWRA", "RWRA", "LWRB", "RWRB",
    "LFIN", "RFIN", "LASI", "RASI", "LPSI", "RPSI", "LTHI", "RTHI", "LKNE", "RKNE", "LKNM", "RKNM",
    "LTIB", "RTIB", "LANK", "RANK", "LANM", "RANM", "LHEE", "RHEE", "LTOE", "RTOE", "LMT5", "RMT5",
    "LFI5", "RFI5",
)

DEFAULT_NORMAL_OFFSET = 0.0095


@dataclass
class Layout:
    """A validated marker layout.

    Attributes:
        topology: body topology name.
        num_vertices: vertex count of the topology.
        names: ``(M,)`` marker names, in file order.
        vertex_ids: ``(M,)`` int64 vertex indices.
        offsets: ``(M,)`` float64 metres along the outward vertex normal.
        path: the file it came from (or None).
        weights: ``(M,)`` scaling/IK weight of each marker (field ``weight``, default 1).
    """

    topology: str
    num_vertices: int
    names: list[str]
    vertex_ids: np.ndarray
    offsets: np.ndarray
    path: Path | None = None
    weights: np.ndarray | None = None

    def __post_init__(self):
        if self.weights is None:
            self.weights = np.ones(len(self.names))

    def subset(self, names: Sequence[str]) -> "Layout":
        idx = [self.names.index(n) for n in names]
        return Layout(self.topology, self.num_vertices, list(names), self.vertex_ids[idx], self.offsets[idx], self.path,
                      self.weights[idx])

    def weight_map(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(self.names, self.weights)}


def layout_path(name_or_path: str | Path) -> Path:
    """A shipped layout by topology name (``anny``, ``smplx``, ...) or a YAML path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    shipped = LAYOUT_DIR / f"{SAME_TOPOLOGY.get(str(name_or_path), name_or_path)}.yaml"
    if not shipped.exists():
        avail = ", ".join(sorted(q.stem for q in LAYOUT_DIR.glob("*.yaml")))
        raise MarkerLayoutError(f"marker layout {name_or_path!r}: no such layout (shipped: {avail}; or give a .yaml path)")
    return shipped


def load_layout(name_or_path: str | Path, model_markers: Sequence[str] | None = None,
                num_vertices: int | None = None, topology: str | None = None) -> Layout:
    """Read and validate a layout.

    Args:
        name_or_path: shipped layout name or YAML path.
        model_markers: marker names of the OpenSim model; every layout marker must be one.
        num_vertices: the body model's vertex count (default: from the file / topology).
        topology: the body model's topology; must match the file's when given.

    Raises:
        MarkerLayoutError naming the file, the marker and the field.
    """
    path = layout_path(name_or_path)
    data = read_document(path, MarkerLayoutError, "the marker layout")
    if not isinstance(data, dict):
        raise MarkerLayoutError(f"{path}: a marker layout is a mapping with 'topology' and 'markers'")
    for key in ("topology", "markers"):
        if key not in data:
            raise MarkerLayoutError(f"{path}: missing field '{key}'")
    topo = data["topology"]
    if topo not in TOPOLOGY_VERTICES:
        raise MarkerLayoutError(f"{path}: field 'topology': unknown topology {topo!r} "
                                f"(expected {', '.join(TOPOLOGY_VERTICES)})")
    if topology is not None and topology != topo and {topology, topo} != {"smpl", "smplh"}:
        raise MarkerLayoutError(f"{path}: layout is for topology {topo!r} but the body model is {topology!r}")
    nv = data.get("num_vertices", TOPOLOGY_VERTICES[topo])
    if not isinstance(nv, int) or nv <= 0:
        raise MarkerLayoutError(f"{path}: field 'num_vertices' must be a positive integer, got {nv!r}")
    if num_vertices is not None and num_vertices != nv:
        raise MarkerLayoutError(f"{path}: layout expects {nv} vertices but the body model has {num_vertices}")
    default_off = data.get("normal_offset", DEFAULT_NORMAL_OFFSET)
    if not isinstance(default_off, (int, float)) or not (-0.05 <= default_off <= 0.1):
        raise MarkerLayoutError(f"{path}: field 'normal_offset' must be a number of metres in [-0.05, 0.1], got {default_off!r}")
    markers = data["markers"]
    if not isinstance(markers, dict) or not markers:
        raise MarkerLayoutError(f"{path}: field 'markers' must be a non-empty mapping of marker name -> {{vertex: id}}")
    names, ids, offs, wts = [], [], [], []
    known = set(model_markers) if model_markers is not None else None
    for name, entry in markers.items():
        where = f"{path}: marker '{name}'"
        if isinstance(entry, int) and not isinstance(entry, bool):
            entry = {"vertex": entry}
        if not isinstance(entry, dict) or "vertex" not in entry:
            raise MarkerLayoutError(f"{where}: expected a mapping with field 'vertex'")
        vid = entry["vertex"]
        if not isinstance(vid, int) or isinstance(vid, bool):
            raise MarkerLayoutError(f"{where}: field 'vertex' must be an integer, got {vid!r}")
        if not 0 <= vid < nv:
            raise MarkerLayoutError(f"{where}: field 'vertex': {vid} is out of range for topology {topo} (0..{nv - 1})")
        off = entry.get("offset", default_off)
        if not isinstance(off, (int, float)) or not (-0.05 <= off <= 0.1):
            raise MarkerLayoutError(f"{where}: field 'offset' must be metres in [-0.05, 0.1], got {off!r}")
        wt = entry.get("weight", 1.0)
        if not isinstance(wt, (int, float)) or isinstance(wt, bool) or not (0 < wt <= 100):
            raise MarkerLayoutError(f"{where}: field 'weight' must be a positive number, got {wt!r}")
        if known is not None and name not in known:
            raise MarkerLayoutError(f"{where}: not a marker of the OpenSim model (it has {len(known)} markers, "
                                    f"e.g. {', '.join(sorted(known)[:5])})")
        names.append(str(name))
        ids.append(vid)
        offs.append(float(off))
        wts.append(float(wt))
    return Layout(topo, nv, names, np.asarray(ids, np.int64), np.asarray(offs, np.float64), path,
                  np.asarray(wts, np.float64))


# ---- building Anny's layout -----------------------------------------------------------------

def anny_landmark_vertices(model=None, with_rigidity: bool = False):
    """Vertex id of every odah marker on Anny's average rest mesh (see :mod:`pipeline.body.landmarks`).

    With ``with_rigidity``, also {marker: share of the vertex's skinning weight on the marker's bone}.
    """
    from .. import axes
    from .landmarks import joint_alias_table, locate_landmarks
    from .models.anny_model import AnnyBody

    model = model or AnnyBody()
    import torch

    with torch.no_grad():
        rest = model.rest()
    v = axes.apply(model.to_opensim_rotation, rest.vertices[0].double().cpu().numpy())
    j = axes.apply(model.to_opensim_rotation, rest.joints[0].double().cpu().numpy())
    joints = {g: j[model.joint_index(n)] for g, n in joint_alias_table("anny").items()}
    # Prefer skin that moves with the marker's bone in the generic OpenSim model.
    from ..kinematics.generic_model import GENERIC_MODEL_PATH
    from ..kinematics.osim import load_osim
    from .retarget import anny_marker_purity

    marker_bodies = {m.name: m.body for m in load_osim(GENERIC_MODEL_PATH).markers if m.name in ODAH_MARKERS}
    purity = anny_marker_purity(model, marker_bodies)
    ids = locate_landmarks(v, model.part_labels, joints, list(ODAH_MARKERS), faces=model.faces, purity=purity)
    if with_rigidity:
        return ids, {n: float(purity[n][i]) for n, i in ids.items()}
    return ids


def rigidity_weight(rigidity: float) -> float:
    """Scaling/IK weight of a virtual marker whose vertex gives ``rigidity`` of its skinning weight
    to the marker's OpenSim body.

    Under linear-blend skinning the skin follows the neighbouring segments by the rest,
    ``1 - rigidity``, so a marker's slide off its body grows in proportion; a least-squares weight
    is the inverse of the error's variance, hence ``((1 - PURITY_MIN) / (1 - rigidity))^2``,
    at most 1 (full weight from :data:`~pipeline.body.landmarks.PURITY_MIN` up), rounded to 2 digits.
    """
    from .landmarks import PURITY_MIN

    w = ((1.0 - PURITY_MIN) / max(1.0 - float(rigidity), 1e-9)) ** 2
    return float(min(1.0, max(0.01, round(w, 2))))


def build_anny_layout(out: str | Path = LAYOUT_DIR / "anny.yaml", model=None) -> Path:
    """Write Anny's layout YAML (atomically) and return its path."""
    from .landmarks import marker_landmarks

    ids, rigidity = anny_landmark_vertices(model, with_rigidity=True)
    table = marker_landmarks()
    lines = [
        "# odah marker layout for the Anny body (topology 'anny', anny 0.6 default mesh).",
        "# Generated by:  python -m pipeline.body.layouts build-anny",
        "# Each vertex is where a ray from Anny's rest skeleton (average phenotype) leaves the skin",
        "# of the named body part (pipeline/body/landmarks.py defines the rays), moved at most 4 cm",
        "# to skin that moves rigidly with the marker's bone in the generic OpenSim model (>= 90 % of",
        "# its skinning weight), as skin over bony landmarks does. tests/body/test_layouts.py checks",
        "# each marker lands on its landmark. Do not edit by hand: change the landmark definitions",
        "# and regenerate. 'rigidity': that share of skinning weight. Skin with low rigidity slides",
        "# with the neighbouring segment under linear-blend skinning (the acromion's follows the arm,",
        "# the forearm's the other forearm bone in pronation), so it counts less: 'weight' (scaling",
        "# and IK) is ((1 - 0.9) / (1 - rigidity))^2, at most 1 (layouts.rigidity_weight).",
        "topology: anny",
        f"num_vertices: {TOPOLOGY_VERTICES['anny']}",
        f"normal_offset: {DEFAULT_NORMAL_OFFSET}  # metres: 14 mm marker ball (7 mm) + base and skin",
        "markers:",
    ]
    for name in ODAH_MARKERS:
        lines.append(f"  {name}: {{vertex: {ids[name]}, rigidity: {rigidity[name]:.2f}, "
                     f"weight: {rigidity_weight(rigidity[name]):g}}}"
                     f"  # {table[name][0].description}")
    out = Path(out)
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipeline.body.layouts", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build-anny", help="regenerate Anny's layout from its mesh and skeleton")
    b.add_argument("--out", default=str(LAYOUT_DIR / "anny.yaml"), help="output YAML")
    c = sub.add_parser("check", help="validate layouts (default: every shipped one)")
    c.add_argument("layouts", nargs="*", help="layout names or YAML paths")
    args = p.parse_args(argv)
    if args.cmd == "build-anny":
        print(build_anny_layout(args.out))
        return 0
    names = args.layouts or sorted(q.stem for q in LAYOUT_DIR.glob("*.yaml"))
    for n in names:
        lay = load_layout(n)
        print(f"{lay.path}: {lay.topology}, {len(lay.names)} markers, ok")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
