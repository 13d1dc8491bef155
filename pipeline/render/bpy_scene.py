"""bpy side: build a clip's Blender scene from a render job (see ``pipeline.render.job``).

The body is built once from its rest positions and animated by a MESH_CACHE modifier reading the
job's ``.pc2`` point cache, so no object is rebuilt per frame. Each clothing region is its own
object sharing that cache (same vertex set, the region's faces only), pushed out along the
normals by a DISPLACE modifier. Every person material writes 1 into the ``person`` AOV, which the
compositor saves as the person mask.
"""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Matrix

PERSON_AOV = "person"
REST_ATTRIBUTE = "rest_position"


# --- materials ----------------------------------------------------------------------------------


def _ramp(nodes, links, fac_socket, colors, constant: bool):
    """ColorRamp mapping a factor in [0, 1] onto 1-4 colours."""
    ramp = nodes.new("ShaderNodeValToRGB")
    cr = ramp.color_ramp
    cr.interpolation = "CONSTANT" if constant else "LINEAR"
    n = len(colors)
    while len(cr.elements) < n:
        cr.elements.new(0.5)
    for i, el in enumerate(cr.elements):
        c = colors[min(i, n - 1)]
        el.position = i / n if constant else (i / max(n - 1, 1))
        el.color = (*c, 1.0)
    links.new(fac_socket, ramp.inputs["Fac"])
    return ramp.outputs["Color"]


def _math(nodes, links, op, a, b=None, value_b=None):
    m = nodes.new("ShaderNodeMath")
    m.operation = op
    links.new(a, m.inputs[0])
    if b is not None:
        links.new(b, m.inputs[1])
    elif value_b is not None:
        m.inputs[1].default_value = value_b
    return m.outputs[0]


def _vmath(nodes, links, op, a, vec=None, scale=None):
    m = nodes.new("ShaderNodeVectorMath")
    m.operation = op
    links.new(a, m.inputs[0])
    if vec is not None:
        m.inputs[1].default_value = vec
    if scale is not None:
        m.inputs["Scale"].default_value = scale
    return m.outputs["Vector"] if op != "DOT_PRODUCT" else m.outputs["Value"]


def _coords(nodes, recipe):
    """Texture coordinates in metres: the rest position (person) or object coordinates (room)."""
    if recipe["coords"] == "rest":
        attr = nodes.new("ShaderNodeAttribute")
        attr.attribute_type = "GEOMETRY"
        attr.attribute_name = REST_ATTRIBUTE
        return attr.outputs["Vector"]
    tc = nodes.new("ShaderNodeTexCoord")
    return tc.outputs["Object"]


