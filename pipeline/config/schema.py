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
    max_iterations: int = option(30, "Levenberg-Marquardt iterations per warm-start level (twice that for the "
                                 "coarsest, cold level)", min=1, max=10000)
    tolerance: float = option(1e-5, "A frame has converged when its largest coordinate step falls below this",
                              unit="rad or m", min=0.0)
    stride: int = option(16, "Warm start: solve every stride-th frame first, then every stride/4-th, ..., then "
                         "every frame, each level from its solved neighbours (1: all frames at once)", min=1)
    batch_frames: int = option(0, "Most frames solved together in one batch (0: no limit; lower it when "
                               "memory is short)", min=0)


@dataclass
class ScaleConfig:
    backend: str = option("torch", "Scaling method", choices=("torch", "opensim"))
    frames: int = option(20, "Frames of the trial used for torch scaling", min=1, max=100000)
    fit_marker_offsets: bool = option(True, "Also fit marker offsets (torch scaling): each marker's location on its "
                                      "body, near the model's; off only when the markers sit exactly where the "
                                      "model has them")
    marker_noise: float = option(0.02, "Expected RMS marker error (skin slide, placement) that torch scaling weighs "
                                 "its priors against: larger trusts the priors more", unit="m", min=0.001, max=0.2)
    mass: float = option(0.0, "Subject mass (0: the body model's in stage 1; odah scale keeps the scaled model's)", unit="kg", min=0.0, max=500.0)
    height: float = option(0.0, "Subject height (0: the body model's in stage 1; odah scale sizes from the markers)", unit="m", min=0.0, max=3.0)


@dataclass
class KinematicsConfig:
    model: str = option("generic", "OpenSim model: 'generic' (shipped) or a path to an .osim file")
    ik: IKConfig = field(default_factory=IKConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)


@dataclass
class BodyConfig:
    model: str = option("anny", "Body model used for virtual markers and rendering", choices=("anny", "smplx", "smplh", "smpl"))
    gender: str = option("auto", "SMPL-family gender; auto: the motion file's (AMASS), else neutral",
                         choices=("auto", "neutral", "male", "female"))
    num_betas: int = option(16, "Shape coefficients for SMPL-family models", min=1, max=400)
    shape: str = option(
        "sample", "Anny subject shape: sample (seeded by dataset.seed and the subject id), average, or fit "
        "(segment lengths of the OpenSim model)", choices=("sample", "average", "fit"))
    phenotypes: list[float] = option(
        default_factory=list, help="Explicit Anny phenotypes [gender, age, muscle, weight, height, proportions] "
        "in [0, 1] (overrides body.shape)", min=0.0, max=1.0, lengths=(0, 6))
    age_range: list[float] = option(default_factory=lambda: [6.0, 85.0], help="Ages sampled by body.shape=sample "
                                    "[youngest, oldest]", unit="years", min=0.0, max=90.0, lengths=(2,),
                                    increasing=True)
    dtype: str = option("float64", "Torch floating point type of the body model", choices=("float32", "float64"))
    device: str = option("cpu", "Torch device of the body model", choices=("cpu", "cuda"))


@dataclass
class MotionConfig:
    fps: float = option(60.0, "Target frame rate of every motion (resampled to this)", unit="Hz", min=1.0, max=1000.0)
    max_seconds: float = option(0.0, "Trim motions to at most this long (0: keep all)", unit="s", min=0.0)
    source: str = option("library:walking", "Motion source: an AMASS .npz, a .trc/.c3d, an OpenSim .mot/.sto, "
                         "library:NAME or anny:walk")
    marker_mapping: str = option("", "YAML mapping marker names of a .trc/.c3d to odah names (and its up axis)")
    up_axis: str = option("", "Vertical axis of a marker file's lab (empty: the mapping's, else y)", choices=("", "y", "z"))
    floor: bool = option(True, "Library/.mot motions on an Anny body: scale pelvis translations to the body and "
                         "put its lowest point on the floor")


@dataclass
class MarkersConfig:
    layout: str = option("", "Marker layout: a shipped topology name or a YAML (empty: the body model's)")
    normal_offset: float = option(-1.0, "Marker distance from the skin along the normal (negative: the layout's)",
                                  unit="m", min=-1.0, max=0.1)
    noise: float = option(0.0, "Gaussian noise added to virtual markers (std per axis)", unit="m", min=0.0, max=0.1)
    static: bool = option(True, "Also write a static trial (the body in the model's default pose) for scaling")


@dataclass
class RenderConfig:
    width: int = option(1080, "Frame width", unit="px", min=16, max=8192)
    height: int = option(720, "Frame height", unit="px", min=16, max=8192)
    fps: float = option(60.0, "Video frame rate", unit="Hz", min=1.0, max=1000.0)
    samples: int = option(8, "EEVEE anti-aliasing samples per pixel", min=1, max=1024)
    shadow_resolution: float = option(
        0.5, "EEVEE shadow map resolution scale (Blender's default is 1; 0.5 looks the same on these soft "
        "area-light shadows and renders about 10-15% faster on a CPU)", min=0.1, max=1.0)
    shadow_pool: int = option(
        0, "EEVEE shadow map memory; 0: automatic (128 MB at shadow_resolution <= 0.5, else 512, or 1024 above "
        "one megapixel). Too small drops shadows; the render then warns 'shadow pool overflowed'",
        unit="MB", choices=(0, 16, 32, 64, 128, 256, 512, 1024))
    shadow_rays: int = option(1, "EEVEE shadow rays per light and sample (more: smoother penumbrae, slower)",
                              min=1, max=4)
    shadow_steps: int = option(6, "EEVEE shadow map steps per shadow ray (more: more accurate soft shadows)",
                               min=1, max=16)
    device: str = option("auto", "Where EEVEE renders: auto (GPU when present), cpu or gpu", choices=("auto", "cpu", "gpu"))
    python: str = option("", "Interpreter with bpy; empty: the project's .venv-render")
    blender: str = option("", "A blender binary to use instead of the bpy interpreter")
    crf: int = option(18, "H264 constant rate factor (lower: better quality, larger files)", min=0, max=51)
    preset: str = option(
        "medium", "x264 speed preset",
        choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"),
    )
    timeout: float = option(
        1800.0, "A render process that finishes no frame for this long is killed", unit="s", min=1.0)
    mask_crf: int = option(12, "H264 constant rate factor of the person-mask videos", min=0, max=51)
    keep_frames: bool = option(False, "Keep the rendered PNG frames (clips/<cid>/frames/) after encoding")
    save_blend: bool = option(False, "Also save the built Blender scene as clips/<cid>/scene.blend (debugging)")


