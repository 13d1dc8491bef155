"""One exception type per stage.

Every error the pipeline raises on purpose derives from :class:`OdahError`; the CLI prints its
message (which names the file, the field and what was expected) and exits non-zero without a
traceback, unless ``--verbose`` is given.
"""


class OdahError(Exception):
    """Base class of every deliberate odah error."""

    exit_code = 1


class ConfigError(OdahError):
    """A configuration key is unknown, has the wrong type or is out of range."""

    exit_code = 2


class KinematicsError(OdahError):
    """OpenSim model parsing, forward/inverse kinematics and scaling."""


class MotionIOError(KinematicsError):
    """Reading or writing TRC, MOT/STO and C3D files."""


class BodyModelError(OdahError):
    """Body models (anny, smplx) and their files."""


class MotionSourceError(OdahError):
    """Motion sources: AMASS files, marker files, OpenSim motions, the motion library."""


class MarkerLayoutError(OdahError):
    """Marker layouts and virtual markers."""


class SceneError(OdahError):
    """Scene specification, sampling, clothing library and camera placement."""


class RenderError(OdahError):
    """The render launcher and the Blender side."""


class EncodeError(OdahError):
    """Video encoding through ffmpeg."""


class TaskError(OdahError):
    """Luigi task wiring and dataset bookkeeping."""
