"""The .osim reader: what it reads from the golden models, and clear errors for what it cannot."""

import numpy as np
import pytest
from osim_zoo import zoo_osim

from pipeline.errors import KinematicsError
from pipeline.kinematics.functions import LinearFunction, MultiplierFunction, SimmSpline
from pipeline.kinematics.osim import load_marker_set, load_osim
from pipeline.kinematics.osim_writer import write_scaled_osim


def test_gait2354_generic(golden):
    m = load_osim(golden / "gait2354" / "gait2354_simbody.osim")
    assert m.name == "3DGaitModel2354" and m.ground == "ground"
    assert len(m.bodies) == 12 and len(m.joints) == 12 and len(m.coordinates) == 23
    assert m.coordinate_names[:6] == ["pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz"]
    assert m.marker_names == [] and m.constraints == []
    knee = m.joint("knee_r")
    assert knee.parent_body == "femur_r" and knee.child_body == "tibia_r"
    assert isinstance(knee.spatial_transform[3].function, SimmSpline)
    assert isinstance(knee.spatial_transform[0].function, LinearFunction)
    c = m.coordinate("knee_angle_r")
    assert c.motion_type == "rotational" and np.allclose(c.range, (-2.0943951, 0.17453293))
    assert m.coordinate("pelvis_ty").default_value == pytest.approx(0.95)
    assert m.coordinate("pelvis_tx").motion_type == "translational"
    assert m.body("pelvis").mass == pytest.approx(11.777)
    assert np.allclose(m.joint("ankle_r").parent.translation, [0, -0.43, 0])


def test_scaled_hamner_reads_multipliers_locks_and_markers(golden):
    m = load_osim(golden / "hamner" / "outputReference" / "subject02_registered.osim")
    assert len(m.coordinates) == 37 and len(m.bodies) == 20 and len(m.markers) == 46
    assert m.coordinate("subtalar_angle_r").locked and m.coordinate("knee_angle_r").clamped
    assert isinstance(m.joint("knee_r").spatial_transform[3].function, MultiplierFunction)
    mk = {x.name: x for x in m.markers}["Sternum"]
    assert mk.body == "torso" and mk.location.shape == (3,)


def test_marker_set_file_3x_format(golden):
    m = load_osim(golden / "gait2354" / "gait2354_simbody.osim")
    markers = load_marker_set(golden / "gait2354" / "gait2354_Scale_MarkerSet.xml", m)
    assert len(markers) > 30 and markers[0].name == "Sternum" and markers[0].body == "torso"
    m2 = m.with_markers(markers)
    assert m2.marker_names == [x.name for x in markers] and m.marker_names == []


def test_zoo_reads_every_joint_type(tmp_path):
    p = tmp_path / "zoo.osim"
    p.write_text(zoo_osim())
    m = load_osim(p)
    types = {j.type for j in m.joints}
    assert types == {"FreeJoint", "PinJoint", "UniversalJoint", "BallJoint", "GimbalJoint", "PlanarJoint",
                     "SliderJoint", "WeldJoint", "CustomJoint"}
    assert m.dependent_coordinates == ["c9_dep"]
    assert m.coordinate("j7_tx").locked and m.coordinate("c9_b").motion_type == "coupled"
    off = {x.name: x for x in m.markers}["m_off"]
    assert off.body == "b10" and len(off.frame.steps) == 1


def _broken(tmp_path, *pairs):
    text = zoo_osim()
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new, 1)
    p = tmp_path / "broken.osim"
    p.write_text(text)
    return p


@pytest.mark.parametrize("pairs,message", [
    ([("<PinJoint ", "<EllipsoidJoint "), ("</PinJoint>", "</EllipsoidJoint>")],
     r"unsupported joint type <EllipsoidJoint name='j2'>"),
    ([("<PolynomialFunction name=\"function\"><coefficients>0.3 -0.2 0.5 0.01</coefficients></PolynomialFunction>",
       "<GCVSpline name=\"function\"><x>0 1</x><y>0 1</y></GCVSpline>")],
     r"j10.*rotation1.*unsupported function <GCVSpline>"),
    ([("<CoordinateCouplerConstraint name=\"couple9\">", "<PointConstraint name=\"pc\">"),
      ("</CoordinateCouplerConstraint>", "</PointConstraint>")],
     r"unsupported constraint <PointConstraint name='pc'>"),
    ([("<socket_parent_frame>/bodyset/b3</socket_parent_frame>", "<socket_parent_frame>/bodyset/nope</socket_parent_frame>")],
     r"<Marker name='m_b3'>: frame '/bodyset/nope' not found"),
    ([("<coordinates>c9_a</coordinates><axis>1 0 0</axis>", "<coordinates>c9_a c9_b</coordinates><axis>1 0 0</axis>")],
     r"several coordinates"),
    ([("<range>-1.2 1.2</range>", "<range>-1.2 abc</range>")], r"<Coordinate name='j1_rx'> <range>: expected numbers"),
])
def test_unsupported_or_bad_elements_are_named(tmp_path, pairs, message):
    with pytest.raises(KinematicsError, match=message) as e:
        load_osim(_broken(tmp_path, *pairs))
    assert "broken.osim" in str(e.value)