@dataclass
class SceneConfig:
    manifest: str = option("", "Clothing/material manifest (YAML); empty: the shipped blender_assets/manifest.yaml")
    focal_mm: float = option(33.0, "Camera focal length", unit="mm", min=1.0, max=1000.0)
    sensor_width_mm: float = option(36.0, "Camera sensor width", unit="mm", min=1.0, max=200.0)
    sensor_fit: str = option("HORIZONTAL", "Which sensor side spans the image", choices=("HORIZONTAL", "VERTICAL", "AUTO"))
    camera_height: float = option(1.1, "Mean camera height above the floor", unit="m", min=0.1, max=10.0)
    camera_height_jitter: float = option(0.1, "Camera height varies uniformly by +- this", unit="m", min=0.0, max=5.0)
    yaw_jitter_deg: float = option(8.0, "Camera azimuth varies by +- this around frontal/sagittal", unit="deg", min=0.0, max=90.0)
    aim_jitter: float = option(0.1, "Aim point varies by +- this (vertically) around the motion's centre", unit="m", min=0.0, max=2.0)
    lateral_jitter: float = option(0.25, "Camera shifts sideways by +- this", unit="m", min=0.0, max=5.0)
    distance_factor_min: float = option(1.0, "Camera distance: at least this times the tightest distance that keeps the motion in frame", min=1.0, max=10.0)
    distance_factor_max: float = option(1.2, "... and at most this times", min=1.0, max=10.0)
    frame_margin: float = option(0.05, "Fraction of the image half-size kept free around the person", min=0.0, max=0.9)
    min_distance: float = option(1.5, "Cameras are never closer to the motion's centre than this", unit="m", min=0.1, max=100.0)
    side_view: str = option("random", "Which side the sagittal camera films", choices=("right", "left", "random"))
    lights_min: int = option(2, "Fewest ceiling area lights", min=1, max=64)
    lights_max: int = option(6, "Most ceiling area lights", min=1, max=64)
    light_power_min: float = option(150.0, "Area light power, lowest", unit="W", min=0.0, max=1e6)
    light_power_max: float = option(600.0, "Area light power, highest", unit="W", min=0.0, max=1e6)
    light_size_min: float = option(0.5, "Area light side length, smallest", unit="m", min=0.01, max=20.0)
    light_size_max: float = option(1.5, "Area light side length, largest", unit="m", min=0.01, max=20.0)
    light_temperature_min: float = option(2700.0, "Area light colour temperature, lowest", unit="K", min=800.0, max=40000.0)
    light_temperature_max: float = option(6500.0, "Area light colour temperature, highest", unit="K", min=800.0, max=40000.0)
    room_margin_min: float = option(1.0, "Free floor between the walls and the motion or cameras, least", unit="m", min=0.1, max=100.0)
    room_margin_max: float = option(3.0, "... and most", unit="m", min=0.1, max=100.0)
    room_height_min: float = option(2.6, "Ceiling height, lowest", unit="m", min=2.0, max=50.0)
    room_height_max: float = option(3.4, "Ceiling height, highest", unit="m", min=2.0, max=50.0)
    ambient_min: float = option(0.05, "Ambient (world) light strength, lowest", min=0.0, max=10.0)
    ambient_max: float = option(0.3, "Ambient (world) light strength, highest", min=0.0, max=10.0)
    garment_offset_min: float = option(0.003, "Garments sit this far outside the skin, least", unit="m", min=0.0, max=0.1)
    garment_offset_max: float = option(0.010, "... and most", unit="m", min=0.0, max=0.1)


@dataclass
class DatasetConfig:
    seed: int = option(0, "Dataset seed; every unit's seed derives from (seed, unit id)", min=0)
    subjects: int = option(2, "Sampled Anny subjects; each performs every library/anny/.mot motion", min=0, max=100000)
    motions: list[str] = option(
        default_factory=lambda: ["library:walking", "library:squat"],
        help="Motion sources: library:NAME, anny:walk and .mot files are performed by every sampled subject; "
             "AMASS .npz and .trc/.c3d files form one subject per folder")
    splits: list[float] = option(
        default_factory=lambda: [0.75, 0.125, 0.125], min=0.0, max=1.0, lengths=(3,), positive_sum=True,
        help="Train/val/test proportions of the subjects, normalised to sum 1 (split by subject, seeded; "
             "train keeps at least one subject)")
    workers: int = option(1, "Luigi worker processes", min=1, max=1024)
    scheduler: str = option("", "Luigi central scheduler URL (empty: local scheduler)")


@dataclass
class Config:
    """The whole pipeline configuration."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    kinematics: KinematicsConfig = field(default_factory=KinematicsConfig)
    body: BodyConfig = field(default_factory=BodyConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    markers: MarkersConfig = field(default_factory=MarkersConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
