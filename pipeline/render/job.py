"""Turn a scene spec and a body mesh into a render job for the bpy side (no bpy here).

Everything that can be computed without Blender is computed here, in the main environment, so the
bpy side stays a thin builder: axis conversions (through :mod:`pipeline.axes`), camera matrices
(from :mod:`pipeline.scene.camera`, the same numbers the labels use), clothing face regions,
material recipes with absolute image paths, and the vertex animation as a ``.pc2`` point cache.

Job files in the work folder: ``job.json`` (written by the launcher), ``mesh.npz`` (faces, face
regions, rest positions) and ``mesh.pc2`` (frames), all in Blender world axes, metres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import axes
from ..body.mesh import MeshSequence
from ..config.schema import RenderConfig
from ..errors import BodyModelError, RenderError
from ..io_utils import atomic_path, atomic_savez
from ..layout import VIEWS
from ..scene.camera import PinholeCamera
from ..scene.clothing import REGION_NAMES, Manifest, face_regions
from ..scene.spec import SLOTS, MaterialSpec, SceneSpec
from .pc2 import write_pc2

#: Colour management of every render (Blender's default view transform).
VIEW_TRANSFORM = "AgX"


def material_recipe(mat: MaterialSpec, manifest: Manifest, coords: str, person: bool) -> dict[str, Any]:
    """What ``bpy_scene`` needs to build one material's node set-up.

    ``coords``: "rest" (the mesh's rest-position attribute: textures stick to the moving body) or
    "object" (static objects' own coordinates, metres).
    """
    image = manifest.image_path(mat)
    return {
        "kind": mat.kind, "colors": [list(map(float, c)) for c in mat.colors], "scale": float(mat.scale),
        "rotation_deg": float(mat.rotation_deg), "roughness": float(mat.roughness),
        "image": str(image.resolve()) if image else "", "coords": coords, "person": person,
    }


def auto_shadow_pool(shadow_resolution: float, width: int, height: int) -> int:
    """Shadow pool (MB) that holds a clip's shadow pages with room to spare.

    Measured page use (256 KB each) with 4-6 area lights of up to 1.5 m: at shadow resolution 0.5
    about 100 pages at 1080x720, 150 at 1920x1080 and 380 at 3840x2160 (128 MB holds 512); at
    resolution 1 about 630 at 1080x720 and 1400 at 1920x1080 with 4 lights (512 MB holds 2048).
    Allocating the pool costs time every frame (about 0.25 s per view-frame for 512 MB on a CPU).
    """
    if shadow_resolution <= 0.5:
        return 128
    return 512 if width * height <= 1_000_000 else 1024


def eevee_settings(render_cfg=None) -> dict[str, Any]:
    """EEVEE speed/quality settings from the ``render`` config (its defaults when None), for the bpy side."""
    rc = render_cfg if render_cfg is not None else RenderConfig()
    pool = int(rc.shadow_pool) or auto_shadow_pool(rc.shadow_resolution, rc.width, rc.height)
    return {"shadow_resolution": float(rc.shadow_resolution), "shadow_pool": pool,
            "shadow_rays": int(rc.shadow_rays), "shadow_steps": int(rc.shadow_steps)}


def _room_box_blender(spec: SceneSpec) -> tuple[list[float], list[float]]:
    r = spec.room
    cx, cz = r.center
    sx, sz = r.size
    corners = np.array([[cx + dx * sx / 2, y, cz + dz * sz / 2]
                        for dx in (-1, 1) for dz in (-1, 1) for y in (r.floor_height, r.floor_height + r.height)])
    bl = axes.opensim_to_blender(corners)
    return bl.min(axis=0).tolist(), bl.max(axis=0).tolist()


def prepare_clip_job(
    spec: SceneSpec,
    mesh: MeshSequence,
    manifest: Manifest,
    work_dir: str | Path,
    *,
    samples: int,
    device: str,
    frames_dirs: dict[str, str | Path],
    masks_dirs: dict[str, str | Path],
    save_blend: str | Path | None = None,
    blend_cache: str | Path | None = None,
    debug: dict[str, Any] | None = None,
    eevee: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``mesh.npz``/``mesh.pc2`` into ``work_dir`` and return the job dict.

    Args:
        spec: the clip's scene (validated).
        mesh: the clip's body mesh sequence (OpenSim world, metres); NaNs are rejected here.
        manifest: the clothing library the spec was drawn from.
        samples, device: EEVEE samples and device choice (see the ``render`` config).
        frames_dirs, masks_dirs: per view, where the bpy side writes PNG frames and masks.
        save_blend: also save the built scene there (before rendering); its animation then reads
            the point cache at ``blend_cache`` (the caller moves ``mesh.pc2`` there).
        debug: test hooks: ``spheres`` ``(T, K, 3)`` OpenSim points rendered as small emissive
            spheres (``sphere_radius``), ``hide_person``, ``hide_room``.
        eevee: shadow settings from :func:`eevee_settings` (default: the config's defaults).
    """
    clip = spec.clip_id
    try:
        mesh.validate()
    except BodyModelError as exc:
        raise RenderError(f"clip '{clip}': {exc}") from None
    manifest.check_spec(spec.clothing, clip)
    work_dir = Path(work_dir).resolve()  # the render process runs elsewhere: absolute paths only
    work_dir.mkdir(parents=True, exist_ok=True)

    verts_bl = axes.opensim_to_blender(np.asarray(mesh.vertices, np.float64)).astype(np.float32)
    regions = face_regions(mesh, manifest, spec.clothing, clip)
    mesh_npz = work_dir / "mesh.npz"
    atomic_savez(mesh_npz, rest=verts_bl[0], faces=np.asarray(mesh.faces, np.int32), regions=regions)
    pc2 = write_pc2(work_dir / "mesh.pc2", verts_bl)

    materials: dict[str, Any] = {"skin": {
        "kind": "solid", "colors": [list(map(float, spec.clothing.skin_color))], "scale": 1.0,
        "rotation_deg": 0.0, "roughness": float(spec.clothing.skin_roughness), "image": "",
        "coords": "rest", "person": True,
    }}
    offsets = {"skin": 0.0}
    for slot in SLOTS:
        g = spec.clothing.slot(slot)
        if g.material is not None:
            materials[slot] = material_recipe(g.material, manifest, "rest", True)
            offsets[slot] = float(g.offset)

    views = {}
    for v in VIEWS:
        cs = spec.cameras[v]
        cam = PinholeCamera.from_spec(cs)
        views[v] = {
            "matrix_world": cam.blender_matrix_world().tolist(), "lens": cs.focal_mm,
            "sensor": cs.sensor_width_mm, "sensor_fit": cs.sensor_fit, "width": cs.width, "height": cs.height,
            "clip_start": cs.clip_start, "clip_end": cs.clip_end,
            "frames_dir": str(frames_dirs[v]), "masks_dir": str(masks_dirs[v]),
        }
    box_min, box_max = _room_box_blender(spec)
    room = {"min": box_min, "max": box_max,
            "floor": material_recipe(spec.room.floor, manifest, "object", False),
            "wall": material_recipe(spec.room.wall, manifest, "object", False),
            "ceiling_color": spec.room.ceiling_color}
    lights = [{"location": axes.opensim_to_blender(np.asarray(li.location, float)).tolist(), "size": li.size,
               "power": li.power, "temperature": li.temperature} for li in spec.lights]
    job: dict[str, Any] = {
        "kind": "clip", "frames": mesh.num_frames, "fps": float(mesh.fps), "samples": int(samples),
        "device": device, "view_transform": VIEW_TRANSFORM, "eevee": dict(eevee or eevee_settings()),
        "mesh": {"npz": str(mesh_npz), "pc2": str(pc2), "vertices": mesh.num_vertices},
        "regions": list(REGION_NAMES), "materials": materials, "offsets": offsets,
        "views": views, "room": room, "lights": lights,
        "world": {"color": spec.room.ambient_color, "strength": spec.room.ambient_strength},
        "save_blend": str(save_blend) if save_blend else "",
        "blend_cache": str(Path(blend_cache).resolve()) if blend_cache else "",
        "debug": {},
    }
    if debug:
        dbg = {"hide_person": bool(debug.get("hide_person")), "hide_room": bool(debug.get("hide_room"))}
        if debug.get("spheres") is not None:
            pts = np.asarray(debug["spheres"], np.float64)
            if pts.shape[0] != mesh.num_frames or pts.ndim != 3:
                raise RenderError(f"clip '{clip}': debug spheres must be (T={mesh.num_frames}, K, 3), got {pts.shape}")
            sph = work_dir / "spheres.npy"
            with atomic_path(sph) as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, axes.opensim_to_blender(pts).astype(np.float64))
            dbg["spheres"] = str(sph)
            dbg["sphere_radius"] = float(debug.get("sphere_radius", 0.02))
        job["debug"] = dbg
    return job
