"""The clothing and material library: ``blender_assets/manifest.yaml`` and clothing regions.

Extenders add entries (and image files) to the manifest, not code. A garment type is a list of
region rules over the body-part vocabulary shared by every topology::

    short_sleeve:
      regions:
        - {part: torso}
        - {part: upperarm, to: 0.5}      # both sides; limb_coord in [0, 0.5]
      textures: [solid, stripes, checks, print_dots, camo]
      licence: "Apache-2.0 (odah project)"

A rule selects the vertices of ``part`` (``upperarm`` means ``upperarm_l`` and ``upperarm_r``)
whose ``limb_coord`` lies in ``[from, to]``, optionally only on the ``front`` or ``back`` of the
body. A face belongs to a garment when at least two of its vertices do; where garments overlap,
later slots win (headwear < upper < lower < shoes). So clothing follows any topology that carries
part labels and limb coordinates.

Loading validates every entry: an unknown part, texture, kind or palette, a texture image that is
missing, or fewer than 5 textures for a type is a :class:`~pipeline.errors.SceneError` naming the
clip, the manifest and the entry.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import PROJECT_ROOT
from ..body.mesh import BODY_PARTS, MeshSequence
from ..errors import SceneError
from ..io_utils import read_document
from .spec import SLOTS, TEXTURE_KINDS, ClothingSpec, MaterialSpec

DEFAULT_MANIFEST = PROJECT_ROOT / "blender_assets" / "manifest.yaml"
MIN_TEXTURES_PER_TYPE = 5
#: Face region codes of :func:`face_regions`: 0 is skin, then one per clothing slot.
REGION_NAMES = ("skin",) + SLOTS


def srgb_to_linear(c) -> list[float]:
    """sRGB (0..1) -> linear RGB (0..1), the IEC 61966-2-1 transfer function."""
    c = np.asarray(c, float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).tolist()


def parse_color(text: Any, where: str) -> list[float]:
    """``"#rrggbb"`` (sRGB) -> linear RGB list."""
    if not (isinstance(text, str) and len(text) == 7 and text[0] == "#"):
        raise SceneError(f"{where}: expected a colour like '#1a2b3c', got {text!r}")
    try:
        rgb = [int(text[i:i + 2], 16) / 255.0 for i in (1, 3, 5)]
    except ValueError:
        raise SceneError(f"{where}: expected a colour like '#1a2b3c', got {text!r}") from None
    return srgb_to_linear(rgb)


@dataclass(frozen=True)
class RegionRule:
    parts: tuple[int, ...]  # indices into BODY_PARTS
    lo: float = 0.0
    hi: float = 1.0
    side: str = "any"  # any | front | back


@dataclass
class TextureEntry:
    id: str
    kind: str
    colors: int
    palette: str
    scale: tuple[float, float]
    rotation: tuple[float, float]
    roughness: tuple[float, float]
    image: Path | None
    licence: str


@dataclass
class GarmentType:
    slot: str
    id: str
    regions: list[RegionRule]
    textures: list[str]
    offset: tuple[float, float] | None
    weight: float
    licence: str


@dataclass
class SkinTone:
    id: str
    color: list[float]  # linear RGB
    licence: str


@dataclass
class Manifest:
    """The validated clothing and material library."""

    path: Path
    licence: str
    palettes: dict[str, list[list[float]]]
    random_palettes: dict[str, dict[str, tuple[float, float]]]
    textures: dict[str, TextureEntry]
    types: dict[str, dict[str, GarmentType]]
    skin_tones: list[SkinTone]
    floors: list[str]
    walls: list[str]

    @property
    def root(self) -> Path:
        return self.path.parent

    def garment(self, slot: str, type_id: str, clip: str = "") -> GarmentType:
        """The manifest entry of ``type_id`` in ``slot``; an unknown type names the clip and entry."""
        types = self.types.get(slot, {})
        if type_id not in types:
            who = f"clip '{clip}': " if clip else ""
            raise SceneError(
                f"{who}clothing.{slot}: unknown clothing type '{type_id}' (not in {self.path}; "
                f"{slot} types: {', '.join(types) or 'none'})"
            )
        return types[type_id]

    def texture(self, tex_id: str, where: str) -> TextureEntry:
        if tex_id not in self.textures:
            raise SceneError(f"{where}: unknown texture '{tex_id}' (not under 'textures' in {self.path})")
        return self.textures[tex_id]

    def image_path(self, material: MaterialSpec) -> Path | None:
        return (self.root / material.image) if material.image else None

    def check_spec(self, clothing: ClothingSpec, clip: str = "") -> None:
        """Every type and texture the spec names exists, and so do its image files."""
        who = f"clip '{clip}': " if clip else ""
        for slot in SLOTS:
            g = clothing.slot(slot)
            entry = self.garment(slot, g.type, clip)
            if g.material is not None:
                if g.material.texture not in entry.textures:
                    raise SceneError(f"{who}clothing.{slot}: texture '{g.material.texture}' is not one of "
                                     f"{slot}.{g.type}'s textures in {self.path}")
                self._check_image(g.material, f"{who}clothing.{slot}.material")
        if clothing.skin_tone not in {t.id for t in self.skin_tones}:
            raise SceneError(f"{who}clothing.skin_tone: unknown skin tone '{clothing.skin_tone}' (not in {self.path})")

    def _check_image(self, material: MaterialSpec, where: str) -> None:
        p = self.image_path(material)
        if p is not None and not p.is_file():
            raise SceneError(f"{where}: texture image {p} not found")


# --- loading ------------------------------------------------------------------------------------


def _expand_part(name: Any, where: str) -> tuple[int, ...]:
    if not isinstance(name, str):
        raise SceneError(f"{where}: 'part' must be a body-part name, got {name!r}")
    if name in BODY_PARTS:
        return (BODY_PARTS.index(name),)
    both = (f"{name}_l", f"{name}_r")
    if all(b in BODY_PARTS for b in both):
        return tuple(BODY_PARTS.index(b) for b in both)
    raise SceneError(f"{where}: unknown body part '{name}' (known: {', '.join(BODY_PARTS)}; "
                     "or a limb name like 'upperarm' for both sides)")


def _pair(value: Any, where: str, default: tuple[float, float]) -> tuple[float, float]:
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), float(value)
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value) and value[0] <= value[1]):
        return float(value[0]), float(value[1])
    raise SceneError(f"{where}: expected a number or a range [low, high], got {value!r}")


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise SceneError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def load_manifest(path: str | Path | None = None, clip: str = "") -> Manifest:
    """Load and validate the manifest (default: the shipped one).

    ``clip`` names the clip in error messages.
    """
    path = Path(path) if path else DEFAULT_MANIFEST
    who = f"clip '{clip}': " if clip else ""
    data = read_document(path, SceneError, "the clothing manifest", prefix=who)
    where0 = f"{who}manifest {path}"
    data = _mapping(data, where0)
    known = {"version", "licence", "palettes", "random_palettes", "textures", "skin_tones", "room", *SLOTS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SceneError(f"{where0}: unknown top-level entry '{unknown[0]}' (known: {', '.join(sorted(known))})")
    if data.get("version") != 1:
        raise SceneError(f"{where0}: entry 'version' must be 1, got {data.get('version')!r}")
    licence = str(data.get("licence", ""))

    palettes: dict[str, list[list[float]]] = {}
    for name, cols in _mapping(data.get("palettes", {}), f"{where0} entry palettes").items():
        if not isinstance(cols, list) or not cols:
            raise SceneError(f"{where0} entry palettes.{name}: expected a non-empty list of colours")
        palettes[name] = [parse_color(c, f"{where0} entry palettes.{name}[{i}]") for i, c in enumerate(cols)]
    random_palettes: dict[str, dict[str, tuple[float, float]]] = {}
    for name, spec in _mapping(data.get("random_palettes", {}), f"{where0} entry random_palettes").items():
        w = f"{where0} entry random_palettes.{name}"
        spec = _mapping(spec, w)
        random_palettes[name] = {k: _pair(spec.get(k), f"{w}.{k}", d)
                                 for k, d in (("hue", (0.0, 1.0)), ("saturation", (0.2, 0.8)), ("value", (0.2, 0.9)))}
    if set(palettes) & set(random_palettes):
        raise SceneError(f"{where0}: palette name(s) {sorted(set(palettes) & set(random_palettes))} defined twice")

    textures: dict[str, TextureEntry] = {}
    for tid, t in _mapping(data.get("textures", {}), f"{where0} entry textures").items():
        w = f"{where0} entry textures.{tid}"
        t = _mapping(t, w)
        bad = sorted(set(t) - {"kind", "colors", "palette", "scale", "rotation", "roughness", "image", "licence"})
        if bad:
            raise SceneError(f"{w}: unknown key '{bad[0]}'")
        kind = t.get("kind")
        if kind not in TEXTURE_KINDS:
            raise SceneError(f"{w}: kind must be one of {', '.join(TEXTURE_KINDS)}, got {kind!r}")
        ncol = t.get("colors", 1)
        if not isinstance(ncol, int) or not 1 <= ncol <= 4:
            raise SceneError(f"{w}: colors must be 1 to 4, got {ncol!r}")
        pal = t.get("palette", "garment")
        if pal not in palettes and pal not in random_palettes:
            raise SceneError(f"{w}: unknown palette '{pal}'")
        image = None
        if kind == "image":
            if not t.get("image"):
                raise SceneError(f"{w}: a texture of kind 'image' needs an 'image' file")
            image = Path(str(t["image"]))
            if image.is_absolute() or ".." in image.parts:
                raise SceneError(f"{w}: image must be a path inside {path.parent}, got {image}")
            if not (path.parent / image).is_file():
                raise SceneError(f"{w}: texture image {path.parent / image} not found")
        if not t.get("licence") and not licence:
            raise SceneError(f"{w}: no licence (give 'licence' here or at the top of the manifest)")
        textures[tid] = TextureEntry(
            id=tid, kind=kind, colors=ncol, palette=pal,
            scale=_pair(t.get("scale"), f"{w}.scale", (10.0, 10.0)),
            rotation=_pair(t.get("rotation"), f"{w}.rotation", (0.0, 0.0)),
            roughness=_pair(t.get("roughness"), f"{w}.roughness", (0.5, 0.8)),
            image=image, licence=str(t.get("licence", licence)),
        )

    types: dict[str, dict[str, GarmentType]] = {}
    for slot in SLOTS:
        entries = _mapping(data.get(slot, {}), f"{where0} entry {slot}")
        if not entries:
            raise SceneError(f"{where0}: entry '{slot}' lists no types")
        types[slot] = {}
        for gid, g in entries.items():
            w = f"{where0} entry {slot}.{gid}"
            g = _mapping(g, w)
            bad = sorted(set(g) - {"regions", "textures", "offset", "weight", "licence"})
            if bad:
                raise SceneError(f"{w}: unknown key '{bad[0]}'")
            rules = []
            for i, r in enumerate(g.get("regions") or []):
                rw = f"{w}.regions[{i}]"
                r = _mapping(r, rw)
                bad = sorted(set(r) - {"part", "from", "to", "side"})
                if bad:
                    raise SceneError(f"{rw}: unknown key '{bad[0]}' (known: part, from, to, side)")
                lo, hi = float(r.get("from", 0.0)), float(r.get("to", 1.0))
                if not 0.0 <= lo <= hi <= 1.0:
                    raise SceneError(f"{rw}: need 0 <= from <= to <= 1, got from={lo}, to={hi}")
                side = r.get("side", "any")
                if side not in ("any", "front", "back"):
                    raise SceneError(f"{rw}: side must be any, front or back, got {side!r}")
                rules.append(RegionRule(_expand_part(r.get("part"), rw), lo, hi, side))
            tex = list(g.get("textures") or [])
            if rules:
                if len(tex) < MIN_TEXTURES_PER_TYPE:
                    raise SceneError(f"{w}: needs at least {MIN_TEXTURES_PER_TYPE} textures, has {len(tex)}")
                for tid in tex:
                    if tid not in textures:
                        raise SceneError(f"{w}: texture '{tid}' is not defined under 'textures'")
            weight = g.get("weight", 1.0)
            if not isinstance(weight, (int, float)) or weight < 0:
                raise SceneError(f"{w}: weight must be a number >= 0, got {weight!r}")
            if not g.get("licence") and not licence:
                raise SceneError(f"{w}: no licence (give 'licence' here or at the top of the manifest)")
            types[slot][gid] = GarmentType(
                slot=slot, id=gid, regions=rules, textures=tex,
                offset=_pair(g["offset"], f"{w}.offset", (0.0, 0.0)) if "offset" in g else None,
                weight=float(weight), licence=str(g.get("licence", licence)),
            )
        if sum(t.weight for t in types[slot].values()) <= 0:
            raise SceneError(f"{where0} entry {slot}: all weights are zero")

    skin = []
    for i, s in enumerate(data.get("skin_tones") or []):
        w = f"{where0} entry skin_tones[{i}]"
        s = _mapping(s, w)
        if not isinstance(s.get("id"), str):
            raise SceneError(f"{w}: needs an 'id'")
        skin.append(SkinTone(s["id"], parse_color(s.get("color"), f"{w}.color"), str(s.get("licence", licence))))
    if not skin:
        raise SceneError(f"{where0}: entry 'skin_tones' lists no tones")

    room = _mapping(data.get("room", {}), f"{where0} entry room")
    floors, walls = list(room.get("floor") or []), list(room.get("wall") or [])
    for key, ids in (("floor", floors), ("wall", walls)):
        if not ids:
            raise SceneError(f"{where0} entry room.{key}: lists no textures")
        for tid in ids:
            if tid not in textures:
                raise SceneError(f"{where0} entry room.{key}: texture '{tid}' is not defined under 'textures'")
    return Manifest(path=path, licence=licence, palettes=palettes, random_palettes=random_palettes,
                    textures=textures, types=types, skin_tones=skin, floors=floors, walls=walls)


# --- sampling a material --------------------------------------------------------------------------


def sample_material(rng: np.random.Generator, manifest: Manifest, tex_id: str, where: str = "") -> MaterialSpec:
    """Draw colours and parameters of texture ``tex_id``."""
    t = manifest.texture(tex_id, where or f"texture {tex_id}")
    if t.palette in manifest.palettes:
        pal = manifest.palettes[t.palette]
        idx = rng.choice(len(pal), size=t.colors, replace=len(pal) < t.colors)
        colors = [list(map(float, pal[i])) for i in idx]
    else:
        rp = manifest.random_palettes[t.palette]
        colors = []
        for _ in range(t.colors):
            hsv = [rng.uniform(*rp["hue"]), rng.uniform(*rp["saturation"]), rng.uniform(*rp["value"])]
            colors.append(srgb_to_linear(colorsys.hsv_to_rgb(*hsv)))
    return MaterialSpec(
        texture=tex_id, kind=t.kind, colors=colors,
        scale=float(rng.uniform(*t.scale)), rotation_deg=float(rng.uniform(*t.rotation)),
        roughness=float(rng.uniform(*t.roughness)), image=str(t.image) if t.image else "",
    )


# --- regions ------------------------------------------------------------------------------------


def _front_sign(mesh: MeshSequence, part_mask: np.ndarray) -> np.ndarray:
    """+1 for vertices in front of their part's centroid (frame 0), -1 behind."""
    from .geometry import facing

    fwd = facing(mesh)[0]
    v0 = np.asarray(mesh.vertices[0], float)
    centre = v0[part_mask].mean(axis=0) if part_mask.any() else v0.mean(axis=0)
    return np.sign((v0 - centre) @ fwd)


def vertex_mask(mesh: MeshSequence, rules: list[RegionRule]) -> np.ndarray:
    """``(V,)`` bool: vertices any rule selects."""
    labels = np.asarray(mesh.part_labels)
    coord = np.asarray(mesh.limb_coord)
    out = np.zeros(len(labels), bool)
    for r in rules:
        sel = np.isin(labels, r.parts) & (coord >= r.lo) & (coord <= r.hi)
        if r.side != "any":
            sign = _front_sign(mesh, np.isin(labels, r.parts))
            sel &= sign > 0 if r.side == "front" else sign < 0
        out |= sel
    return out


def face_regions(mesh: MeshSequence, manifest: Manifest, clothing: ClothingSpec, clip: str = "") -> np.ndarray:
    """``(F,)`` int8 region per face: index into :data:`REGION_NAMES` (0 skin, then SLOTS)."""
    faces = np.asarray(mesh.faces)
    region = np.zeros(len(faces), np.int8)
    for k, slot in enumerate(SLOTS, start=1):
        entry = manifest.garment(slot, clothing.slot(slot).type, clip)
        if not entry.regions:
            continue
        vm = vertex_mask(mesh, entry.regions)
        region[vm[faces].sum(axis=1) >= 2] = k
    return region
