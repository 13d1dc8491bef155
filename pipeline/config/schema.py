"""The configuration schema: one dataclass per pipeline stage, all with defaults.

Each stage owns its section. Add a field with :func:`option`, giving a help text, the unit and
the allowed range; the loader validates types and ranges from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .fields import option


@dataclass
class PathsConfig:
    output_root: str = option("output", "Root folder of every output (subjects/, clips/, ...)")
    anny_cache: str = option(
        "", "Folder for the anny body-model cache (~790 MB); empty: $ANNY_CACHE_DIR or ~/.cache/anny"
    )
    smplx_models: str = option(
        "", "Folder holding the licensed SMPL-X/SMPL-H model files (never shipped); empty: none"
    )


@dataclass
class IKConfig:
    backend: str = option("torch", "IK solver", choices=("torch", "opensim"))
    device: str = option("cpu", "Torch device for the torch backend", choices=("cpu", "cuda"))
    dtype: str = option("float64", "Torch floating point type", choices=("float32", "float64"))
    max_iterations: int = option(30, "Gauss-Newton iterations per frame batch", min=1, max=10000)
    tolerance: float = option(1e-8, "Stop when the step norm falls below this", unit="rad", min=0.0)
    batch_frames: int = option(0, "Frames solved together (0: all at once)", min=0)


@dataclass
class ScaleConfig:
    backend: str = option("torch", "Scaling method", choices=("torch", "opensim"))
    frames: int = option(20, "Frames of the trial used for torch scaling", min=1, max=100000)
    fit_marker_offsets: bool = option(False, "Also fit marker offsets (torch scaling)")
    mass: float = option(0.0, "Subject mass (0: estimate from the body model)", unit="kg", min=0.0, max=500.0)
    height: float = option(0.0, "Subject height (0: estimate from markers)", unit="m", min=0.0, max=3.0)


@dataclass
class KinematicsConfig:
    model: str = option("generic", "OpenSim model: 'generic' (shipped) or a path to an .osim file")
    ik: IKConfig = field(default_factory=IKConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)


@dataclass
class BodyConfig:
    model: str = option("anny", "Body model used for virtual markers and rendering", choices=("anny", "smplx", "smplh", "smpl"))
    gender: str = option("neutral", "Body-model gender for SMPL-family models", choices=("neutral", "male", "female"))
    num_betas: int = option(16, "Shape coefficients for SMPL-family models", min=1, max=400)


@dataclass
class MotionConfig:
    fps: float = option(60.0, "Target frame rate of every motion (resampled to this)", unit="Hz", min=1.0, max=1000.0)
    max_seconds: float = option(0.0, "Trim motions to at most this long (0: keep all)", unit="s", min=0.0)


@dataclass
class RenderConfig:
    width: int = option(1080, "Frame width", unit="px", min=16, max=8192)
    height: int = option(720, "Frame height", unit="px", min=16, max=8192)
    fps: float = option(60.0, "Video frame rate", unit="Hz", min=1.0, max=1000.0)
    samples: int = option(8, "EEVEE anti-aliasing samples per pixel", min=1, max=1024)
    device: str = option("auto", "Where EEVEE renders: auto (GPU when present), cpu or gpu", choices=("auto", "cpu", "gpu"))
    python: str = option("", "Interpreter with bpy; empty: the project's .venv-render")
    blender: str = option("", "A blender binary to use instead of the bpy interpreter")
    crf: int = option(18, "H264 constant rate factor (lower: better quality, larger files)", min=0, max=51)
    preset: str = option(
        "medium", "x264 speed preset",
        choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"),
    )
    timeout: float = option(3600.0, "Seconds before a render process is killed", unit="s", min=1.0)


@dataclass
class DatasetConfig:
    seed: int = option(0, "Dataset seed; every unit's seed derives from (seed, unit id)", min=0)
    workers: int = option(1, "Luigi worker processes", min=1, max=1024)
    scheduler: str = option("", "Luigi central scheduler URL (empty: local scheduler)")


@dataclass
class Config:
    """The whole pipeline configuration."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    kinematics: KinematicsConfig = field(default_factory=KinematicsConfig)
    body: BodyConfig = field(default_factory=BodyConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