def _pattern_color(nodes, links, recipe):
    """The base-colour socket of a recipe's pattern."""
    kind, colors, scale = recipe["kind"], recipe["colors"], float(recipe["scale"])
    rot = math.radians(recipe["rotation_deg"])
    if kind == "solid":
        rgb = nodes.new("ShaderNodeRGB")
        rgb.outputs[0].default_value = (*colors[0], 1.0)
        return rgb.outputs[0]
    co = _coords(nodes, recipe)
    if kind == "stripes":
        # Bands across the direction (sin r, 0, cos r): r = 0 gives horizontal stripes on a standing body.
        d = _vmath(nodes, links, "DOT_PRODUCT", co, vec=(math.sin(rot), 0.0, math.cos(rot)))
        f = _math(nodes, links, "FRACT", _math(nodes, links, "MULTIPLY", d, value_b=scale))
        return _ramp(nodes, links, f, colors, constant=True)
    if kind == "checks":
        cell = _vmath(nodes, links, "FLOOR", _vmath(nodes, links, "SCALE", co, scale=scale))
        s = _vmath(nodes, links, "DOT_PRODUCT", cell, vec=(1.0, 1.0, 1.0))
        f = _math(nodes, links, "FLOORED_MODULO", s, value_b=2.0)
        f = _math(nodes, links, "MULTIPLY", f, value_b=0.5)
        return _ramp(nodes, links, f, colors, constant=True)
    if kind in ("noise", "denim", "wood"):
        noise = nodes.new("ShaderNodeTexNoise")
        links.new(co, noise.inputs["Vector"])
        noise.inputs["Scale"].default_value = scale
        noise.inputs["Detail"].default_value = 3.0
        fac = noise.outputs["Fac"]
        if kind == "denim":  # fine diagonal twill, modulated by the noise
            d = _vmath(nodes, links, "DOT_PRODUCT", co, vec=(0.7071, 0.0, 0.7071))
            tw = _math(nodes, links, "SINE", _math(nodes, links, "MULTIPLY", d, value_b=scale * 2 * math.pi))
            tw = _math(nodes, links, "MULTIPLY", _math(nodes, links, "ADD", tw, value_b=1.0), value_b=0.5)
            fac = _math(nodes, links, "MULTIPLY", _math(nodes, links, "ADD", tw, fac), value_b=0.5)
            return _ramp(nodes, links, fac, colors, constant=False)
        if kind == "wood":
            wave = nodes.new("ShaderNodeTexWave")
            wave.wave_type = "BANDS"
            wave.bands_direction = "X"
            links.new(_vmath(nodes, links, "SCALE", co, scale=scale), wave.inputs["Vector"])
            wave.inputs["Distortion"].default_value = 6.0
            wave.inputs["Detail"].default_value = 3.0
            return _ramp(nodes, links, wave.outputs["Fac"], colors, constant=False)
        return _ramp(nodes, links, fac, colors, constant=len(colors) > 2)
    if kind == "tiles":
        brick = nodes.new("ShaderNodeTexBrick")
        links.new(co, brick.inputs["Vector"])
        brick.inputs["Scale"].default_value = scale
        brick.inputs["Color1"].default_value = (*colors[0], 1.0)
        brick.inputs["Color2"].default_value = (*colors[-1], 1.0)
        brick.inputs["Mortar"].default_value = (0.8, 0.8, 0.8, 1.0)
        brick.inputs["Mortar Size"].default_value = 0.01
        return brick.outputs["Color"]
    if kind == "image":
        tex = nodes.new("ShaderNodeTexImage")
        img = bpy.data.images.load(recipe["image"], check_existing=True)
        if tuple(img.size) == (0, 0):  # Blender would silently render it magenta
            raise RuntimeError(f"texture image {recipe['image']} cannot be read (not an image Blender can load)")
        img.colorspace_settings.name = "Non-Color"
        tex.image = img
        tex.projection = "BOX"
        tex.projection_blend = 0.3
        links.new(_vmath(nodes, links, "SCALE", co, scale=scale), tex.inputs["Vector"])
        return _ramp(nodes, links, tex.outputs["Color"], colors, constant=False)
    raise ValueError(f"unknown texture kind {kind!r}")


def make_material(name: str, recipe: dict) -> bpy.types.Material:
    """A Principled material from a recipe; person materials also write the person AOV."""
    mat = bpy.data.materials.new(name)
    nt = mat.node_tree
    nodes, links = nt.nodes, nt.links
    bsdf = nodes.get("Principled BSDF")
    links.new(_pattern_color(nodes, links, recipe), bsdf.inputs["Base Color"])
    bsdf.inputs["Roughness"].default_value = float(recipe["roughness"])
    mat.diffuse_color = (*recipe["colors"][0], 1.0)
    if recipe.get("person"):
        aov = nodes.new("ShaderNodeOutputAOV")
        aov.aov_name = PERSON_AOV
        aov.inputs["Value"].default_value = 1.0
    return mat


def make_emission(name: str, color, strength: float) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    nt = mat.node_tree
    for n in list(nt.nodes):
        if n.type != "OUTPUT_MATERIAL":
            nt.nodes.remove(n)
    em = nt.nodes.new("ShaderNodeEmission")
    em.inputs["Color"].default_value = (*color, 1.0)
    em.inputs["Strength"].default_value = strength
    nt.links.new(em.outputs[0], nt.nodes.get("Material Output").inputs["Surface"])
    return mat


