"""bpy side of ``odah render-check``: render one tiny EEVEE image and report engine and device."""

from __future__ import annotations

import math
import time

import bpy

from pipeline.render.bpy_render import ENGINE, gpu_info, require_device


def _build_scene(width: int, height: int, samples: int) -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = ENGINE
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.use_motion_blur = False
    scene.eevee.taa_render_samples = samples
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"

    def obj(name, data, location=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0)):
        ob = bpy.data.objects.new(name, data)
        ob.location, ob.rotation_euler = location, rotation
        scene.collection.objects.link(ob)
        return ob

    sphere = bpy.data.meshes.new("sphere")
    import bmesh

    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=0.5)
    bm.to_mesh(sphere)
    bm.free()
    mat = bpy.data.materials.new("red")
    mat.diffuse_color = (0.8, 0.1, 0.1, 1.0)
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    bsdf.inputs["Base Color"].default_value = (0.8, 0.1, 0.1, 1.0)
    sphere.materials.append(mat)
    obj("sphere", sphere, (0.0, 0.0, 0.5))
    floor = bpy.data.meshes.new("floor")
    floor.from_pydata([(-3, -3, 0), (3, -3, 0), (3, 3, 0), (-3, 3, 0)], [], [(0, 1, 2, 3)])
    obj("floor", floor)
    light = bpy.data.lights.new("area", "AREA")
    light.energy, light.size = 300.0, 1.0
    obj("area", light, (0.0, 0.0, 3.0))
    cam = bpy.data.cameras.new("camera")
    cam.lens, cam.sensor_width, cam.sensor_fit = 33.0, 36.0, "HORIZONTAL"
    scene.camera = obj("camera", cam, (0.0, -4.0, 1.1), (math.radians(85.0), 0.0, 0.0))
    return scene


def run(job: dict) -> dict:
    """Render ``job["output"]`` (PNG, ``job["width"]`` x ``job["height"]``); return a report."""
    t0 = time.monotonic()
    scene = _build_scene(int(job["width"]), int(job["height"]), int(job.get("samples", 1)))
    scene.render.filepath = job["output"]
    t1 = time.monotonic()
    bpy.ops.render.render(write_still=True)
    t2 = time.monotonic()
    info = gpu_info()
    require_device(job.get("device", "auto"), info)
    return {
        "engine": scene.render.engine,
        "blender": bpy.app.version_string,
        "gpu": info,
        "width": scene.render.resolution_x,
        "height": scene.render.resolution_y,
        "samples": scene.eevee.taa_render_samples,
        "build_seconds": t1 - t0,
        "render_seconds": t2 - t1,
        "output": job["output"],
    }
