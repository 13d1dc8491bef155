"""What both render environments share: the progress-line tag and the software-renderer test.

Standard library only: the launcher side (this environment) and the bpy side (the render
environment: bpy, numpy<2, no torch) both import it.
"""

from __future__ import annotations

#: Prefix of the progress lines the render process prints (``ODAH_PROGRESS {json}``).
PROGRESS_TAG = "ODAH_PROGRESS "

_SOFTWARE_WORDS = ("llvmpipe", "softpipe", "software", "swiftshader")


def is_software(info: dict) -> bool:
    """Whether the GPU report ``info`` (``renderer``, ``device_type``: bpy's ``gpu.platform``) is a
    software rasteriser (Mesa's llvmpipe and the like) rather than a GPU."""
    text = f"{info.get('renderer', '')} {info.get('device_type', '')}".lower()
    return any(word in text for word in _SOFTWARE_WORDS)