def test_closed_loop_and_file_errors(tmp_path):
    # make b3 the child of a second joint: a closed loop
    text = zoo_osim().replace("<socket_child_frame>b10_offset_j10</socket_child_frame>",
                              "<socket_child_frame>b3_offset_j3</socket_child_frame>")
    p = tmp_path / "loop.osim"
    p.write_text(text)
    with pytest.raises(KinematicsError, match="closed kinematic loops"):
        load_osim(p)
    with pytest.raises(KinematicsError, match="not found"):
        load_osim(tmp_path / "missing.osim")
    bad = tmp_path / "bad.osim"
    bad.write_text("<OpenSimDocument Version=\"40000\"><Model")
    with pytest.raises(KinematicsError, match="not valid XML"):
        load_osim(bad)
    other = tmp_path / "other.osim"
    other.write_text("<Foo/>")
    with pytest.raises(KinematicsError, match="expected <OpenSimDocument>"):
        load_osim(other)


def test_missing_or_bad_version_is_named_before_opensim_sees_the_file(tmp_path, monkeypatch):
    import pipeline.kinematics.opensim_tools as opensim_tools

    def never(*a, **k):
        raise AssertionError("handed to OpenSim")

    monkeypatch.setattr(opensim_tools, "upgrade_osim", never)
    bad = tmp_path / "garbage.osim"
    out = tmp_path / "out.osim"
    for doc, message in (("<OpenSimDocument><Model name='x'/></OpenSimDocument>", "has no Version attribute"),
                         ("<OpenSimDocument Version='4.0'><Model name='x'/></OpenSimDocument>",
                          "Version '4.0' is not an integer")):
        bad.write_text(doc)
        for read in (load_osim, lambda p: write_scaled_osim(p, {}, out)):
            with pytest.raises(KinematicsError, match=message) as info:
                read(bad)
            assert "garbage.osim" in str(info.value)
    assert not out.exists()


def test_disabled_constraint_is_ignored(tmp_path):
    p = _broken(tmp_path, ("<isEnforced>true</isEnforced>", "<isEnforced>false</isEnforced>"))
    assert load_osim(p).constraints == []


OPENSIM3_ARM = """<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="30000"><Model name="arm30"><BodySet><objects>
<Body name="ground"><mass>0</mass><mass_center>0 0 0</mass_center><Joint/></Body>
<Body name="upper"><mass>2</mass><mass_center>0 -0.15 0</mass_center><inertia_xx>0.01</inertia_xx>
<inertia_yy>0.002</inertia_yy><inertia_zz>0.01</inertia_zz>
<Joint><PinJoint name="shoulder"><parent_body>ground</parent_body><location_in_parent>0 1.4 0</location_in_parent>
<orientation_in_parent>0 0 0</orientation_in_parent><location>0 0 0</location><orientation>0 0 0</orientation>
<CoordinateSet><objects><Coordinate name="shoulder_flex"><range>-1.5 1.5</range></Coordinate></objects>
</CoordinateSet></PinJoint></Joint></Body>
</objects></BodySet>
<MarkerSet><objects><Marker name="elbow"><body>upper</body><location>0 -0.3 0</location></Marker></objects></MarkerSet>
</Model></OpenSimDocument>
"""


def test_opensim3_model_is_converted_through_opensim(tmp_path):
    """Version < 40000 (joints inside bodies): OpenSim converts the file for the reader and the writer."""
    src = tmp_path / "arm30.osim"
    src.write_text(OPENSIM3_ARM)
    m = load_osim(src)
    assert m.version == 30000 and m.body_names == ["upper"] and m.coordinate_names == ["shoulder_flex"]
    shoulder = m.joint("shoulder")
    assert shoulder.parent_body == "ground" and shoulder.child_body == "upper"
    assert shoulder.parent.steps[0][0] == (0.0, 1.4, 0.0)
    assert m.markers[0].body == "upper" and np.array_equal(m.markers[0].location, [0.0, -0.3, 0.0])
    scaled = load_osim(write_scaled_osim(src, {"upper": [1.1, 1.1, 1.1]}, tmp_path / "scaled.osim"))
    assert scaled.version >= 40000 and scaled.coordinate_names == ["shoulder_flex"]
    assert np.allclose(scaled.markers[0].location, [0.0, -0.33, 0.0], atol=1e-12)
