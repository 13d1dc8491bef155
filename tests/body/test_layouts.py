import numpy as np
import pytest

from pipeline import axes
from pipeline.body.landmarks import joint_alias_table
from pipeline.body.layouts import LAYOUT_DIR, ODAH_MARKERS, anny_landmark_vertices, load_layout, rigidity_weight
from pipeline.errors import MarkerLayoutError


# No published SMPL-family layout has a 5th metacarpal marker; the model's FI5 markers then go unused.
UNPUBLISHED_FOR_SMPL = {"LFI5", "RFI5"}


@pytest.mark.parametrize("name,V", [("anny", 13718), ("smplx", 10475), ("smplh", 6890), ("smpl", 6890)])
def test_shipped_layouts_cover_the_odah_marker_set(name, V):
    lay = load_layout(name, model_markers=ODAH_MARKERS)
    expected = set(ODAH_MARKERS) - (UNPUBLISHED_FOR_SMPL if name != "anny" else set())
    assert lay.num_vertices == V and sorted(lay.names) == sorted(expected)
    assert len(set(lay.vertex_ids.tolist())) == len(lay.names)  # one vertex per marker
    assert np.allclose(lay.offsets, 0.0095)


def test_layout_markers_are_markers_of_the_generic_model():
    from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
    from pipeline.kinematics.osim import load_osim

    names = load_osim(GENERIC_MODEL_PATH).marker_names
    assert sorted(names) == sorted(ODAH_MARKERS)
    for topo in ("anny", "smplx", "smplh"):
        load_layout(topo, model_markers=names)


def test_shipped_anny_layout_is_what_the_builder_makes(anny_body):
    ids, rigidity = anny_landmark_vertices(anny_body, with_rigidity=True)
    lay = load_layout("anny")
    assert {n: int(v) for n, v in zip(lay.names, lay.vertex_ids)} == ids
    assert all(rigidity[n] > 0.95 for n in ("C7", "T10", "LTHI", "RHEE"))
    assert all(rigidity[n] > 0.8 for n in ("LASI", "RPSI", "LKNM", "RANM", "RELB"))
    # weights follow rigidity: full from 0.9 up, a few % for skin that slides with the arm
    assert np.allclose(lay.weights, [rigidity_weight(rigidity[n]) for n in lay.names])
    w = lay.weight_map()
    assert all(w[n] == 1.0 for n in ("C7", "T10", "LTHI", "RHEE", "LTOE", "LKNM")) and w["RPSI"] > 0.9
    assert all(w[n] < 0.1 for n in ("LSHO", "RSHO", "LFRA", "RWRB"))


def test_rigidity_weight():
    assert rigidity_weight(1.0) == rigidity_weight(0.9) == 1.0
    assert rigidity_weight(0.8) == 0.25 and rigidity_weight(0.6) == 0.06
    assert rigidity_weight(0.0) == 0.01


