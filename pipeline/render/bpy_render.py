"""bpy side: render settings, device report and the per-view animation render of a clip."""

from __future__ import annotations

import bpy

from pipeline.render.common import is_software

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


def require_device(device: str, info: dict) -> None:
    """``render.device=gpu`` must not silently fall back to a software rasteriser."""
    if device == "gpu" and is_software(info):
        raise RuntimeError(
            f"render.device=gpu but EEVEE ran on a software renderer ({info.get('renderer')}); "
            "is the GPU driver's EGL library installed?"
        )


def configure(scene, job: dict) -> None:
    """EEVEE, size, samples, shadows, frame range and rate, no motion blur, PNG output."""
    first = next(iter(job["views"].values()))
    r = scene.render
    r.engine = ENGINE
    r.resolution_x, r.resolution_y = int(first["width"]), int(first["height"])
    r.resolution_percentage = 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    r.use_motion_blur = False
    r.film_transparent = False
    fps = float(job["fps"])
    r.fps = max(1, round(fps))
    r.fps_base = r.fps / fps
    scene.eevee.taa_render_samples = int(job["samples"])
    ee = job["eevee"]
    scene.eevee.use_shadows = True
    scene.eevee.shadow_resolution_scale = float(ee["shadow_resolution"])
    scene.eevee.shadow_pool_size = str(int(ee["shadow_pool"]))
    scene.eevee.shadow_ray_count = int(ee["shadow_rays"])
    scene.eevee.shadow_step_count = int(ee["shadow_steps"])
    scene.frame_start, scene.frame_end = 1, int(job["frames"])
    scene.view_settings.view_transform = job.get("view_transform", "AgX")
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGB"
    r.image_settings.color_depth = "8"
    r.use_file_extension = True
    r.use_compositing = True


def eevee_report(scene) -> dict:
    """The speed-relevant EEVEE settings as Blender holds them (written into render_info.json)."""
    e = scene.eevee
    return {"shadow_resolution": round(e.shadow_resolution_scale, 4), "shadow_pool": int(e.shadow_pool_size),
            "shadow_rays": e.shadow_ray_count, "shadow_steps": e.shadow_step_count,
            "world_probe_resolution": int(scene.world.probe_resolution) if scene.world else None,
            "shadow_casters": sorted(ob.name for ob in scene.objects if ob.type == "MESH" and ob.visible_shadow)}


def camera_report(scene, cam_obj) -> dict:
    """The camera as Blender sees it: matrix_world and its projection matrix (for label checks)."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    r = scene.render
    proj = cam_obj.calc_matrix_camera(depsgraph, x=r.resolution_x, y=r.resolution_y,
                                      scale_x=r.pixel_aspect_x, scale_y=r.pixel_aspect_y)
    return {"matrix_world": [list(row) for row in cam_obj.matrix_world],
            "projection": [list(row) for row in proj],
            "lens": cam_obj.data.lens, "sensor_width": cam_obj.data.sensor_width,
            "sensor_fit": cam_obj.data.sensor_fit}


def render_clip(job: dict, progress=None) -> dict:
    """Build the scene and render every frame of both views with masks; return timings and devices."""
    import time

    from pipeline.render.bpy_scene import build_scene

    t0 = time.monotonic()
    scene, cams, masks = build_scene(job)
    configure(scene, job)
    if job.get("save_blend"):
        # The saved file reads the point cache where the caller will keep it, not the work folder.
        caches = [m for ob in scene.objects for m in ob.modifiers if m.type == "MESH_CACHE"]
        for m in caches:
            m.filepath = job.get("blend_cache") or m.filepath
        bpy.ops.wm.save_as_mainfile(filepath=job["save_blend"], copy=True, check_existing=False,
                                    relative_remap=False)  # absolute: the file is moved afterwards
        for m in caches:
            m.filepath = job["mesh"]["pc2"]
    t_build = time.monotonic() - t0
    frames = int(job["frames"])
    total = frames * len(cams)
    state = {"done": 0, "view": ""}

    def on_write(scn, *_):
        state["done"] += 1
        if progress:
            progress(view=state["view"], frame=scn.frame_current, done=state["done"], total=total)

    bpy.app.handlers.render_write.append(on_write)
    views = {}
    try:
        for view, cam in cams.items():
            v = job["views"][view]
            state["view"] = view
            scene.camera = cam
            scene.render.filepath = v["frames_dir"].rstrip("/") + "/######"
            masks.directory = v["masks_dir"].rstrip("/") + "/"
            masks.file_name = ""
            t = time.monotonic()
            bpy.ops.render.render(animation=True)
            views[view] = {"seconds": time.monotonic() - t, "camera": camera_report(scene, cam)}
    finally:
        bpy.app.handlers.render_write.remove(on_write)
    info = gpu_info()
    require_device(job.get("device", "auto"), info)
    return {"engine": scene.render.engine, "blender": bpy.app.version_string, "gpu": info,
            "frames": frames, "frames_written": state["done"], "build_seconds": t_build, "views": views,
            "width": scene.render.resolution_x, "height": scene.render.resolution_y,
            "samples": scene.eevee.taa_render_samples, "eevee": eevee_report(scene)}
