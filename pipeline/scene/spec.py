"""The scene specification of one clip: JSON-serialisable dataclasses, saved as ``scene.json``.

Everything the renderer needs besides the body mesh: clothing, skin, hair or cap, shoes, the
room, the lights and the two cameras, plus the seed that produced them. The same spec renders the
same pixels. Positions are in OpenSim world axes (Y up, X forward), metres; colours are linear
RGB in [0, 1]; angles in degrees.

Load with :func:`load_spec` (or :meth:`SceneSpec.from_dict`): every field is type-checked and
range-checked, and an error names the file and the dotted field.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SceneError
from ..io_utils import atomic_write_text, read_document
from ..layout import VIEWS

SPEC_VERSION = 1
SENSOR_FITS = ("HORIZONTAL", "VERTICAL", "AUTO")
TEXTURE_KINDS = ("solid", "stripes", "checks", "denim", "noise", "image", "wood", "tiles")
#: Clothing slots, in the order later ones win where regions overlap (see ``clothing.face_regions``).
SLOTS = ("headwear", "upper", "lower", "shoes")


@dataclass
class MaterialSpec:
    """One texture instance: a manifest texture with its sampled colours and parameters."""

    texture: str  # manifest texture id, e.g. "stripes"
    kind: str  # one of TEXTURE_KINDS
    colors: list[list[float]]  # 1-3 linear RGB colours
    scale: float = 10.0  # pattern repeats per metre
    rotation_deg: float = 0.0  # pattern direction about the body's long axis
    roughness: float = 0.6
    image: str = ""  # image file, relative to the manifest's folder (kind "image")

    def _check(self, where: str) -> None:
        _choice(where + ".kind", self.kind, TEXTURE_KINDS)
        if not 1 <= len(self.colors) <= 4:
            raise SceneError(f"{where}.colors': expected 1 to 4 colours, got {len(self.colors)}")
        for i, c in enumerate(self.colors):
            _color(f"{where}.colors[{i}]", c)
        _range(where + ".scale", self.scale, 1e-3, 1e4)
        _range(where + ".roughness", self.roughness, 0.0, 1.0)
        if self.kind == "image" and not self.image:
            raise SceneError(f"{where}.image': a texture of kind 'image' needs an image file")


@dataclass
class GarmentSpec:
    """A piece of clothing (or hair, cap, shoes) in one slot."""

    type: str  # manifest type id in this slot, e.g. "short_sleeve"; "none" for nothing
    material: MaterialSpec | None = None
    offset: float = 0.005  # metres outside the skin along the vertex normals

    def _check(self, where: str) -> None:
        if self.type != "none" and self.material is None:
            raise SceneError(f"{where}.material': garment type '{self.type}' needs a material")
        if self.material is not None:
            self.material._check(where + ".material")
        _range(where + ".offset", self.offset, 0.0, 0.1)


@dataclass
class ClothingSpec:
    upper: GarmentSpec
    lower: GarmentSpec
    shoes: GarmentSpec
    headwear: GarmentSpec
    skin_tone: str
    skin_color: list[float]
    skin_roughness: float = 0.5

    def slot(self, name: str) -> GarmentSpec:
        return getattr(self, name)

    def _check(self, where: str) -> None:
        for s in SLOTS:
            self.slot(s)._check(f"{where}.{s}")
        _color(where + ".skin_color", self.skin_color)
        _range(where + ".skin_roughness", self.skin_roughness, 0.0, 1.0)


@dataclass
class RoomSpec:
    """A box room: floor at y = ``floor_height``, walls around ``center``, ceiling ``height`` above the floor."""

    center: list[float]  # (x, z) of the floor's centre, metres
    size: list[float]  # (extent along X, extent along Z), metres
    height: float  # ceiling above the floor, metres
    floor: MaterialSpec
    wall: MaterialSpec
    ceiling_color: list[float] = field(default_factory=lambda: [0.8, 0.8, 0.8])
    ambient_color: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    ambient_strength: float = 0.15
    floor_height: float = 0.0  # y of the floor (OpenSim world): the motion's lowest point

    def _check(self, where: str) -> None:
        _vec(where + ".center", self.center, 2)
        _vec(where + ".size", self.size, 2)
        for i, s in enumerate(self.size):
            _range(f"{where}.size[{i}]", s, 0.5, 1000.0)
        _range(where + ".height", self.height, 1.0, 100.0)
        self.floor._check(where + ".floor")
        self.wall._check(where + ".wall")
        _color(where + ".ceiling_color", self.ceiling_color)
        _color(where + ".ambient_color", self.ambient_color)
        _range(where + ".ambient_strength", self.ambient_strength, 0.0, 100.0)


@dataclass
class LightSpec:
    """A square area light on the ceiling, shining down."""

    location: list[float]  # OpenSim world, metres
    size: float  # side length, metres
    power: float  # watts
    temperature: float  # kelvin

    def _check(self, where: str) -> None:
        _vec(where + ".location", self.location, 3)
        _range(where + ".size", self.size, 1e-3, 100.0)
        _range(where + ".power", self.power, 0.0, 1e7)
        _range(where + ".temperature", self.temperature, 800.0, 40000.0)


@dataclass
class CameraSpec:
    """A static pinhole camera looking from ``location`` at ``look_at`` (no roll unless given).

    ``perturbation`` records how the sampler moved it from the nominal placement (yaw, height,
    lateral shift, distance and its factor over the tightest framing).
    """

    view: str  # "front" or "side"
    location: list[float]  # OpenSim world, metres
    look_at: list[float]  # OpenSim world, metres
    focal_mm: float = 33.0
    sensor_width_mm: float = 36.0
    sensor_fit: str = "HORIZONTAL"
    width: int = 1080
    height: int = 720
    roll_deg: float = 0.0
    clip_start: float = 0.05
    clip_end: float = 200.0
    perturbation: dict[str, float] = field(default_factory=dict)

    def _check(self, where: str) -> None:
        _choice(where + ".view", self.view, VIEWS)
        _vec(where + ".location", self.location, 3)
        _vec(where + ".look_at", self.look_at, 3)
        d = math.dist(self.location, self.look_at)
        if d < 1e-6:
            raise SceneError(f"{where}.look_at': equals the camera location")
        _range(where + ".focal_mm", self.focal_mm, 1.0, 1000.0)
        _range(where + ".sensor_width_mm", self.sensor_width_mm, 1.0, 200.0)
        _choice(where + ".sensor_fit", self.sensor_fit, SENSOR_FITS)
        _range(where + ".width", self.width, 8, 16384)
        _range(where + ".height", self.height, 8, 16384)
        _range(where + ".clip_start", self.clip_start, 1e-4, 10.0)
        if not self.clip_end > self.clip_start:
            raise SceneError(f"{where}.clip_end': must exceed clip_start ({self.clip_start})")


@dataclass
class SceneSpec:
    """Everything random about one clip's rendering."""

    clip_id: str
    seed: int  # the clip's seed (derived from dataset_seed and clip_id)
    dataset_seed: int
    clothing: ClothingSpec
    room: RoomSpec
    lights: list[LightSpec]
    cameras: dict[str, CameraSpec]
    version: int = SPEC_VERSION

    def validate(self, where: str = "scene") -> "SceneSpec":
        if self.version != SPEC_VERSION:
            raise SceneError(f"{where}: field 'version' is {self.version}; this odah reads version {SPEC_VERSION}")
        self.clothing._check(f"{where}: field 'clothing")
        self.room._check(f"{where}: field 'room")
        if not self.lights:
            raise SceneError(f"{where}: field 'lights': at least one light is needed")
        for i, light in enumerate(self.lights):
            light._check(f"{where}: field 'lights[{i}]")
        if sorted(self.cameras) != sorted(VIEWS):
            raise SceneError(f"{where}: field 'cameras': expected the views {list(VIEWS)}, got {sorted(self.cameras)}")
        for v, cam in self.cameras.items():
            cam._check(f"{where}: field 'cameras.{v}")
            if cam.view != v:
                raise SceneError(f"{where}: field 'cameras.{v}.view' says '{cam.view}'")
        sizes = {(c.width, c.height) for c in self.cameras.values()}
        if len(sizes) != 1:
            raise SceneError(f"{where}: field 'cameras': both views must share one resolution, got {sorted(sizes)}")
        return self

    @property
    def resolution(self) -> tuple[int, int]:
        cam = self.cameras[VIEWS[0]]
        return cam.width, cam.height

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Any, where: str = "scene") -> "SceneSpec":
        return _build(cls, data, where, "").validate(where)

    def save(self, path: str | Path) -> Path:
        self.validate(str(path))
        return atomic_write_text(path, self.to_json() + "\n")


