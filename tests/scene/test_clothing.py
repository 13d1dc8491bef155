"""The clothing library: shipped manifest contents, validation errors, regions on a mesh."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
import yaml
from PIL import Image

from pipeline import PROJECT_ROOT
from pipeline.body.mesh import BODY_PARTS
from pipeline.errors import SceneError
from pipeline.scene.clothing import DEFAULT_MANIFEST, REGION_NAMES, face_regions, load_manifest, vertex_mask
from pipeline.scene.spec import ClothingSpec, GarmentSpec, MaterialSpec


def test_shipped_manifest_has_the_paper_types():
    m = load_manifest()
    assert {"vest", "short_sleeve", "three_quarter_sleeve", "long_sleeve"} <= set(m.types["upper"])
    assert {"shorts", "knee_length", "three_quarter", "trousers"} <= set(m.types["lower"])
    assert {"short_hair", "cap"} <= set(m.types["headwear"]) and m.types["shoes"]
    for slot, types in m.types.items():
        for t in types.values():
            assert t.licence, (slot, t.id)
            if t.regions:
                assert len(set(t.textures)) >= 5, (slot, t.id)
    kinds = {m.textures[t].kind for t in m.textures}
    assert {"solid", "stripes", "checks", "denim", "image"} <= kinds
    assert all(t.licence for t in m.textures.values())
    assert len(m.skin_tones) >= 6 and m.floors and m.walls


def test_print_images_are_reproducible_from_the_script():
    spec = importlib.util.spec_from_file_location("make_textures", PROJECT_ROOT / "blender_assets" / "make_textures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, fn in mod.PATTERNS.items():
        made = (np.clip(fn(), 0, 1) * 255).round().astype(np.uint8)
        with Image.open(PROJECT_ROOT / "blender_assets" / "textures" / f"{name}.png") as im:
            np.testing.assert_array_equal(np.asarray(im), made)


def _copy_manifest(tmp_path, edit):
    dst = tmp_path / "assets"
    shutil.copytree(DEFAULT_MANIFEST.parent, dst, ignore=shutil.ignore_patterns("*.py"))
    data = yaml.safe_load((dst / "manifest.yaml").read_text())
    edit(data)
    (dst / "manifest.yaml").write_text(yaml.safe_dump(data))
    return dst / "manifest.yaml"


def test_missing_texture_file_names_clip_and_entry(tmp_path):
    path = _copy_manifest(tmp_path, lambda d: d["textures"]["print_dots"].__setitem__("image", "textures/gone.png"))
    with pytest.raises(SceneError) as err:
        load_manifest(path, clip="walk_07")
    msg = str(err.value)
    assert "clip 'walk_07'" in msg and "textures.print_dots" in msg and "gone.png not found" in msg


def test_texture_file_deleted_after_sampling_is_caught(tmp_path, walker):
    path = _copy_manifest(tmp_path, lambda d: None)
    m = load_manifest(path)
    mat = MaterialSpec("print_dots", "image", [[0.1, 0.2, 0.3], [0.5, 0.5, 0.5]], image="textures/dots.png")
    clothing = _clothing(upper=GarmentSpec("vest", mat))
    m.check_spec(clothing, "c9")
    (path.parent / "textures" / "dots.png").unlink()
    with pytest.raises(SceneError, match=r"clip 'c9': clothing.upper.material: texture image .*dots.png not found"):
        m.check_spec(clothing, "c9")


def test_unknown_clothing_type_names_clip_and_entry():
    m = load_manifest()
    clothing = _clothing(upper=GarmentSpec("poncho", MaterialSpec("solid", "solid", [[0.5, 0.5, 0.5]])))
    with pytest.raises(SceneError) as err:
        m.check_spec(clothing, "walk_03")
    msg = str(err.value)
    assert "clip 'walk_03'" in msg and "clothing.upper" in msg and "unknown clothing type 'poncho'" in msg


@pytest.mark.parametrize("edit, expect", [
    (lambda d: d["upper"]["vest"]["regions"].append({"part": "tentacle"}), "upper.vest.regions[1]: unknown body part 'tentacle'"),
    (lambda d: d["upper"]["vest"].__setitem__("textures", ["solid", "stripes"]), "upper.vest: needs at least 5 textures"),
    (lambda d: d["upper"]["vest"]["textures"].append("velvet"), "upper.vest: texture 'velvet' is not defined"),
    (lambda d: d["textures"]["solid"].__setitem__("kind", "velvet"), "textures.solid: kind must be one of"),
    (lambda d: d["textures"]["solid"].__setitem__("palette", "nope"), "textures.solid: unknown palette 'nope'"),
    (lambda d: d["palettes"]["garment"].append("red"), "palettes.garment[16]: expected a colour"),
    (lambda d: d["lower"]["shorts"]["regions"][1].__setitem__("to", 1.5), "lower.shorts.regions[1]: need 0 <= from <= to <= 1"),
    (lambda d: d.pop("skin_tones"), "entry 'skin_tones' lists no tones"),
])
def test_bad_manifest_entries(tmp_path, edit, expect):
    path = _copy_manifest(tmp_path, edit)
    with pytest.raises(SceneError) as err:
        load_manifest(path, clip="c1")
    assert expect in str(err.value) and "clip 'c1'" in str(err.value), str(err.value)


def _clothing(**over) -> ClothingSpec:
    mat = MaterialSpec("solid", "solid", [[0.5, 0.5, 0.5]])
    shoe = MaterialSpec("shoe_solid", "solid", [[0.1, 0.1, 0.1]])
    base = dict(upper=GarmentSpec("short_sleeve", mat), lower=GarmentSpec("shorts", mat),
                shoes=GarmentSpec("trainers", shoe), headwear=GarmentSpec("none"))
    base.update(over)
    return ClothingSpec(**base, skin_tone="tone_03", skin_color=[0.5, 0.4, 0.3])


def test_regions_follow_part_labels_and_cut_lines(walker):
    mesh, _, _ = walker
    m = load_manifest()
    labels, coord = mesh.part_labels, mesh.limb_coord
    ua = np.isin(labels, [BODY_PARTS.index("upperarm_l"), BODY_PARTS.index("upperarm_r")])
    fa = np.isin(labels, [BODY_PARTS.index("forearm_l"), BODY_PARTS.index("forearm_r")])
    short = vertex_mask(mesh, m.types["upper"]["short_sleeve"].regions)
    long_ = vertex_mask(mesh, m.types["upper"]["long_sleeve"].regions)
    vest = vertex_mask(mesh, m.types["upper"]["vest"].regions)
    assert short[ua & (coord <= 0.5)].all() and not short[ua & (coord > 0.5)].any()
    assert not short[fa].any() and long_[fa & (coord <= 0.95)].all()
    assert not vest[ua].any() and vest[labels == BODY_PARTS.index("torso")].all()
    # Faces: majority vote, later slots win; short sleeves + shorts leave forearms and shanks as skin.
    reg = face_regions(mesh, m, _clothing())
    face_part = labels[mesh.faces[:, 0]]
    assert (reg[np.isin(face_part, [BODY_PARTS.index("forearm_l")])] == 0).all()
    assert (reg[face_part == BODY_PARTS.index("torso")] == REGION_NAMES.index("upper")).all()
    assert (reg[face_part == BODY_PARTS.index("foot_r")] == REGION_NAMES.index("shoes")).all()
    assert (reg[face_part == BODY_PARTS.index("head")] == 0).all()
    hair_mat = MaterialSpec("hair", "noise", [[0.1, 0.1, 0.1], [0.2, 0.1, 0.1]])
    hair = face_regions(mesh, m, _clothing(headwear=GarmentSpec("short_hair", hair_mat)))
    head = face_part == BODY_PARTS.index("head")
    assert 0 < (hair[head] == REGION_NAMES.index("headwear")).sum() < head.sum()


def test_regions_on_the_anny_topology():
    """The same manifest rules cut garments on a real body topology (Anny, with its part labels)."""
    import torch

    from pipeline.body.models.anny_model import AnnyBody

    body = AnnyBody(dtype=torch.float32)
    with torch.no_grad():
        mesh = body.mesh_sequence(body.rest().vertices, fps=30.0, name="anny")
    m = load_manifest()
    labels = mesh.part_labels
    area = {}
    for t in ("vest", "short_sleeve", "three_quarter_sleeve", "long_sleeve"):
        vm = vertex_mask(mesh, m.types["upper"][t].regions)
        area[t] = vm.sum()
        assert vm[labels == BODY_PARTS.index("torso")].all()
        assert not vm[labels == BODY_PARTS.index("hand_l")].any()
    assert area["vest"] < area["short_sleeve"] < area["three_quarter_sleeve"] < area["long_sleeve"]
    lower = [vertex_mask(mesh, m.types["lower"][t].regions).sum() for t in ("shorts", "knee_length", "three_quarter", "trousers")]
    assert lower == sorted(lower) and lower[0] > 0
    reg = face_regions(mesh, m, _clothing(headwear=GarmentSpec("cap", MaterialSpec("solid", "solid", [[0.1, 0.1, 0.5]]))))
    counts = np.bincount(reg, minlength=len(REGION_NAMES))
    assert (counts > 0).all(), dict(zip(REGION_NAMES, counts))  # skin, cap, shirt, shorts and shoes all present