# --- geometry -----------------------------------------------------------------------------------


def mesh_from_arrays(name: str, verts: np.ndarray, faces: np.ndarray) -> bpy.types.Mesh:
    """A triangle mesh from ``verts (V, 3)`` and ``faces (F, 3)`` without Python loops."""
    me = bpy.data.meshes.new(name)
    me.vertices.add(len(verts))
    me.vertices.foreach_set("co", np.ascontiguousarray(verts, np.float32).ravel())
    me.loops.add(faces.size)
    me.loops.foreach_set("vertex_index", np.ascontiguousarray(faces, np.int32).ravel())
    me.polygons.add(len(faces))
    me.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    me.polygons.foreach_set("use_smooth", np.ones(len(faces), bool))
    me.update()
    me.validate()
    return me


def _link(scene, name: str, data) -> bpy.types.Object:
    ob = bpy.data.objects.new(name, data)
    scene.collection.objects.link(ob)
    return ob


def build_person(scene, job: dict) -> list[bpy.types.Object]:
    """One object per region (skin and each garment), all animated by the job's point cache."""
    data = np.load(job["mesh"]["npz"])
    rest, faces, regions = data["rest"], data["faces"], data["regions"]
    objects = []
    for code, region in enumerate(job["regions"]):
        recipe = job["materials"].get(region)
        sel = faces[regions == code]
        if recipe is None or not len(sel):
            continue
        me = mesh_from_arrays(f"person_{region}", rest, sel)
        attr = me.attributes.new(REST_ATTRIBUTE, "FLOAT_VECTOR", "POINT")
        attr.data.foreach_set("vector", np.ascontiguousarray(rest, np.float32).ravel())
        me.materials.append(make_material(f"mat_{region}", recipe))
        ob = _link(scene, f"person_{region}", me)
        mc = ob.modifiers.new("animation", "MESH_CACHE")
        mc.cache_format = "PC2"
        mc.filepath = job["mesh"]["pc2"]
        mc.frame_start = 1.0  # scene frame 1 -> cache sample 0
        mc.interpolation = "NONE"
        offset = float(job["offsets"].get(region, 0.0))
        if offset > 0:
            dp = ob.modifiers.new("offset", "DISPLACE")
            dp.direction = "NORMAL"
            dp.mid_level = 0.0
            dp.strength = offset
        objects.append(ob)
    return objects


def build_room(scene, job: dict) -> None:
    """Floor, four walls and a ceiling (one box mesh, normals inward), and the ceiling lights."""
    room = job["room"]
    (x0, y0, z0), (x1, y1, z1) = room["min"], room["max"]
    verts = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                      [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], np.float32)
    quads = {  # wound so normals face into the room
        "floor": [(0, 1, 2), (0, 2, 3)], "ceiling": [(4, 7, 6), (4, 6, 5)],
        "wall": [(0, 4, 5), (0, 5, 1), (1, 5, 6), (1, 6, 2), (2, 6, 7), (2, 7, 3), (3, 7, 4), (3, 4, 0)],
    }
    for part, tris in quads.items():
        me = mesh_from_arrays(f"room_{part}", verts, np.array(tris, np.int32))
        me.polygons.foreach_set("use_smooth", np.zeros(len(tris), bool))
        if part == "ceiling":
            recipe = {"kind": "solid", "colors": [room["ceiling_color"]], "scale": 1.0, "rotation_deg": 0.0,
                      "roughness": 0.9, "image": "", "coords": "object", "person": False}
        else:
            recipe = room[part]
        me.materials.append(make_material(f"mat_room_{part}", recipe))
        ob = _link(scene, f"room_{part}", me)
        # The room is a convex box with every light inside it, so its walls can never stand between a
        # light and anything in the room: as shadow casters they only cost time (about 1 s per frame
        # and view on a CPU: EEVEE rasterises them into every shadow page of every light).
        ob.visible_shadow = False
    for i, li in enumerate(job["lights"]):
        light = bpy.data.lights.new(f"light_{i}", "AREA")
        light.shape = "SQUARE"
        light.size = float(li["size"])
        light.energy = float(li["power"])
        light.use_temperature = True
        light.temperature = float(li["temperature"])
        ob = _link(scene, f"light_{i}", light)
        ob.location = li["location"]  # area lights shine down their local -Z: straight down