def load_spec(path: str | Path) -> SceneSpec:
    """Read and validate a ``scene.json``; errors name the file and the field."""
    path = Path(path)
    data = read_document(path, SceneError, "the scene spec")
    return SceneSpec.from_dict(data, str(path))


# --- validation helpers -------------------------------------------------------------------------


def _field_err(where: str, key: str, msg: str) -> SceneError:
    return SceneError(f"{where}: field '{key}': {msg}")


def _build(tp: Any, value: Any, where: str, key: str) -> Any:
    """Build ``tp`` (dataclass, list, dict, scalar, optional) from JSON data, checking types."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _build(args[0], value, where, key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise _field_err(where, key or "<root>", f"expected an object, got {type(value).__name__}")
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise _field_err(where, _join(key, unknown[0]), f"unknown field (known: {', '.join(fields)})")
        kwargs = {}
        for name, f in fields.items():
            sub = _join(key, name)
            if name not in value:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise _field_err(where, sub, "missing")
                continue
            kwargs[name] = _build(hints[name], value[name], where, sub)
        return tp(**kwargs)
    if origin is list:
        if not isinstance(value, list):
            raise _field_err(where, key, f"expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        return [_build(item, v, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _field_err(where, key, f"expected an object, got {type(value).__name__}")
        _, item = typing.get_args(tp)
        return {str(k): _build(item, v, where, _join(key, str(k))) for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _field_err(where, key, f"expected a finite number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _field_err(where, key, f"expected an integer, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise _field_err(where, key, f"expected a string, got {value!r}")
        return value
    raise _field_err(where, key, f"unsupported type {tp!r}")  # pragma: no cover


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


def _range(where: str, value: float, lo: float, hi: float) -> None:
    if not (lo <= value <= hi):
        raise SceneError(f"{where}': {value} is outside [{lo}, {hi}]")


def _choice(where: str, value: str, choices) -> None:
    if value not in choices:
        raise SceneError(f"{where}': expected one of {', '.join(choices)}, got {value!r}")


def _vec(where: str, value: list[float], n: int) -> None:
    if len(value) != n:
        raise SceneError(f"{where}': expected {n} numbers, got {len(value)}")


def _color(where: str, value: list[float]) -> None:
    if len(value) != 3 or not all(0.0 <= c <= 1.0 for c in value):
        raise SceneError(f"{where}': expected 3 linear RGB values in [0, 1], got {value}")
