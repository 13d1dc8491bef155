"""Dataset planning and the manifest (no luigi here; see :mod:`pipeline.tasks.dataset`).

A dataset is a set of clips. Each clip is one (subject, motion) unit:

- ``library:NAME``, ``anny:walk`` and OpenSim ``.mot``/``.sto`` sources are performed by each of
  ``dataset.subjects`` sampled Anny subjects (``s000``, ``s001``, ...);
- AMASS ``.npz`` and ``.trc``/``.c3d`` files carry their own subject: files in the same folder
  (AMASS's layout: one folder per subject) belong to one subject named after the folder.

Every subject is scaled once, from its first motion. Splits are by subject, seeded.
"""

from __future__ import annotations

import json
import platform
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import config_to_dict
from .errors import ConfigError, TaskError
from .io_utils import atomic_write_text
from .layout import Layout

SPLITS = ("train", "val", "test")
_SAMPLED_KINDS = ("library", "anny_walk", "opensim")

#: Config keys that say how and where a dataset is built, never what it holds, so a run into an
#: existing dataset may change them (a cluster's machines differ in these): worker processes and
#: scheduler, folders of tools, caches and licensed model files, the render watchdog, debugging
#: leftovers beside the contract's files, and devices (a device changes results by rounding only;
#: render.device=auto already picks one per machine). Every other key changes the outputs.
EXECUTION_KEYS = frozenset({
    "dataset.workers", "dataset.scheduler",
    "paths.output_root", "paths.anny_cache", "paths.smplx_models",
    "render.python", "render.blender", "render.timeout", "render.keep_frames", "render.save_blend",
    "render.device", "kinematics.ik.device", "body.device",
})


@dataclass(frozen=True)
class Unit:
    """One clip: a subject performing a motion."""

    clip_id: str
    subject: str
    motion: str
    source: str
    scale_motion: str
    scale_source: str


def _safe_id(text: str) -> str:
    out = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._-")
    return out or "x"


def motion_id(source: str) -> str:
    """Folder-safe motion id of a source: ``library:walking`` -> ``walking``, a file -> its stem."""
    from .body.sources import parse_source

    spec = parse_source(source, check_exists=False)
    if spec.kind == "library":
        return _safe_id(spec.target)
    if spec.kind == "anny_walk":
        return "anny_walk"
    return _safe_id(Path(spec.target).stem)


def plan_units(cfg) -> list[Unit]:
    """The clips of the configured dataset, in a stable order.

    Raises:
        ConfigError: no motions, unknown source kinds or library motions, missing files, or motion
            and render frame rates that differ (the renderer does not resample).
    """
    from .body.motion_library import list_motions
    from .body.sources import parse_source
    from .errors import MotionSourceError

    d = cfg.dataset
    library = list_motions()
    if cfg.motion.fps != cfg.render.fps:
        raise ConfigError(f"config keys 'motion.fps' ({cfg.motion.fps:g}) and 'render.fps' ({cfg.render.fps:g}) "
                          "must be equal for a dataset: the videos show the motion's frames one to one")
    if not d.motions:
        raise ConfigError("config key 'dataset.motions': empty; give at least one motion source")
    by_subject: dict[str, list[tuple[str, str]]] = {}
    sampled = [f"s{i:03d}" for i in range(d.subjects)]
    for source in d.motions:
        try:
            spec = parse_source(source)
        except MotionSourceError as exc:
            raise ConfigError(f"config key 'dataset.motions': {exc}") from None
        if spec.kind == "library" and spec.target not in library:
            raise ConfigError(f"config key 'dataset.motions': {source!r}: no such library motion "
                              f"(library: {', '.join(library)})")
        mid = motion_id(source)
        if spec.kind in _SAMPLED_KINDS:
            if not sampled:
                raise ConfigError(f"config key 'dataset.subjects': 0, but {source!r} needs sampled subjects")
            subjects = sampled
        else:
            subjects = [_safe_id(Path(spec.target).resolve().parent.name)]
        for sid in subjects:
            motions = by_subject.setdefault(sid, [])
            if any(m == mid for m, _ in motions):
                raise ConfigError(f"config key 'dataset.motions': two motions of subject {sid} are both named "
                                  f"{mid!r}; rename one file")
            motions.append((mid, source))
    units = []
    for sid, motions in by_subject.items():
        scale_mid, scale_src = motions[0]
        for mid, src in motions:
            units.append(Unit(f"{sid}-{mid}", sid, mid, src, scale_mid, scale_src))
    return units


