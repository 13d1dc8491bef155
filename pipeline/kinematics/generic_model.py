"""odah's generic full-body OpenSim model, written from published tables.

Run ``python -m pipeline.kinematics.generic_model`` to regenerate the shipped files in
``pipeline/kinematics/data/`` (``odah_fullbody.osim`` and its IK task set and Scale set-up);
a test checks that the shipped files equal this generator's output.

The model has the 22 bodies and the coordinate names of Rajagopal et al. (2016, "Full-body
musculoskeletal model for muscle-driven simulation of human gait", IEEE TBME 63:2068) so its
outputs read like OpenCap's, AddBiomechanics' and the ODAH paper's, but every number below is
ours, taken from the sources cited beside it. Default subject: stature 1.75 m, mass 75 kg.

Conventions (OpenSim): X anterior, Y superior, Z to the right; metres, radians inside the file.
In the default pose (every coordinate 0, ``pelvis_ty`` at its default) the subject stands upright
on the floor (y = 0) in the anatomical position: feet parallel, arms at the sides, palms forward.
The pelvis frame is the ISB pelvic frame (Wu et al. 2002, J Biomech 35:543): origin midway
between the ASISs, the ASIS-PSIS plane horizontal at ``pelvis_tilt = 0``. Left bodies mirror the
right ones (z -> -z; rotation axes mirror as pseudo-vectors, so each coordinate means the same
anatomical motion on both sides).

Signs: positive = pelvis posterior tilt / right side down / rotation to the left, hip flexion,
adduction and internal rotation, knee flexion, ankle dorsiflexion, subtalar inversion, toe
extension, lumbar extension / bending to the right / rotation to the left, shoulder flexion,
adduction and internal rotation, elbow flexion, forearm pronation (0 = full supination, the
anatomical position), wrist flexion and ulnar deviation.

Geometry is isotropic in stature: everything is computed for the 1.75 m reference subject and
multiplied by ``height / 1.75``, so a model built for another height equals a uniformly scaled
default model. Masses scale with ``mass / 75`` and inertias with mass times length squared.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .opensim_tools import ik_task_set, scale_setup
from .opensim_tools import sub_element as _sub

DATA_DIR = Path(__file__).resolve().parent / "data"
GENERIC_MODEL_PATH = DATA_DIR / "odah_fullbody.osim"


def resolve_model(spec: str, key: str = "kinematics.model") -> Path:
    """The .osim file of a model setting: ``generic`` is the shipped model, else a path.

    Raises:
        KinematicsError: the file does not exist (naming the setting ``key``).
    """
    from ..errors import KinematicsError

    path = GENERIC_MODEL_PATH if spec == "generic" else Path(spec).expanduser()
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "not found"
        raise KinematicsError(f"OpenSim model {path} {problem} ({key} takes 'generic' or an .osim file)")
    return path
IK_TASKS_PATH = DATA_DIR / "odah_fullbody_ik_tasks.xml"
SCALE_SETUP_PATH = DATA_DIR / "odah_fullbody_scale_setup.xml"

MODEL_NAME = "odah_fullbody"
DEFAULT_HEIGHT = 1.75  # m, the reference subject every table below is written for
DEFAULT_MASS = 75.0  # kg

# =================================================================================================
# 1. Segment inertial parameters: de Leva (1996), "Adjustments to Zatsiorsky-Seluyanov's segment
#    inertia parameters", J Biomech 29:1223-1230, Table 4, MALE column (mean stature 1741 mm,
#    mass 73.0 kg). Lengths are between the listed endpoints (joint centres where de Leva uses
#    them); the COM is a fraction of the length from the first endpoint; radii of gyration are
#    fractions of the length about the sagittal (antero-posterior, OpenSim X), transverse
#    (medio-lateral, Z) and longitudinal (Y) axes through the COM.
# =================================================================================================
DE_LEVA_STATURE_MM = 1741.0


@dataclass(frozen=True)
class Segment:
    endpoints: str
    length_mm: float  # for the 1741 mm de Leva male
    mass: float  # fraction of body mass
    com: float  # fraction of length from the first endpoint
    r_sag: float  # about X
    r_trans: float  # about Z
    r_long: float  # about Y

    def length(self, height: float) -> float:
        """Segment length (m) for a subject of ``height`` m."""
        return self.length_mm / DE_LEVA_STATURE_MM * height


DE_LEVA = {
    #                      endpoints       length   mass    COM     r_sag  r_trans r_long
    "head": Segment("VERT-MIDG", 203.3, 0.0694, 0.5976, 0.362, 0.376, 0.312),
    "upper_trunk": Segment("SUPR-XYPH", 170.7, 0.1596, 0.2999, 0.716, 0.454, 0.659),
    "middle_trunk": Segment("XYPH-OMPH", 215.5, 0.1633, 0.4502, 0.482, 0.383, 0.468),
    "lower_trunk": Segment("OMPH-MIDH", 145.7, 0.1117, 0.6115, 0.615, 0.551, 0.587),
    "upper_arm": Segment("SJC-EJC", 281.7, 0.0271, 0.5772, 0.285, 0.269, 0.158),
    "forearm": Segment("EJC-WJC", 268.9, 0.0162, 0.4574, 0.276, 0.265, 0.121),
    "hand": Segment("WJC-MET3", 86.2, 0.0061, 0.7900, 0.628, 0.513, 0.401),
    "thigh": Segment("HJC-KJC", 422.2, 0.1416, 0.4095, 0.329, 0.329, 0.149),
    "shank": Segment("KJC-LMAL", 434.0, 0.0433, 0.4459, 0.255, 0.249, 0.103),
    "foot": Segment("HEEL-TTIP", 258.1, 0.0137, 0.4415, 0.257, 0.245, 0.124),
}

# How de Leva's segments become the 22 model bodies (fractions of body mass). The torso carries
# the head, neck, upper and middle trunk; the pelvis the lower trunk. The patella, talus and toes
# are not de Leva segments: their shares are modelling choices taken from the neighbouring
# segment (patella ~0.1 kg from the thigh; foot split by approximate bone-and-soft-tissue volume).
PATELLA_MASS_FRACTION = 0.0013
FOOT_SPLIT = {"talus": 0.06, "calcn": 0.78, "toes": 0.16}  # of de Leva's foot mass

# =================================================================================================
# 2. Heights of landmarks in standing, as fractions of stature: Drillis & Contini (1966) as given
#    by Winter (2009), "Biomechanics and Motor Control of Human Movement", 4th ed., Fig. 4.1.
#    Limb lengths between joint centres come from de Leva (above); these fix where the chain
#    starts (ankle) and where the shoulders and the sternum sit.
# =================================================================================================
WINTER_HEIGHT = {
    "ankle": 0.039,  # ankle joint centre (talus origin) above the floor
    "elbow": 0.630,  # elbow joint centre; the shoulder joint centre is one upper arm above it
    "shoulder": 0.818,  # acromion, and the jugular notch (suprasternale) at about the same level
    "vertex": 1.000,
}
# Further landmark heights (fractions of stature). ANSUR-type adult means, rounded: cervicale
# (C7) about 0.85 H; the headband of a Plug-in-Gait head (front/back head markers) a few cm
# below the vertex; the inferior angle of the scapula about T7.
LANDMARK_HEIGHT = {"C7": 0.848, "T10": 0.718, "head_markers": 0.962, "scapula": 0.760}

# =================================================================================================
# 3. Breadths and depths (m, for the 1.75 m reference subject). Typical adult male values
#    (ANSUR-type anthropometric surveys, rounded); they only place markers on the surface and
#    the joint centres between paired landmarks.
# =================================================================================================
INTER_ASIS = 0.245  # pelvic width PW (ASIS to ASIS), about 0.14 H
PELVIC_DEPTH = 0.1575  # PD, mid-ASIS to mid-PSIS, about 0.09 H
INTER_PSIS = 0.090
SHOULDER_HALF_WIDTH = 0.170  # glenohumeral centre from the mid-sagittal plane (~0.097 H)
KNEE_BREADTH = 0.097  # femoral epicondyles
ANKLE_BREADTH = 0.070  # malleoli
ELBOW_BREADTH = 0.070  # humeral epicondyles
WRIST_BREADTH = 0.058  # styloid processes
FOOT_WIDTH = 0.096  # Winter 0.055 H, across the metatarsal heads
HEAD_LENGTH, HEAD_BREADTH = 0.197, 0.155
THIGH_RADIUS_LOW = 0.062  # lateral surface at the lower third of the thigh
SHANK_RADIUS_LOW = 0.040
ARM_RADIUS = 0.045
FOREARM_RADIUS = 0.035
MARKER_STANDOFF = 0.012  # bone to marker centre: ~5 mm skin + 7 mm radius of a 14 mm marker

# Sagittal (x) positions in standing relative to the mid-ASIS point (m, 1.75 m subject), chosen
# so that ear, acromion and hip line up roughly on one vertical as in the standing plumb line.
SAGITTAL_X = {
    "shoulder": -0.065,  # glenohumeral centres
    "C7": -0.150,  # skin over the spinous process
    "T10": -0.170,
    "scapula": -0.165,
    "jugular_notch": -0.010,
    "xiphoid": 0.030,
    "head_centre": -0.055,
    "trunk_com": -0.048,  # trunk COMs lie in front of the spine, about over the hip joints
    "head_com": -0.045,
}

# =================================================================================================
# 4. Hip joint centre in the pelvis frame: Harrington et al. (2007), J Biomech 40:595-602,
#    regression on pelvic width PW and depth PD (mm): x = -0.24 PD - 9.9, y = -0.30 PW - 10.9,
#    z = +-(0.33 PW + 7.3). The lumped lumbar joint sits at about L3/L4, at navel (OMPH) height,
#    0.6 PD behind the ASISs.
# =================================================================================================


def hip_joint_centre_mm(pw_mm: float, pd_mm: float) -> tuple[float, float, float]:
    return (-0.24 * pd_mm - 9.9, -0.30 * pw_mm - 10.9, 0.33 * pw_mm + 7.3)


LUMBAR_X_FRACTION_OF_PD = 0.6

# =================================================================================================
# 5. Joint axes.
# =================================================================================================
# Talocrural axis (Inman 1976, "The Joints of the Ankle"): passes just below the malleoli tips,
# inclined laterally downwards by about 8 deg in the frontal plane (82.7 deg to the tibial axis)
# and rotated about 6 deg so its lateral end is posterior.
ANKLE_AXIS_FRONTAL_DEG = 8.0
ANKLE_AXIS_TRANSVERSE_DEG = 6.0
# Subtalar axis (Isman & Inman 1969, Bull Prosthet Res 10-11:97): mean 42 deg up from the
# horizontal and 23 deg medial to the foot's long axis, running from the postero-lateral heel
# to the talar neck.
SUBTALAR_ELEVATION_DEG = 42.0
SUBTALAR_MEDIAL_DEG = 23.0
SUBTALAR_POINT = (-0.010, -0.030, 0.0)  # a point on the axis, talus frame (m): posterior facet
# Metatarso-phalangeal break (Bojsen-Moller 1979, J Anat 129:165): oblique axis through the
# lesser metatarsal heads, about 60 deg to the foot's long axis (lateral end posterior).
MTP_AXIS_DEG = 60.0
# Foot layout along its length from the heel (fractions of foot length, HEEL-TTIP): ankle centre
# about a quarter of the way, 2nd metatarsal head (toe joint) at 0.73, 5th at 0.64.
FOOT_ALONG = {"ankle": 0.23, "mtp2": 0.73, "mtp5": 0.64, "mtp1": 0.72}
MTP_HEIGHT = 0.020  # metatarsal head centres above the floor (m)
# Elbow carrying angle: the extended, supinated forearm deviates laterally from the humerus by
# about 10-15 deg in adults (e.g. Paraskevas et al. 2004, Surg Radiol Anat 26:19; Van Roy et al.
# 2005, Clin Biomech 20:1015). The flexion axis bisects it, so the forearm folds onto the arm.
CARRYING_ANGLE_DEG = 10.0
# Pronation-supination axis: from the centre of the radial head to the ulnar head (the forearm
# rotates about this line in vivo; e.g. Tay et al. 2008). Points in the ulna frame relative to
# the elbow centre / wrist centre (m, 1.75 m subject), expressed in forearm axes
# (long = distal, lat = lateral, ant = anterior).
RADIAL_HEAD = {"long": 0.020, "lat": 0.020, "ant": 0.0}
ULNAR_HEAD = {"long": -0.010, "lat": -0.022, "ant": -0.005}  # relative to the wrist centre

# Planar knee: Yamaguchi & Zajac (1989), J Biomech 22:1-10, tibia-origin translation in the femur
# frame as a function of knee flexion, as tabulated in the lower-limb model of Delp et al. (1990,
# IEEE TBME 37:757). Re-expressed here relative to full extension (so the tibia origin is one
# thigh length below the hip at 0 deg), flexion positive, and normalised by that model's femur
# length (0.396 m), so it scales with our thigh. Columns: flexion (deg), anterior, superior.
KNEE_TRANSLATION = [
    # flexion   dx/L      dy/L
    (-10.0, -0.0017, 0.0015),
    (0.0, 0.0000, 0.0000),
    (10.0, 0.0035, -0.0020),
    (20.0, 0.0088, -0.0045),
    (40.0, 0.0167, -0.0126),
    (60.0, 0.0217, -0.0244),
    (80.0, 0.0217, -0.0385),
    (100.0, 0.0159, -0.0533),
    (120.0, 0.0033, -0.0676),
    (140.0, -0.0130, -0.0812),  # beyond the published 120 deg: the curve's own extrapolation
]
# Patella: a simplified circular track round the femoral condyles. Its centre sits on an arc of
# radius PATELLA_TRACK_RADIUS about a point PATELLA_ARC_CENTRE above the knee centre, starting
# PATELLA_START_DEG above the horizontal in extension; patellar flexion lags knee flexion (about
# 0.6-0.75 of it in imaging studies, e.g. Nha et al. 2008, J Orthop Res 26:1067). As in
# Rajagopal's model a CoordinateCouplerConstraint drives the patella coordinate knee_angle_*_beta
# from the knee; here beta is the patellar flexion itself, beta = PATELLA_FLEXION_RATIO * knee.
PATELLA_FLEXION_RATIO = 0.7
PATELLA_TRACK_RADIUS = 0.047
PATELLA_ARC_CENTRE = 0.020
PATELLA_START_DEG = 30.0

# =================================================================================================
# 6. Coordinate ranges (degrees; metres for translations). Anatomical ranges are the American
#    Academy of Orthopaedic Surgeons' normal active ranges (Greene & Heckman 1994, "The Clinical
#    Measurement of Joint Motion"), widened where weight-bearing tasks exceed them. These feed the
#    estimator's biomechanical constraint loss. "Free" coordinates (the pelvis orientation and the
#    shoulders: the nine unconstrained angles of the ODAH paper) are not clamped.
# =================================================================================================
RANGES = {
    "pelvis_tilt": (-90.0, 90.0),
    "pelvis_list": (-90.0, 90.0),
    "pelvis_rotation": (-180.0, 180.0),
    "pelvis_tx": (-50.0, 50.0),  # m
    "pelvis_ty": (-1.0, 3.0),  # m
    "pelvis_tz": (-50.0, 50.0),  # m
    "hip_flexion": (-30.0, 120.0),  # extension 30, flexion 120
    "hip_adduction": (-45.0, 30.0),  # abduction 45, adduction 30
    "hip_rotation": (-45.0, 45.0),  # external 45, internal 45
    # flexion 135 + hyperextension 10 (AAOS); upper limit 140 for deep squats (Soucie et al. 2011,
    # Haemophilia 17:500, report means near 140 deg in young adults)
    "knee_angle": (-10.0, 140.0),
    # plantarflexion 50 (AAOS); dorsiflexion 20 non-weight-bearing (AAOS) raised to 35 for squats
    # and lunges (weight-bearing lunge norms ~35-45 deg, Bennell et al. 1998, Aust J Physiother)
    "ankle_angle": (-50.0, 35.0),
    "subtalar_angle": (-15.0, 35.0),  # eversion 15, inversion 35
    "mtp_angle": (-45.0, 70.0),  # toe flexion 45, extension 70 (first MTP)
    "lumbar_extension": (-80.0, 25.0),  # thoraco-lumbar flexion 80, extension 25
    "lumbar_bending": (-35.0, 35.0),
    "lumbar_rotation": (-45.0, 45.0),
    "arm_flex": (-90.0, 180.0),  # free
    "arm_add": (-180.0, 90.0),  # free
    "arm_rot": (-120.0, 120.0),  # free
    "elbow_flex": (0.0, 150.0),
    "pro_sup": (0.0, 160.0),  # 0 = full supination; supination 80 + pronation 80 about neutral
    "wrist_flex": (-70.0, 80.0),  # extension 70, flexion 80
    "wrist_dev": (-20.0, 30.0),  # radial 20, ulnar 30
}
TRANSLATIONAL = ("pelvis_tx", "pelvis_ty", "pelvis_tz")
FREE_ANGLES = ("pelvis_tilt", "pelvis_list", "pelvis_rotation")  # + the shoulders, per side

# =================================================================================================
# 7. Markers (Plug-in Gait full body plus medial knee, ankle and elbow markers and a 5th
#    metacarpal marker, which with FIN fixes the hand's roll about the wrist-FIN line). Positions
#    are built from the landmarks above in ``_markers``; names are fixed (marker_layouts/ use them).
# =================================================================================================
MARKER_NAMES = (
    "LFHD", "RFHD", "LBHD", "RBHD", "C7", "T10", "CLAV", "STRN", "RBAK", "LSHO", "RSHO",
    "LUPA", "RUPA", "LELB", "RELB", "LELM", "RELM", "LFRA", "RFRA", "LWRA", "RWRA", "LWRB", "RWRB",
    "LFIN", "RFIN", "LASI", "RASI", "LPSI", "RPSI", "LTHI", "RTHI", "LKNE", "RKNE", "LKNM", "RKNM",
    "LTIB", "RTIB", "LANK", "RANK", "LANM", "RANM", "LHEE", "RHEE", "LTOE", "RTOE", "LMT5", "RMT5",
    "LFI5", "RFI5",
)

# IK weights for the opensim backend's task set: bony landmarks high, marker wands and soft
# tissue low (a common OpenSim practice). Name without the side letter.
IK_MARKER_WEIGHTS = {
    "FHD": 1.0, "BHD": 1.0, "C7": 5.0, "T10": 5.0, "CLAV": 5.0, "STRN": 5.0, "BAK": 1.0,
    "SHO": 5.0, "UPA": 1.0, "ELB": 5.0, "ELM": 5.0, "FRA": 1.0, "WRA": 5.0, "WRB": 5.0, "FIN": 2.0,
    "ASI": 10.0, "PSI": 10.0, "THI": 1.0, "KNE": 10.0, "KNM": 10.0, "TIB": 1.0, "ANK": 10.0,
    "ANM": 10.0, "HEE": 10.0, "TOE": 10.0, "MT5": 5.0, "FI5": 2.0,
}
# The toes carry no marker, so IK holds the toe joint at its default with a weak coordinate task.
IK_COORDINATE_TASKS = {"mtp_angle_r": 1.0, "mtp_angle_l": 1.0}

# ScaleTool measurements (OpenSim "measurements" scaling): marker pairs whose distances set each
# body's scale factor (all three axes). Right side listed; the left mirrors it.
SCALE_MEASUREMENTS = {
    "pelvis": {"pairs": [("RASI", "LASI"), ("RPSI", "LPSI"), ("RASI", "RPSI"), ("LASI", "LPSI")],
               "bodies": ["pelvis"]},
    "torso": {"pairs": [("RSHO", "RASI"), ("LSHO", "LASI"), ("C7", "RPSI"), ("C7", "LPSI"),
                        ("RSHO", "LSHO")],
              "bodies": ["torso"]},
    "thigh_r": {"pairs": [("RASI", "RKNE"), ("RASI", "RKNM")], "bodies": ["femur_r", "patella_r"]},
    "thigh_l": {"pairs": [("LASI", "LKNE"), ("LASI", "LKNM")], "bodies": ["femur_l", "patella_l"]},
    "shank_r": {"pairs": [("RKNE", "RANK"), ("RKNM", "RANM")], "bodies": ["tibia_r"]},
    "shank_l": {"pairs": [("LKNE", "LANK"), ("LKNM", "LANM")], "bodies": ["tibia_l"]},
    "foot_r": {"pairs": [("RHEE", "RTOE"), ("RHEE", "RMT5")],
               "bodies": ["talus_r", "calcn_r", "toes_r"]},
    "foot_l": {"pairs": [("LHEE", "LTOE"), ("LHEE", "LMT5")],
               "bodies": ["talus_l", "calcn_l", "toes_l"]},
    "upper_arm_r": {"pairs": [("RSHO", "RELB"), ("RSHO", "RELM")], "bodies": ["humerus_r"]},
    "upper_arm_l": {"pairs": [("LSHO", "LELB"), ("LSHO", "LELM")], "bodies": ["humerus_l"]},
    "forearm_r": {"pairs": [("RELB", "RWRA"), ("RELM", "RWRB")],
                  "bodies": ["ulna_r", "radius_r", "hand_r"]},
    "forearm_l": {"pairs": [("LELB", "LWRA"), ("LELM", "LWRB")],
                  "bodies": ["ulna_l", "radius_l", "hand_l"]},
}

# =================================================================================================
# Derived structure: bodies, joints, coordinates.
# =================================================================================================
BODY_NAMES = (
    "pelvis", "femur_r", "tibia_r", "patella_r", "talus_r", "calcn_r", "toes_r",
    "femur_l", "tibia_l", "patella_l", "talus_l", "calcn_l", "toes_l",
    "torso", "humerus_r", "ulna_r", "radius_r", "hand_r", "humerus_l", "ulna_l", "radius_l", "hand_l",
)


def _side_coords(side: str) -> list[str]:
    return [f"hip_flexion_{side}", f"hip_adduction_{side}", f"hip_rotation_{side}",
            f"knee_angle_{side}", f"knee_angle_{side}_beta", f"ankle_angle_{side}",
            f"subtalar_angle_{side}", f"mtp_angle_{side}"]


def _arm_coords(side: str) -> list[str]:
    return [f"arm_flex_{side}", f"arm_add_{side}", f"arm_rot_{side}", f"elbow_flex_{side}",
            f"pro_sup_{side}", f"wrist_flex_{side}", f"wrist_dev_{side}"]


COORDINATE_NAMES = tuple(
    ["pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz"]
    + _side_coords("r") + _side_coords("l")
    + ["lumbar_extension", "lumbar_bending", "lumbar_rotation"]
    + _arm_coords("r") + _arm_coords("l")
)

# Coordinate groups (ODAH paper, Sec. 4.2: nine unconstrained angles - pelvis orientation and
# both shoulders - the rest range-limited by the biomechanical constraint loss).
COORDINATE_GROUPS: dict[str, tuple[str, ...]] = {
    "free": FREE_ANGLES + tuple(f"arm_{a}_{s}" for s in "rl" for a in ("flex", "add", "rot")),
    "translational": TRANSLATIONAL,
    "dependent": ("knee_angle_r_beta", "knee_angle_l_beta"),
}
COORDINATE_GROUPS["constrained"] = tuple(
    c for c in COORDINATE_NAMES
    if c not in COORDINATE_GROUPS["free"] + TRANSLATIONAL + COORDINATE_GROUPS["dependent"])


def coordinate_range(name: str) -> tuple[float, float]:
    """Range of a coordinate as written in the model (radians, or metres for translations)."""
    key = name
    if key.endswith("_beta"):
        key = key[: -len("_r_beta")]
    elif key.endswith(("_r", "_l")):
        key = key[:-2]
    lo, hi = RANGES[key]
    if name.endswith("_beta"):  # patellar flexion follows the knee
        lo, hi = PATELLA_FLEXION_RATIO * lo, PATELLA_FLEXION_RATIO * hi
    if name in TRANSLATIONAL:
        return lo, hi
    return math.radians(lo), math.radians(hi)


# =================================================================================================
# Geometry for one subject.
# =================================================================================================
def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def _mirror_point(p) -> np.ndarray:
    """Right-side point -> left side (z -> -z)."""
    return np.asarray(p, dtype=float) * np.array([1.0, 1.0, -1.0])


def _mirror_axis(a) -> np.ndarray:
    """Right-side rotation axis -> left side: a reflected pseudo-vector, so a positive coordinate
    is the mirror-image motion (e.g. hip adduction axis +X on the right, -X on the left)."""
    return np.asarray(a, dtype=float) * np.array([-1.0, -1.0, 1.0])


def _sided(side: str):
    """(point map, axis map) from the right side to ``side`` ('r': as given, 'l': mirrored)."""
    if side == "r":
        return (lambda p: np.asarray(p, float)), (lambda a: np.asarray(a, float))
    return _mirror_point, _mirror_axis


@dataclass
class _Layout:
    """Every point of the model for one stature (metres, body frames)."""

    height: float

    def __post_init__(self) -> None:
        H = self.height
        s = H / DEFAULT_HEIGHT
        self.s = s
        L = {k: seg.length(H) for k, seg in DE_LEVA.items()}
        self.L = L
        # Pelvis: HJC from Harrington (mm -> m), landmarks of the ISB frame.
        pw, pd = INTER_ASIS * s, PELVIC_DEPTH * s
        self.pw, self.pd = pw, pd
        # Regression evaluated for the reference subject, then scaled (isotropic model).
        hx, hy, hz = (v / 1000.0 * s for v in hip_joint_centre_mm(INTER_ASIS * 1000.0,
                                                                  PELVIC_DEPTH * 1000.0))
        self.hip = np.array([hx, hy, hz])
        # Standing heights (m above the floor).
        ankle_h = WINTER_HEIGHT["ankle"] * H
        knee_h = ankle_h + L["shank"]
        hip_h = knee_h + L["thigh"]
        self.pelvis_height = hip_h - hy  # pelvis origin (mid-ASIS) in standing
        # Trunk landmarks between the hip centres and the jugular notch: de Leva's trunk
        # sub-segment lengths, stretched to span hip height -> Winter's shoulder height.
        supr_h = WINTER_HEIGHT["shoulder"] * H
        trunk = [DE_LEVA[k].length_mm for k in ("lower_trunk", "middle_trunk", "upper_trunk")]
        k = (supr_h - hip_h) / sum(trunk)
        omph_h = hip_h + k * trunk[0]
        xyph_h = omph_h + k * trunk[1]
        self.trunk_len = {"lower_trunk": k * trunk[0], "middle_trunk": k * trunk[1],
                          "upper_trunk": k * trunk[2]}
        self.heights = {"ankle": ankle_h, "knee": knee_h, "hip": hip_h, "omph": omph_h,
                        "xyph": xyph_h, "supr": supr_h}
        # Lumbar joint (L3/L4, navel height) in the pelvis frame.
        self.lumbar = np.array([-LUMBAR_X_FRACTION_OF_PD * pd, omph_h - self.pelvis_height, 0.0])
        lumbar_ground = np.array([self.lumbar[0], omph_h, 0.0])  # x relative to mid-ASIS
        self.lumbar_ground = lumbar_ground
        # Shoulder joint centre: one upper arm above Winter's elbow height.
        sjc_h = WINTER_HEIGHT["elbow"] * H + L["upper_arm"]
        self.shoulder = self.torso_point(SAGITTAL_X["shoulder"] * s, sjc_h, SHOULDER_HALF_WIDTH * s)
        self.sjc_h = sjc_h
        # Forearm axes (ulna frame, right side, default pose).
        c = math.radians(CARRYING_ANGLE_DEG)
        self.e_long = np.array([0.0, -math.cos(c), math.sin(c)])
        self.e_lat = np.array([0.0, math.sin(c), math.cos(c)])
        self.e_ant = np.array([1.0, 0.0, 0.0])
        self.elbow_axis = np.array([0.0, math.sin(c / 2), math.cos(c / 2)])
        self.wrist = L["forearm"] * self.e_long  # in the ulna frame (origin at the elbow)
        self.radial_head = self.forearm_vec(RADIAL_HEAD) * s
        self.ulnar_head = self.wrist + self.forearm_vec(ULNAR_HEAD) * s
        # Pronation about the line ulnar head -> radial head (points proximally on the right).
        self.pro_sup_axis = _unit(self.radial_head - self.ulnar_head)
        # Foot (talus frame: origin at the ankle centre).
        FL = L["foot"]
        self.FL = FL
        heel_x = -FOOT_ALONG["ankle"] * FL
        floor_y = -ankle_h
        self.heel_x, self.floor_y = heel_x, floor_y
        self.subtalar_point = np.array(SUBTALAR_POINT) * s
        self.mtp = np.array([heel_x + FOOT_ALONG["mtp2"] * FL, floor_y + MTP_HEIGHT * s, 0.0])

    def torso_point(self, x_ground: float, y_ground: float, z: float) -> np.ndarray:
        """A standing landmark (x from mid-ASIS, height above floor) in the torso frame."""
        return np.array([x_ground - self.lumbar_ground[0], y_ground - self.lumbar_ground[1], z])

    def forearm_vec(self, d: dict) -> np.ndarray:
        return d["long"] * self.e_long + d["lat"] * self.e_lat + d["ant"] * self.e_ant

    # ---------------------------------------------------------------- axes
    def ankle_axis(self) -> np.ndarray:
        f, t = math.radians(ANKLE_AXIS_FRONTAL_DEG), math.radians(ANKLE_AXIS_TRANSVERSE_DEG)
        return _unit([-math.cos(f) * math.sin(t), -math.sin(f), math.cos(f) * math.cos(t)])

    def subtalar_axis(self) -> np.ndarray:
        e, m = math.radians(SUBTALAR_ELEVATION_DEG), math.radians(SUBTALAR_MEDIAL_DEG)
        return _unit([math.cos(e) * math.cos(m), math.sin(e), -math.cos(e) * math.sin(m)])

    def mtp_axis(self) -> np.ndarray:
        a = math.radians(MTP_AXIS_DEG)
        return _unit([-math.cos(a), 0.0, math.sin(a)])


# =================================================================================================
# Inertial properties.
# =================================================================================================
@dataclass
class _Inertia:
    mass: float
    com: np.ndarray
    diag: np.ndarray  # Ixx, Iyy, Izz about the COM (kg m^2)


def _seg_inertia(seg: Segment, mass: float, length: float) -> np.ndarray:
    return mass * (np.array([seg.r_sag, seg.r_long, seg.r_trans]) * length) ** 2


def _sphere(mass: float, radius: float) -> np.ndarray:
    return np.full(3, 0.4 * mass * radius**2)


def _combine(parts: list[_Inertia]) -> _Inertia:
    """Composite of parts (parallel-axis theorem; principal axes along the body axes)."""
    m = sum(p.mass for p in parts)
    com = sum(p.mass * p.com for p in parts) / m
    diag = np.zeros(3)
    for p in parts:
        d = p.com - com
        diag += p.diag + p.mass * np.array([d[1] ** 2 + d[2] ** 2, d[0] ** 2 + d[2] ** 2,
                                            d[0] ** 2 + d[1] ** 2])
    return _Inertia(m, com, diag)


def _inertias(g: _Layout, mass: float) -> dict[str, _Inertia]:
    H, s, L = g.height, g.s, g.L
    out: dict[str, _Inertia] = {}
    # Pelvis: de Leva's lower trunk (OMPH-MIDH), COM 61.15% down from the navel.
    lt = DE_LEVA["lower_trunk"]
    lt_len = g.trunk_len["lower_trunk"]
    m_pel = lt.mass * mass
    com_h = g.heights["omph"] - lt.com * lt_len
    out["pelvis"] = _Inertia(m_pel, np.array([-0.5 * g.pd, com_h - g.pelvis_height, 0.0]),
                             _seg_inertia(lt, m_pel, lt_len))
    # Torso: middle + upper trunk + head (de Leva), combined.
    parts = []
    mt, ut, hd = DE_LEVA["middle_trunk"], DE_LEVA["upper_trunk"], DE_LEVA["head"]
    x_tr = SAGITTAL_X["trunk_com"] * s
    mt_len, ut_len = g.trunk_len["middle_trunk"], g.trunk_len["upper_trunk"]
    mt_com = g.torso_point(x_tr, g.heights["xyph"] - mt.com * mt_len, 0.0)
    ut_com = g.torso_point(x_tr, g.heights["supr"] - ut.com * ut_len, 0.0)
    hd_len = hd.length(H)
    hd_com = g.torso_point(SAGITTAL_X["head_com"] * s, H - hd.com * hd_len, 0.0)
    for seg, length, com in ((mt, mt_len, mt_com), (ut, ut_len, ut_com), (hd, hd_len, hd_com)):
        m = seg.mass * mass
        parts.append(_Inertia(m, com, _seg_inertia(seg, m, length)))
    out["torso"] = _combine(parts)
    for side in "rl":
        mir, _ = _sided(side)
        th, sh, ft = DE_LEVA["thigh"], DE_LEVA["shank"], DE_LEVA["foot"]
        m_pat = PATELLA_MASS_FRACTION * mass
        m_th = th.mass * mass - m_pat
        out[f"femur_{side}"] = _Inertia(m_th, np.array([0.0, -th.com * L["thigh"], 0.0]),
                                        _seg_inertia(th, m_th, L["thigh"]))
        out[f"patella_{side}"] = _Inertia(m_pat, np.zeros(3), _sphere(m_pat, 0.020 * s))
        m_sh = sh.mass * mass
        out[f"tibia_{side}"] = _Inertia(m_sh, np.array([0.0, -sh.com * L["shank"], 0.0]),
                                        _seg_inertia(sh, m_sh, L["shank"]))
        m_ft = ft.mass * mass
        m_ta, m_ca, m_to = (FOOT_SPLIT[k] * m_ft for k in ("talus", "calcn", "toes"))
        out[f"talus_{side}"] = _Inertia(m_ta, np.zeros(3), _sphere(m_ta, 0.025 * s))
        # Calcaneus + midfoot: the foot COM (44% of foot length from the heel, a third of the
        # way up the foot) with de Leva's foot radii of gyration.
        st = g.subtalar_point
        foot_com = np.array([g.heel_x + ft.com * g.FL, g.floor_y + 0.035 * s, 0.005 * s]) - st
        out[f"calcn_{side}"] = _Inertia(m_ca, mir(foot_com), _seg_inertia(ft, m_ca, g.FL))
        toe_len = (1.0 - FOOT_ALONG["mtp2"]) * g.FL
        toe_com = np.array([0.4 * toe_len, -0.005 * s, 0.005 * s])
        out[f"toes_{side}"] = _Inertia(
            m_to, mir(toe_com),
            m_to / 12.0 * np.array([(0.02 * s) ** 2 + (FOOT_WIDTH * s) ** 2,
                                    toe_len**2 + (FOOT_WIDTH * s) ** 2, toe_len**2 + (0.02 * s) ** 2]))
        ua, fa, hn = DE_LEVA["upper_arm"], DE_LEVA["forearm"], DE_LEVA["hand"]
        m_ua = ua.mass * mass
        out[f"humerus_{side}"] = _Inertia(m_ua, np.array([0.0, -ua.com * L["upper_arm"], 0.0]),
                                          _seg_inertia(ua, m_ua, L["upper_arm"]))
        m_half = 0.5 * fa.mass * mass  # ulna and radius share the forearm
        fa_com = fa.com * g.wrist
        out[f"ulna_{side}"] = _Inertia(m_half, mir(fa_com), _seg_inertia(fa, m_half, L["forearm"]))
        out[f"radius_{side}"] = _Inertia(m_half, mir(fa_com - g.radial_head),
                                         _seg_inertia(fa, m_half, L["forearm"]))
        m_hn = hn.mass * mass
        out[f"hand_{side}"] = _Inertia(m_hn, mir(hn.com * L["hand"] * g.e_long),
                                       _seg_inertia(hn, m_hn, L["hand"]))
    for name, ine in out.items():
        a, b, c = ine.diag
        if not (a + b >= c and a + c >= b and b + c >= a):  # Simbody rejects such inertias
            raise AssertionError(f"inertia of {name} violates the triangle inequality: {ine.diag}")
    return out


# =================================================================================================
# Markers and foot contact points.
# =================================================================================================
def _markers(g: _Layout) -> dict[str, tuple[str, np.ndarray]]:
    """Marker name -> (body, location in the body frame)."""
    s, L, so = g.s, g.L, MARKER_STANDOFF * g.s
    H = g.height
    m: dict[str, tuple[str, np.ndarray]] = {}
    # Torso (head included).
    head_y = LANDMARK_HEIGHT["head_markers"] * H
    hx = SAGITTAL_X["head_centre"] * s
    m["RFHD"] = ("torso", g.torso_point(hx + 0.45 * HEAD_LENGTH * s + so, head_y,
                                        0.30 * HEAD_BREADTH * s))
    m["RBHD"] = ("torso", g.torso_point(hx - 0.50 * HEAD_LENGTH * s - so, head_y,
                                        0.30 * HEAD_BREADTH * s))
    m["C7"] = ("torso", g.torso_point(SAGITTAL_X["C7"] * s - so, LANDMARK_HEIGHT["C7"] * H, 0.0))
    m["T10"] = ("torso", g.torso_point(SAGITTAL_X["T10"] * s - so, LANDMARK_HEIGHT["T10"] * H, 0.0))
    m["CLAV"] = ("torso", g.torso_point(SAGITTAL_X["jugular_notch"] * s + so, g.heights["supr"], 0.0))
    m["STRN"] = ("torso", g.torso_point(SAGITTAL_X["xiphoid"] * s + so, g.heights["xyph"], 0.0))
    m["RBAK"] = ("torso", g.torso_point(SAGITTAL_X["scapula"] * s - so, LANDMARK_HEIGHT["scapula"] * H,
                                        0.080 * s))
    # Acromio-clavicular joint: above the glenohumeral centre, at the acromion's height.
    m["RSHO"] = ("torso", g.torso_point(SAGITTAL_X["shoulder"] * s,
                                        WINTER_HEIGHT["shoulder"] * H + so,
                                        0.95 * SHOULDER_HALF_WIDTH * s))
    # Pelvis.
    m["RASI"] = ("pelvis", np.array([so, 0.0, 0.5 * g.pw]))
    m["RPSI"] = ("pelvis", np.array([-g.pd - so, 0.0, 0.5 * INTER_PSIS * s]))
    # Thigh and shank.
    m["RTHI"] = ("femur_r", np.array([0.0, -0.67 * L["thigh"], THIGH_RADIUS_LOW * s + so]))
    m["RKNE"] = ("femur_r", np.array([0.0, -L["thigh"], 0.5 * KNEE_BREADTH * s + so]))
    m["RKNM"] = ("femur_r", np.array([0.0, -L["thigh"], -(0.5 * KNEE_BREADTH * s + so)]))
    m["RTIB"] = ("tibia_r", np.array([0.0, -0.67 * L["shank"], SHANK_RADIUS_LOW * s + so]))
    # Lateral malleolus lower and more posterior than the medial one.
    m["RANK"] = ("tibia_r", np.array([-0.010 * s, -L["shank"] - 0.005 * s, 0.5 * ANKLE_BREADTH * s + so]))
    m["RANM"] = ("tibia_r", np.array([0.005 * s, -L["shank"] + 0.005 * s, -(0.5 * ANKLE_BREADTH * s + so)]))
    # Foot (calcaneus frame: origin at SUBTALAR_POINT in the talus frame).
    st = g.subtalar_point
    toe_y = g.floor_y + 0.040 * s + so  # dorsum over the 2nd metatarsal head
    m["RTOE"] = ("calcn_r", np.array([g.mtp[0] - 0.005 * s, toe_y, 0.0]) - st)
    m["RHEE"] = ("calcn_r", np.array([g.heel_x - so, toe_y, 0.0]) - st)
    m["RMT5"] = ("calcn_r", np.array([g.heel_x + FOOT_ALONG["mtp5"] * g.FL, g.floor_y + MTP_HEIGHT * s,
                                      0.5 * FOOT_WIDTH * s + so]) - st)
    # Upper limb.
    m["RUPA"] = ("humerus_r", np.array([-0.010 * s, -0.5 * L["upper_arm"], ARM_RADIUS * s + so]))
    m["RELB"] = ("humerus_r", np.array([0.0, -L["upper_arm"], 0.45 * ELBOW_BREADTH * s + so]))
    m["RELM"] = ("humerus_r", np.array([0.0, -L["upper_arm"], -(0.55 * ELBOW_BREADTH * s + so)]))
    rh = g.radial_head
    fra = 0.5 * g.wrist + (FOREARM_RADIUS * s + so) * _unit(g.e_lat - 0.5 * g.e_ant)
    m["RFRA"] = ("radius_r", fra - rh)
    m["RWRA"] = ("radius_r", g.wrist + (0.5 * WRIST_BREADTH * s + so) * g.e_lat - rh)
    m["RWRB"] = ("ulna_r", g.wrist - (0.5 * WRIST_BREADTH * s + so) * g.e_lat - 0.005 * s * g.e_ant)
    # 2nd metacarpal head, dorsum (posterior in the anatomical position).
    m["RFIN"] = ("hand_r", 0.95 * L["hand"] * g.e_long + 0.020 * s * g.e_lat
                 - (0.015 * s + so) * g.e_ant)
    # 5th metacarpal head, dorsum: ~5 cm ulnar of the 2nd across the knuckles (hand breadth at
    # the metacarpal heads ~8.5 cm, ANSUR-type) and ~1 cm proximal of it.
    m["RFI5"] = ("hand_r", 0.88 * L["hand"] * g.e_long - 0.032 * s * g.e_lat
                 - (0.015 * s + so) * g.e_ant)
    # Left side mirrors the right.
    for name in list(m):
        if name.startswith("R") and name not in ("RBAK",):
            body, loc = m[name]
            lbody = body[:-2] + "_l" if body.endswith("_r") else body
            m["L" + name[1:]] = (lbody, _mirror_point(loc))
    missing = set(MARKER_NAMES) ^ set(m)
    if missing:
        raise AssertionError(f"marker table and MARKER_NAMES differ: {sorted(missing)}")
    return {name: m[name] for name in MARKER_NAMES}


def foot_contact_points(height: float = DEFAULT_HEIGHT) -> dict[str, np.ndarray]:
    """Points of the sole, per body, in that body's frame (m): body -> (P, 3).

    In the default pose all of them lie on the floor (y = 0). The motion library uses them to
    put the stance foot on the ground.
    """
    g = _Layout(height)
    s = g.s
    st = g.subtalar_point
    fy = g.floor_y
    calcn = np.array([
        [g.heel_x + 0.06 * g.FL, fy, 0.0],  # heel pad
        [g.heel_x + FOOT_ALONG["mtp1"] * g.FL, fy, -0.035 * s],  # 1st metatarsal head
        [g.heel_x + FOOT_ALONG["mtp5"] * g.FL, fy, 0.040 * s],  # 5th metatarsal head
    ]) - st
    toes = np.array([[0.85 * (1.0 - FOOT_ALONG["mtp2"]) * g.FL, fy - g.mtp[1], 0.0]])  # toe pads
    out = {}
    for side in "rl":
        f, _ = _sided(side)
        out[f"calcn_{side}"] = f(calcn)
        out[f"toes_{side}"] = f(toes)
    return out


# =================================================================================================
# XML writing.
# =================================================================================================
def _fmt(x: float) -> str:
    x = float(x)
    if abs(x) < 5e-13:
        x = 0.0
    return f"{x:.10g}"


def _vec(v) -> str:
    return " ".join(_fmt(x) for x in v)


def _other_axes(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit axes completing ``a`` to an orthonormal triad (for unused rotation slots)."""
    a = _unit(a)
    ref = np.array([0.0, 1.0, 0.0]) if abs(a[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    b = _unit(ref - a * (ref @ a))
    return b, np.cross(a, b)


@dataclass
class _Axis:
    coord: str | None  # None: constant 0
    axis: np.ndarray
    function: tuple = ("linear", 1.0)  # ("linear", slope) | ("spline", xs, ys) | ("const", value)


@dataclass
class _Joint:
    name: str
    parent: str
    child: str
    location: np.ndarray  # joint centre in the parent body frame
    coords: list[str]
    rotations: list[_Axis]  # up to 3
    translations: list[_Axis] | None = None  # 3 along x, y, z when given


def _coordinate(parent: ET.Element, name: str, default: float = 0.0) -> None:
    c = _sub(parent, "Coordinate", name=name)
    lo, hi = coordinate_range(name)
    clamped = name not in COORDINATE_GROUPS["free"] + TRANSLATIONAL + COORDINATE_GROUPS["dependent"]
    _sub(c, "default_value", _fmt(default))
    _sub(c, "default_speed_value", "0")
    _sub(c, "range", f"{_fmt(lo)} {_fmt(hi)}")
    _sub(c, "clamped", "true" if clamped else "false")
    _sub(c, "locked", "false")


def _function(parent: ET.Element, fn: tuple) -> None:
    kind = fn[0]
    if kind == "linear":
        f = _sub(parent, "LinearFunction", name="function")
        _sub(f, "coefficients", f"{_fmt(fn[1])} 0")
    elif kind == "const":
        f = _sub(parent, "Constant", name="function")
        _sub(f, "value", _fmt(fn[1]))
    elif kind == "spline":
        f = _sub(parent, "SimmSpline", name="function")
        _sub(f, "x", _vec(fn[1]))
        _sub(f, "y", _vec(fn[2]))
    else:  # pragma: no cover - programming error
        raise ValueError(kind)


def _joint_xml(parent: ET.Element, j: _Joint, defaults: dict[str, float]) -> None:
    e = _sub(parent, "CustomJoint", name=j.name)
    pframe, cframe = f"{j.parent}_offset", f"{j.child}_offset"
    _sub(e, "socket_parent_frame", pframe)
    _sub(e, "socket_child_frame", cframe)
    coords = _sub(e, "coordinates")
    for c in j.coords:
        _coordinate(coords, c, defaults.get(c, 0.0))
    frames = _sub(e, "frames")
    for fname, body, loc in ((pframe, j.parent, j.location), (cframe, j.child, np.zeros(3))):
        f = _sub(frames, "PhysicalOffsetFrame", name=fname)
        _sub(f, "socket_parent", "/ground" if body == "ground" else f"/bodyset/{body}")
        _sub(f, "translation", _vec(loc))
        _sub(f, "orientation", "0 0 0")
    st = _sub(e, "SpatialTransform")
    rots = list(j.rotations)
    if len(rots) == 1:
        b, c = _other_axes(rots[0].axis)
        rots += [_Axis(None, b, ("const", 0.0)), _Axis(None, c, ("const", 0.0))]
    trans = j.translations or [_Axis(None, np.eye(3)[i], ("const", 0.0)) for i in range(3)]
    for i, ax in enumerate(rots + trans):
        kind = "rotation" if i < 3 else "translation"
        t = _sub(st, "TransformAxis", name=f"{kind}{i % 3 + 1}")
        _sub(t, "coordinates", ax.coord or "")
        _sub(t, "axis", _vec(_unit(ax.axis)))
        _function(t, ax.function if ax.coord else ("const", 0.0))


def _joints(g: _Layout) -> list[_Joint]:
    X, Y, Z = np.eye(3)
    L, s = g.L, g.s
    joints = [
        _Joint("ground_pelvis", "ground", "pelvis", np.zeros(3),
               ["pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz"],
               [_Axis("pelvis_tilt", Z), _Axis("pelvis_list", X), _Axis("pelvis_rotation", Y)],
               [_Axis("pelvis_tx", X), _Axis("pelvis_ty", Y), _Axis("pelvis_tz", Z)]),
    ]
    knee_deg = np.array([r[0] for r in KNEE_TRANSLATION])
    knee_x = np.array([r[1] for r in KNEE_TRANSLATION]) * L["thigh"]
    knee_y = np.array([r[2] for r in KNEE_TRANSLATION]) * L["thigh"] - L["thigh"]
    knee_rad = np.radians(knee_deg)
    # Patella centre along its arc (femur frame, relative to the knee centre at extension), as a
    # function of the patellar flexion beta = PATELLA_FLEXION_RATIO * knee flexion. Keeping beta
    # the patella's own rotation (identity function) makes it a plain rotational coordinate.
    beta_rad = PATELLA_FLEXION_RATIO * knee_rad
    arc = np.radians(PATELLA_START_DEG) - beta_rad
    r_pat = PATELLA_TRACK_RADIUS * s
    pat_x = r_pat * np.cos(arc)
    pat_y = PATELLA_ARC_CENTRE * s + r_pat * np.sin(arc)
    for side in "rl":
        mp, ma = _sided(side)
        sd = f"_{side}"
        joints += [
            _Joint(f"hip{sd}", "pelvis", f"femur{sd}", mp(g.hip),
                   [f"hip_flexion{sd}", f"hip_adduction{sd}", f"hip_rotation{sd}"],
                   [_Axis(f"hip_flexion{sd}", ma(Z)), _Axis(f"hip_adduction{sd}", ma(X)),
                    _Axis(f"hip_rotation{sd}", ma(Y))]),
            # Knee flexion about -Z (positive flexion moves the foot backwards); the tibia origin
            # follows the planar-knee splines, in the femur frame.
            _Joint(f"knee{sd}", f"femur{sd}", f"tibia{sd}", np.zeros(3), [f"knee_angle{sd}"],
                   [_Axis(f"knee_angle{sd}", ma(-Z))],
                   [_Axis(f"knee_angle{sd}", X, ("spline", knee_rad, knee_x)),
                    _Axis(f"knee_angle{sd}", Y, ("spline", knee_rad, knee_y)),
                    _Axis(None, Z)]),
            _Joint(f"patellofemoral{sd}", f"femur{sd}", f"patella{sd}", np.array([0.0, -L["thigh"], 0.0]),
                   [f"knee_angle{sd}_beta"],
                   [_Axis(f"knee_angle{sd}_beta", ma(-Z))],
                   [_Axis(f"knee_angle{sd}_beta", X, ("spline", beta_rad, pat_x)),
                    _Axis(f"knee_angle{sd}_beta", Y, ("spline", beta_rad, pat_y)),
                    _Axis(None, Z)]),
            _Joint(f"ankle{sd}", f"tibia{sd}", f"talus{sd}", np.array([0.0, -L["shank"], 0.0]),
                   [f"ankle_angle{sd}"], [_Axis(f"ankle_angle{sd}", ma(g.ankle_axis()))]),
            _Joint(f"subtalar{sd}", f"talus{sd}", f"calcn{sd}", mp(g.subtalar_point),
                   [f"subtalar_angle{sd}"], [_Axis(f"subtalar_angle{sd}", ma(g.subtalar_axis()))]),
            _Joint(f"mtp{sd}", f"calcn{sd}", f"toes{sd}", mp(g.mtp - g.subtalar_point),
                   [f"mtp_angle{sd}"], [_Axis(f"mtp_angle{sd}", ma(g.mtp_axis()))]),
        ]
    joints.append(
        _Joint("back", "pelvis", "torso", g.lumbar,
               ["lumbar_extension", "lumbar_bending", "lumbar_rotation"],
               [_Axis("lumbar_extension", Z), _Axis("lumbar_bending", X), _Axis("lumbar_rotation", Y)]))
    for side in "rl":
        mp, ma = _sided(side)
        sd = f"_{side}"
        joints += [
            _Joint(f"acromial{sd}", "torso", f"humerus{sd}", mp(g.shoulder),
                   [f"arm_flex{sd}", f"arm_add{sd}", f"arm_rot{sd}"],
                   [_Axis(f"arm_flex{sd}", ma(Z)), _Axis(f"arm_add{sd}", ma(X)), _Axis(f"arm_rot{sd}", ma(Y))]),
            _Joint(f"elbow{sd}", f"humerus{sd}", f"ulna{sd}", np.array([0.0, -L["upper_arm"], 0.0]),
                   [f"elbow_flex{sd}"], [_Axis(f"elbow_flex{sd}", ma(g.elbow_axis))]),
            _Joint(f"radioulnar{sd}", f"ulna{sd}", f"radius{sd}", mp(g.radial_head),
                   [f"pro_sup{sd}"], [_Axis(f"pro_sup{sd}", ma(g.pro_sup_axis))]),
            _Joint(f"radius_hand{sd}", f"radius{sd}", f"hand{sd}", mp(g.wrist - g.radial_head),
                   [f"wrist_flex{sd}", f"wrist_dev{sd}"],
                   [_Axis(f"wrist_flex{sd}", ma(Z)), _Axis(f"wrist_dev{sd}", ma(X)),
                    _Axis(None, ma(Y))]),
        ]
    return joints


def default_coordinate_values(height: float = DEFAULT_HEIGHT) -> dict[str, float]:
    """Default pose: all zero but ``pelvis_ty``, the standing height of the pelvis origin (m)."""
    out = {c: 0.0 for c in COORDINATE_NAMES}
    out["pelvis_ty"] = _Layout(height).pelvis_height
    return out


_HEADER = """
  odah generic full-body model, written by pipeline/kinematics/generic_model.py: do not edit by
  hand; change the tables there and run `python -m pipeline.kinematics.generic_model`.
  Subject: stature {height:.3f} m, mass {mass:.1f} kg. 22 bodies and the coordinate names of
  Rajagopal et al. (2016); segment lengths, masses, COMs and radii of gyration from de Leva (1996);
  landmark heights from Drillis & Contini via Winter (2009); hip centre from Harrington et al.
  (2007); ankle and subtalar axes from Inman (1976) and Isman & Inman (1969); planar knee from
  Yamaguchi & Zajac (1989); ranges of motion from the AAOS (Greene & Heckman 1994). Markers:
  Plug-in Gait full body plus medial knee, ankle and elbow markers and the 5th metacarpal heads.
"""


def build_generic_model(height: float = DEFAULT_HEIGHT, mass: float = DEFAULT_MASS) -> str:
    """The generic model as OpenSim 4 XML text for a subject of ``height`` m and ``mass`` kg."""
    if not (0.5 <= height <= 2.5) or not (5.0 <= mass <= 300.0):
        raise ValueError(f"implausible subject: height {height} m, mass {mass} kg")
    g = _Layout(height)
    inertias = _inertias(g, mass)
    defaults = default_coordinate_values(height)

    doc = ET.Element("OpenSimDocument", Version="40000")
    model = _sub(doc, "Model", name=MODEL_NAME)
    model.append(ET.Comment(_HEADER.format(height=height, mass=mass).rstrip() + "\n  "))
    _sub(model, "credits", "The odah project (generated by pipeline/kinematics/generic_model.py)")
    _sub(model, "publications",
         "de Leva P (1996) J Biomech 29:1223; Winter DA (2009) Biomechanics and Motor Control of "
         "Human Movement; Harrington ME et al. (2007) J Biomech 40:595; Inman VT (1976) The Joints "
         "of the Ankle; Isman RE, Inman VT (1969) Bull Prosthet Res 10-11:97; Yamaguchi GT, Zajac FE "
         "(1989) J Biomech 22:1; Greene WB, Heckman JD (1994) The Clinical Measurement of Joint "
         "Motion, AAOS; Rajagopal A et al. (2016) IEEE TBME 63:2068 (body and coordinate names)")
    _sub(model, "length_units", "meters")
    _sub(model, "force_units", "N")
    _sub(model, "gravity", "0 -9.80665 0")
    _sub(model, "Ground", name="ground")

    bodyset = _sub(model, "BodySet", name="bodyset")
    objs = _sub(bodyset, "objects")
    for name in BODY_NAMES:
        ine = inertias[name]
        b = _sub(objs, "Body", name=name)
        _sub(b, "mass", _fmt(ine.mass))
        _sub(b, "mass_center", _vec(ine.com))
        _sub(b, "inertia", _vec(list(ine.diag) + [0.0, 0.0, 0.0]))

    jointset = _sub(model, "JointSet", name="jointset")
    objs = _sub(jointset, "objects")
    for j in _joints(g):
        _joint_xml(objs, j, defaults)

    cset = _sub(model, "ConstraintSet", name="constraintset")
    objs = _sub(cset, "objects")
    for side in "rl":
        c = _sub(objs, "CoordinateCouplerConstraint", name=f"patellofemoral_knee_angle_{side}_con")
        f = _sub(c, "coupled_coordinates_function")
        lf = _sub(f, "LinearFunction")
        _sub(lf, "coefficients", f"{_fmt(PATELLA_FLEXION_RATIO)} 0")
        _sub(c, "independent_coordinate_names", f"knee_angle_{side}")
        _sub(c, "dependent_coordinate_name", f"knee_angle_{side}_beta")

    mset = _sub(model, "MarkerSet", name="markerset")
    objs = _sub(mset, "objects")
    for name, (body, loc) in _markers(g).items():
        mk = _sub(objs, "Marker", name=name)
        _sub(mk, "socket_parent_frame", f"/bodyset/{body}")
        _sub(mk, "location", _vec(loc))
        _sub(mk, "fixed", "false")

    return _serialize(doc)


def _serialize(doc: ET.Element) -> str:
    ET.indent(doc, space="\t")
    return '<?xml version="1.0" encoding="UTF-8" ?>\n' + ET.tostring(doc, encoding="unicode") + "\n"


# =================================================================================================
# OpenSim tool set-ups for this model (used by the opensim backend and the tests).
# =================================================================================================
def build_ik_task_set() -> str:
    """An OpenSim IKTaskSet for the generic markers (weights from ``IK_MARKER_WEIGHTS``)."""
    doc = ET.Element("OpenSimDocument", Version="40000")
    doc.append(_ik_task_set())
    return _serialize(doc)


def _ik_task_set() -> ET.Element:
    weights = {name: IK_MARKER_WEIGHTS[name if name in IK_MARKER_WEIGHTS else name[1:]] for name in MARKER_NAMES}
    return ik_task_set("odah_fullbody_ik_tasks", weights, IK_COORDINATE_TASKS, num=_fmt)


def build_scale_setup(model_file: str = "odah_fullbody.osim", marker_file: str = "static.trc",
                      mass: float = DEFAULT_MASS, height: float = DEFAULT_HEIGHT,
                      time_range: tuple[float, float] = (0.0, 1.0),
                      output_model_file: str = "scaled.osim",
                      output_scale_file: str = "scale_factors.xml",
                      output_motion_file: str = "static_pose.mot",
                      place_markers: bool = True, preserve_mass_distribution: bool = True) -> str:
    """An OpenSim ScaleTool set-up for this model: measurements from ``SCALE_MEASUREMENTS``,
    marker placement with the IK task set. Paths are relative to the set-up file's folder."""
    return _serialize(scale_setup(
        name="odah_subject", mass=mass, height=height, notes="Generated by pipeline/kinematics/generic_model.py",
        model_file=model_file, marker_set_file="Unassigned", measurements=SCALE_MEASUREMENTS,
        marker_file=marker_file, time_range=time_range, task_set=_ik_task_set(),
        output_scale_file=output_scale_file, output_model_file=output_model_file,
        output_motion_file=output_motion_file, place_markers=place_markers,
        preserve_mass_distribution=preserve_mass_distribution, num=_fmt))


def shipped_files() -> dict[Path, str]:
    """Every file in data/ that this generator owns, with its content."""
    return {
        GENERIC_MODEL_PATH: build_generic_model(),
        IK_TASKS_PATH: build_ik_task_set(),
        SCALE_SETUP_PATH: build_scale_setup(),
    }


def write_generic_model(path: str | Path = GENERIC_MODEL_PATH, height: float = DEFAULT_HEIGHT,
                        mass: float = DEFAULT_MASS) -> Path:
    """Write the model for ``height`` m / ``mass`` kg to ``path`` (atomically)."""
    from pipeline.io_utils import atomic_write_text

    return atomic_write_text(path, build_generic_model(height, mass))


def main() -> int:
    from pipeline.io_utils import atomic_write_text

    for path, text in shipped_files().items():
        atomic_write_text(path, text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
