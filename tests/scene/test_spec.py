"""Scene spec: JSON round trip and validation errors naming the field."""

from __future__ import annotations

import json

import pytest

from pipeline.config import load_config
from pipeline.errors import SceneError
from pipeline.scene.sampling import sample_scene
from pipeline.scene.spec import SceneSpec, load_spec


@pytest.fixture(scope="module")
def spec(walker):
    mesh, _, _ = walker
    return sample_scene(mesh, load_config(None, ["render.width=96", "render.height=64"]), "clip_a")


def test_round_trip(spec, tmp_path):
    path = spec.save(tmp_path / "scene.json")
    again = load_spec(path)
    assert again == spec
    assert again.to_json() == spec.to_json()
    assert json.loads(path.read_text())["seed"] == spec.seed


@pytest.mark.parametrize("mutate, field, expect", [
    (lambda d: d["cameras"]["front"].__setitem__("focal_mm", "33"), "cameras.front.focal_mm", "expected a finite number"),
    (lambda d: d["cameras"]["side"].__setitem__("sensor_fit", "DIAGONAL"), "cameras.side.sensor_fit", "expected one of"),
    (lambda d: d["clothing"]["upper"]["material"].__setitem__("colors", [[2.0, 0, 0]]), "clothing.upper.material.colors[0]", "linear RGB"),
    (lambda d: d["room"].pop("height"), "room.height", "missing"),
    (lambda d: d["lights"][0].__setitem__("wattage", 5), "lights[0].wattage", "unknown field"),
    (lambda d: d.__setitem__("cameras", {"front": d["cameras"]["front"]}), "cameras", "expected the views"),
    (lambda d: d["lights"][0].__setitem__("temperature", 100.0), "lights[0].temperature", "outside"),
])
def test_bad_fields_are_named(spec, tmp_path, mutate, field, expect):
    data = spec.to_dict()
    mutate(data)
    path = tmp_path / "scene.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SceneError) as err:
        load_spec(path)
    msg = str(err.value)
    assert str(path) in msg and f"field '{field}'" in msg and expect in msg, msg


def test_not_json(tmp_path):
    p = tmp_path / "scene.json"
    p.write_text("{nope")
    with pytest.raises(SceneError, match="not valid JSON"):
        load_spec(p)


def test_from_dict_validates(spec):
    data = spec.to_dict()
    data["version"] = 99
    with pytest.raises(SceneError, match="version"):
        SceneSpec.from_dict(data)