def test_anny_markers_land_on_their_landmarks(anny_body):
    """Each Anny marker sits where the landmark is: side, height and depth relative to the skeleton."""
    lay = load_layout("anny")
    rest = anny_body.rest()
    v = axes.anny_to_opensim(rest.vertices[0].numpy())  # X anterior, Y up, Z right
    jn = axes.anny_to_opensim(rest.joints[0].numpy())
    j = {g: jn[anny_body.joint_index(n)] for g, n in joint_alias_table("anny").items()}
    p = {n: v[i] for n, i in zip(lay.names, lay.vertex_ids)}
    for S, s, sign in (("L", "l", -1), ("R", "r", 1)):
        lat = lambda m, joint: sign * (p[m][2] - j[joint][2])  # noqa: E731  (+: lateral of the joint)
        # knee: lateral/medial at knee height on the right leg
        assert lat(f"{S}KNE", f"knee_{s}") > 0.03 and abs(p[f"{S}KNE"][1] - j[f"knee_{s}"][1]) < 0.04
        assert lat(f"{S}KNM", f"knee_{s}") < -0.03 and abs(p[f"{S}KNM"][1] - j[f"knee_{s}"][1]) < 0.04
        assert lat(f"{S}ANK", f"ankle_{s}") > 0.02 and lat(f"{S}ANM", f"ankle_{s}") < -0.02
        assert lat(f"{S}THI", f"knee_{s}") > 0.02 and j[f"knee_{s}"][1] < p[f"{S}THI"][1] < j[f"hip_{s}"][1]
        assert lat(f"{S}TIB", f"ankle_{s}") > 0.0 and j[f"ankle_{s}"][1] < p[f"{S}TIB"][1] < j[f"knee_{s}"][1]
        # pelvis: ASIS anterior and above the hip joint, PSIS posterior and above
        assert p[f"{S}ASI"][0] > j[f"hip_{s}"][0] + 0.04 and p[f"{S}ASI"][1] > j[f"hip_{s}"][1] + 0.03
        assert p[f"{S}PSI"][0] < j[f"hip_{s}"][0] - 0.03 and p[f"{S}PSI"][1] > j[f"hip_{s}"][1] + 0.03
        assert sign * p[f"{S}ASI"][2] > sign * p[f"{S}PSI"][2] > 0
        # foot: heel posterior and low, toe anterior, MT5 lateral of the toe marker
        assert p[f"{S}HEE"][0] < j[f"ankle_{s}"][0] - 0.03 and p[f"{S}HEE"][1] < j[f"ankle_{s}"][1] - 0.02
        assert p[f"{S}TOE"][0] > j[f"ankle_{s}"][0] + 0.08
        assert sign * (p[f"{S}MT5"][2] - p[f"{S}TOE"][2]) > 0.02
        assert abs(p[f"{S}HEE"][1] - p[f"{S}TOE"][1]) < 0.03  # heel at the toe marker's height
        # arm: elbow epicondyles either side of the elbow, wrist markers either side of the wrist
        assert np.linalg.norm(p[f"{S}ELB"] - p[f"{S}ELM"]) > 0.04
        assert lat(f"{S}ELB", f"elbow_{s}") > lat(f"{S}ELM", f"elbow_{s}")
        assert np.linalg.norm(p[f"{S}WRA"] - j[f"thumb_{s}"]) < np.linalg.norm(p[f"{S}WRB"] - j[f"thumb_{s}"])
        assert np.linalg.norm(p[f"{S}FIN"] - j[f"finger_{s}"]) < 0.05
        assert np.linalg.norm(p[f"{S}FI5"] - j[f"pinky_{s}"]) < 0.05
        assert np.linalg.norm(p[f"{S}FI5"] - p[f"{S}FIN"]) > 0.03  # across the knuckles
        assert p[f"{S}SHO"][1] > j[f"shoulder_{s}"][1] + 0.02
        assert sign * p[f"{S}UPA"][2] > sign * j[f"shoulder_{s}"][2]
        # head: front markers anterior of back ones, above the eyes
        assert p[f"{S}FHD"][0] > p[f"{S}BHD"][0] + 0.1 and p[f"{S}FHD"][1] > j["head"][1] + 0.06
        assert sign * p[f"{S}FHD"][2] > 0.01
    # trunk: C7 posterior at the neck base, CLAV anterior below it, STRN below CLAV, T10 posterior
    assert p["C7"][0] < j["neck"][0] - 0.01 and abs(p["C7"][1] - j["neck"][1]) < 0.05
    assert p["CLAV"][0] > j["neck"][0] + 0.05 and p["CLAV"][1] < p["C7"][1]
    assert p["STRN"][1] < p["CLAV"][1] - 0.08 and p["STRN"][0] > j["neck"][0] + 0.05
    assert p["T10"][0] < j["neck"][0] - 0.02 and p["T10"][1] < p["C7"][1] - 0.15
    assert p["RBAK"][2] > 0.03 and p["RBAK"][0] < 0
    # left/right mirror images
    for name in ODAH_MARKERS:
        if name.startswith("L") and "R" + name[1:] in p:
            a, b = p[name], p["R" + name[1:]]
            assert np.allclose([a[0], a[1], -a[2]], b, atol=0.01), name


def test_bad_layouts_name_file_marker_and_field(tmp_path):
    def write(text):
        f = tmp_path / "bad.yaml"
        f.write_text(text)
        return f
    with pytest.raises(MarkerLayoutError, match=r"bad.yaml: marker 'LKNE': field 'vertex': 99999 is out of range"):
        load_layout(write("topology: smplx\nmarkers:\n  LKNE: {vertex: 99999}\n"))
    with pytest.raises(MarkerLayoutError, match=r"marker 'XYZ1': not a marker of the OpenSim model"):
        load_layout(write("topology: smplx\nmarkers:\n  XYZ1: {vertex: 3}\n"), model_markers=ODAH_MARKERS)
    with pytest.raises(MarkerLayoutError, match="missing field 'markers'"):
        load_layout(write("topology: anny\n"))
    with pytest.raises(MarkerLayoutError, match="field 'topology'"):
        load_layout(write("topology: mano\nmarkers: {A: 1}\n"))
    with pytest.raises(MarkerLayoutError, match="not valid YAML"):
        load_layout(write("topology: [\n"))
    with pytest.raises(MarkerLayoutError, match="body model is 'anny'"):
        load_layout("smplx", topology="anny")
    with pytest.raises(MarkerLayoutError, match="no such layout"):
        load_layout("nosuch")
    assert (LAYOUT_DIR / "smplx.yaml").exists()