def build_world(scene, color, strength: float) -> None:
    world = bpy.data.worlds.new("ambient")
    scene.world = world
    bg = world.node_tree.nodes.get("Background")
    bg.inputs["Color"].default_value = (*color, 1.0)
    bg.inputs["Strength"].default_value = float(strength)
    # EEVEE re-captures the world into its sphere light probe at this resolution for every frame it
    # renders. A uniform colour looks the same at any resolution; the default 1024 costs about a
    # second of compute per frame and view on a CPU (llvmpipe), 128 almost nothing.
    world.probe_resolution = "128"


def build_cameras(scene, job: dict) -> dict[str, bpy.types.Object]:
    cams = {}
    for view, v in job["views"].items():
        cam = bpy.data.cameras.new(f"camera_{view}")
        cam.lens = float(v["lens"])
        cam.sensor_fit = v["sensor_fit"]
        cam.sensor_width = float(v["sensor"])
        cam.sensor_height = float(v["sensor"])  # used by VERTICAL fit only
        cam.shift_x = cam.shift_y = 0.0
        cam.clip_start, cam.clip_end = float(v["clip_start"]), float(v["clip_end"])
        ob = _link(scene, f"camera_{view}", cam)
        ob.matrix_world = Matrix(v["matrix_world"])
        cams[view] = ob
    return cams


def build_spheres(scene, path: str, radius: float) -> None:
    """Debug: small emissive spheres following points ``(T, K, 3)`` (Blender axes), one per point."""
    import bmesh

    pts = np.load(path)
    mat = make_emission("mat_sphere", (1.0, 1.0, 1.0), 10.0)
    for k in range(pts.shape[1]):
        me = bpy.data.meshes.new(f"sphere_{k}")
        bm = bmesh.new()
        bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=radius)
        bm.to_mesh(me)
        bm.free()
        me.materials.append(mat)
        ob = _link(scene, f"sphere_{k}", me)
        for t in range(pts.shape[0]):
            ob.location = pts[t, k].tolist()
            ob.keyframe_insert("location", frame=t + 1)


def setup_masks(scene, view_layer) -> bpy.types.Node:
    """Compositor: pass the image through and save the person AOV as an 8-bit grey PNG per frame."""
    aov = view_layer.aovs.add()
    aov.name, aov.type = PERSON_AOV, "VALUE"
    ng = bpy.data.node_groups.new("odah_compositor", "CompositorNodeTree")
    scene.compositing_node_group = ng
    rl = ng.nodes.new("CompositorNodeRLayers")
    out = ng.nodes.new("NodeGroupOutput")
    ng.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    ng.links.new(rl.outputs["Image"], out.inputs[0])
    fo = ng.nodes.new("CompositorNodeOutputFile")
    fo.format.media_type = "IMAGE"
    fo.format.file_format = "PNG"
    fo.format.color_mode = "BW"
    fo.format.color_depth = "8"
    fo.save_as_render = False  # raw AOV values: 1 -> 255, no view transform
    fo.file_output_items.new("FLOAT", "mask")
    ng.links.new(rl.outputs[PERSON_AOV], fo.inputs["mask"])
    return fo


def build_scene(job: dict):
    """Build the whole scene; returns (scene, cameras by view, mask file-output node or None)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    dbg = job.get("debug") or {}
    if not dbg.get("hide_person"):
        build_person(scene, job)
    if dbg.get("hide_room"):
        build_world(scene, (0.0, 0.0, 0.0), 0.0)
    else:
        build_room(scene, job)
        build_world(scene, job["world"]["color"], job["world"]["strength"])
    if dbg.get("spheres"):
        build_spheres(scene, dbg["spheres"], dbg["sphere_radius"])
    cams = build_cameras(scene, job)
    masks = setup_masks(scene, scene.view_layers[0])
    return scene, cams, masks
