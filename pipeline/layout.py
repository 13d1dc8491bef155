"""Every output path of the pipeline, in one place.

The dataset contract (see DESIGN.md)::

    <root>/manifest.json
    <root>/subjects/<sid>/...      scaled .osim, scale factors, body parameters
    <root>/subjects/<sid>/motions/<mid>/...  markers .trc (motion, static), IK .mot, body mesh
    <root>/clips/<cid>/...         videos, masks, cameras, kinematics, labels, scene spec

Code never builds an output path by hand: it asks a :class:`Layout`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import TaskError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
VIEWS = ("front", "side")


def check_id(kind: str, value: str) -> str:
    """Subject and clip ids become folder names: letters, digits, '_', '.', '-' only."""
    if not _ID.match(value or ""):
        raise TaskError(f"{kind} id {value!r}: use letters, digits, '_', '.' and '-' (not starting with a symbol)")
    return value


def check_view(view: str) -> str:
    if view not in VIEWS:
        raise TaskError(f"view {view!r}: expected one of {', '.join(VIEWS)}")
    return view


@dataclass(frozen=True)
class SubjectPaths:
    """Files of one subject: ``<root>/subjects/<sid>/``."""

    dir: Path

    @property
    def scaled_osim(self) -> Path:
        return self.dir / "scaled.osim"

    @property
    def scale_factors(self) -> Path:
        """Per-body scale factors (JSON)."""
        return self.dir / "scales.json"

    @property
    def scale_report(self) -> Path:
        return self.dir / "scale_report.json"

    @property
    def body_params(self) -> Path:
        """Body-model shape parameters of the subject (npz)."""
        return self.dir / "body.npz"

    @property
    def config(self) -> Path:
        return self.dir / "config.yaml"


@dataclass(frozen=True)
class MotionPaths:
    """Files of one motion of a subject: ``<root>/subjects/<sid>/motions/<mid>/``."""

    dir: Path

    @property
    def source(self) -> Path:
        """The motion normalised from its source (npz)."""
        return self.dir / "source.npz"

    @property
    def markers_trc(self) -> Path:
        return self.dir / "markers.trc"

    @property
    def static_trc(self) -> Path:
        """Static trial of the motion's body (default pose of the model), when the source has one."""
        return self.dir / "static.trc"

    @property
    def static_mot(self) -> Path:
        """The known pose (coordinates, degrees) of the static trial."""
        return self.dir / "static.mot"

    @property
    def reference_mot(self) -> Path:
        """The coordinates that drove the body (library and .mot sources), as used (degrees)."""
        return self.dir / "reference.mot"

    @property
    def config(self) -> Path:
        return self.dir / "config.yaml"

    @property
    def ik_mot(self) -> Path:
        return self.dir / "ik.mot"

    @property
    def ik_report(self) -> Path:
        """Per-frame marker RMSE and max error of the IK (JSON)."""
        return self.dir / "ik_report.json"

    @property
    def body_fit(self) -> Path:
        """Fitted body mesh sequence (npz)."""
        return self.dir / "body_fit.npz"

    @property
    def keypoints(self) -> Path:
        """FK labels of the IK motion on the scaled model: joint centres + body COMs (npz)."""
        return self.dir / "keypoints3d.npz"


@dataclass(frozen=True)
class ClipPaths:
    """Files of one rendered clip: ``<root>/clips/<cid>/``."""

    dir: Path

    def video(self, view: str) -> Path:
        return self.dir / f"video_{check_view(view)}.mp4"

    def masks(self, view: str) -> Path:
        return self.dir / f"masks_{check_view(view)}.mp4"

    @property
    def videos(self) -> dict[str, Path]:
        """The clip's four videos by name: video_front, video_side, masks_front, masks_side."""
        return {**{f"video_{v}": self.video(v) for v in VIEWS}, **{f"masks_{v}": self.masks(v) for v in VIEWS}}

    def frames_dir(self, view: str) -> Path:
        """Scratch folder of rendered PNG frames before encoding."""
        return self.dir / "frames" / check_view(view)

    def mask_frames_dir(self, view: str) -> Path:
        """Scratch folder of rendered person-mask PNGs before encoding."""
        return self.dir / "frames" / f"mask_{check_view(view)}"

    @property
    def frames_root(self) -> Path:
        """All scratch frames of the clip; holds ``render_result.json`` once every frame is rendered."""
        return self.dir / "frames"

    @property
    def frames_result(self) -> Path:
        """What the render process reported (engine, device, timings) and the clip's frame count and
        rate (JSON); marks the frames complete."""
        return self.dir / "frames" / "render_result.json"

    @property
    def render_info(self) -> Path:
        """Engine, device, timings and checks of the clip's render and encode (JSON)."""
        return self.dir / "render_info.json"

    @property
    def blend(self) -> Path:
        """The built Blender scene (only with render.save_blend)."""
        return self.dir / "scene.blend"

    @property
    def blend_cache(self) -> Path:
        """The vertex animation (.pc2 point cache) the saved scene.blend reads."""
        return self.dir / "scene.pc2"

    @property
    def cameras(self) -> Path:
        return self.dir / "cameras.json"

    @property
    def kinematics(self) -> Path:
        return self.dir / "kinematics.mot"

    @property
    def scales(self) -> Path:
        return self.dir / "scales.json"

    @property
    def keypoints3d(self) -> Path:
        return self.dir / "keypoints3d.npz"

    @property
    def keypoints2d(self) -> Path:
        return self.dir / "keypoints2d.npz"

    @property
    def scene(self) -> Path:
        return self.dir / "scene.json"

    @property
    def render_log(self) -> Path:
        return self.dir / "render.log"

    @property
    def preview(self) -> Path:
        return self.dir / "preview.png"

    @property
    def config(self) -> Path:
        return self.dir / "config.yaml"


@dataclass(frozen=True)
class Layout:
    """Paths under one output root."""

    root: Path

    def __init__(self, root: str | Path):
        object.__setattr__(self, "root", Path(root))

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def config(self) -> Path:
        """The resolved config of the whole run."""
        return self.root / "config.yaml"

    @property
    def failures(self) -> Path:
        """Units that failed in a batch, with their error messages (JSON lines)."""
        return self.root / "failures.jsonl"

    @property
    def render_check_dir(self) -> Path:
        return self.root / "render_check"

    def subject(self, sid: str) -> SubjectPaths:
        return SubjectPaths(self.root / "subjects" / check_id("subject", sid))

    def motion(self, sid: str, mid: str) -> MotionPaths:
        return MotionPaths(self.subject(sid).dir / "motions" / check_id("motion", mid))

    def clip(self, cid: str) -> ClipPaths:
        return ClipPaths(self.root / "clips" / check_id("clip", cid))