def assign_splits(subjects: list[str], fractions, seed: int) -> dict[str, str]:
    """Subject -> split, by a seeded shuffle; counts follow ``fractions`` (train gets the rest).

    With fewer subjects than splits, the first ones go to train, then test, then val.
    """
    fr = np.asarray(list(fractions), float)
    if fr.shape != (3,) or (fr < 0).any() or fr.sum() <= 0:
        raise ConfigError(f"config key 'dataset.splits': expected three non-negative fractions, got {list(fractions)}")
    fr = fr / fr.sum()
    subjects = sorted(subjects)
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5E1175])).permutation(len(subjects))
    n = len(subjects)
    n_val, n_test = (int(np.floor(fr[1] * n + 0.5)), int(np.floor(fr[2] * n + 0.5)))
    if n_val + n_test >= n:  # keep at least one training subject
        n_test = min(n_test, max(0, n - 1))
        n_val = min(n_val, max(0, n - 1 - n_test))
    names = ["test"] * n_test + ["val"] * n_val
    names = names + ["train"] * (n - len(names))
    return {subjects[i]: names[k] for k, i in enumerate(order)}


def _leaves(data: dict, prefix: str = "") -> dict:
    """Dotted key -> value of every leaf of a nested config dict."""
    out = {}
    for k, v in data.items():
        out.update(_leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def check_same_config(cfg, root: str | Path) -> None:
    """Refuse to build into ``root`` with settings other than those its ``config.yaml`` was built with.

    Finished work is skipped on a re-run, so other settings would mix two datasets under one
    manifest. Keys in :data:`EXECUTION_KEYS` may differ. No ``config.yaml``: a new dataset.

    Raises:
        ConfigError: the stored config differs, listing each key (old -> new) and the ways out.
        TaskError: the stored config cannot be read.
    """
    from .config import config_from_yaml

    path = Layout(root).config
    if not path.is_file():
        return
    try:
        old = _leaves(config_to_dict(config_from_yaml(path.read_text())))
    except (OSError, ConfigError) as exc:
        raise TaskError(f"{path}: cannot read the config this dataset was built with ({exc}); "
                        "build into a new --out") from None
    new = _leaves(config_to_dict(cfg))
    changed = [k for k in new if k not in EXECUTION_KEYS and old.get(k) != new[k]]
    if changed:
        diff = "; ".join(f"{k}: {old.get(k)!r} -> {new[k]!r}" for k in changed)
        raise ConfigError(f"{Layout(root).root}: this dataset was built with other settings ({diff}); its finished "
                          f"clips would be kept and mixed with new ones. Build into a new --out, or use the same "
                          f"settings (-c {path})")


def clip_files(layout: Layout, cid: str) -> dict[str, Path]:
    """Every file of the dataset contract for one clip."""
    c = layout.clip(cid)
    files = dict(c.videos)
    files.update(cameras=c.cameras, kinematics=c.kinematics, scales=c.scales, keypoints3d=c.keypoints3d,
                 keypoints2d=c.keypoints2d, scene=c.scene)
    return files


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("odah", "numpy", "torch", "opensim", "luigi", "anny", "smplx"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def build_manifest(cfg, root: str | Path, units: list[Unit], failures: dict[str, str] | None = None) -> dict:
    """The manifest of ``root`` as the files on disk show it (a clip is ``ok`` when all its files exist)."""
    layout = Layout(root)
    failures = failures or {}
    splits = assign_splits(sorted({u.subject for u in units}), cfg.dataset.splits, cfg.dataset.seed)
    clips, blender = [], None
    for u in units:
        files = clip_files(layout, u.clip_id)
        missing = [k for k, p in files.items() if not p.is_file()]
        scene = _read_json(layout.clip(u.clip_id).scene)
        info = _read_json(layout.clip(u.clip_id).render_info)
        blender = blender or info.get("blender")
        entry = dict(asdict(u), split=splits[u.subject], status="ok" if not missing else "failed",
                     seed=scene.get("seed"),
                     files={k: str(p.relative_to(layout.root)) for k, p in files.items()})
        if missing:
            entry["error"] = failures.get(u.clip_id) or f"missing outputs: {', '.join(missing)}"
        for key in ("frames", "fps", "width", "height"):
            if key in info:
                entry[key] = info[key]
        clips.append(entry)
    subjects = {}
    for sid in sorted(splits):
        sp = layout.subject(sid)
        scales = _read_json(sp.scale_factors)
        subjects[sid] = dict(split=splits[sid], scaled_model=str(sp.scaled_osim.relative_to(layout.root)),
                             scales=str(sp.scale_factors.relative_to(layout.root)),
                             height=scales.get("height"), mass=scales.get("mass"))
    versions = _versions()
    if blender:
        versions["blender"] = str(blender)
    ok = sum(c["status"] == "ok" for c in clips)
    return dict(
        format="odah-dataset/1", created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), versions=versions,
        seed=cfg.dataset.seed, config=config_to_dict(cfg),
        splits={s: sorted(k for k, v in splits.items() if v == s) for s in SPLITS},
        subjects=subjects, clips=clips, summary=dict(clips=len(clips), ok=ok, failed=len(clips) - ok),
    )


def write_manifest(manifest: dict, root: str | Path) -> Path:
    path = Layout(root).manifest
    atomic_write_text(path, json.dumps(manifest, indent=1) + "\n")
    return path


def check_unit_ids(units: list[Unit]) -> None:
    seen = set()
    for u in units:
        if u.clip_id in seen:
            raise TaskError(f"two clips share the id {u.clip_id!r}")
        seen.add(u.clip_id)
