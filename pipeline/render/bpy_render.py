"""bpy side: render settings, device report and the per-view animation render of a clip."""

from __future__ import annotations

import bpy

#: The EEVEE engine identifier in bpy 5.0 (EEVEE Next; 'BLENDER_EEVEE_NEXT' was its 4.2-4.4 name).
ENGINE = "BLENDER_EEVEE"


def gpu_info() -> dict:
    """Vendor, renderer, version, backend and device type of the GPU context EEVEE used.

    Only meaningful after a render (background bpy creates the GPU context lazily).
    """
    try:
        import gpu

        p = gpu.platform
        return {
            "vendor": p.vendor_get(), "renderer": p.renderer_get(), "version": p.version_get(),
            "backend": p.backend_type_get(), "device_type": p.device_type_get(),
        }
    except Exception as exc:  # noqa: BLE001 - report, do not fail the render over it
        return {"error": str(exc)}


def is_software(info: dict) -> bool:
    text = f"{info.get('renderer', '')} {info.get('device_type', '')}".lower()
    return any(word in text for word in ("llvmpipe", "softpipe", "software", "swiftshader"))


def require_device(device: str, info: dict) -> None:
    """``render.device=gpu`` must not silently fall back to a software rasteriser."""
    if device == "gpu" and is_software(info):
        raise RuntimeError(
            f"render.device=gpu but EEVEE ran on a software renderer ({info.get('renderer')}); "
            "is the GPU driver's EGL library installed?"
        )
