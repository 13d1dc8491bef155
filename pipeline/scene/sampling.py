"""Seeded sampling of a clip's scene: clothing, room, lights and the two cameras.

Every draw comes from an explicit ``numpy.random.Generator``. A clip's seed derives from the
dataset seed and the clip id (:func:`clip_seed`), and is written into ``scene.json``, so any clip
can be re-sampled and re-rendered bit for bit. Clothing, cameras and room/lights draw from
separate child generators, so changing one range does not reshuffle the others.

Cameras follow the ODAH paper: a frontal and a sagittal static camera at 1.1 +- 0.1 m, 33 mm
focal length, 36 mm sensor with horizontal fit, positions perturbed (azimuth, height, aim,
sideways shift). The distance is the tightest that keeps every vertex of every frame inside the
image (with a margin), times a random factor. It is found on a few points whose convex hull
encloses every vertex of every frame (:func:`~pipeline.scene.geometry.enclosing_points`); the
frustum is convex, so the whole motion is then in frame.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ..body.mesh import MeshSequence
from ..errors import SceneError
from ..layout import VIEWS
from .camera import PinholeCamera
from .clothing import Manifest, load_manifest, sample_material
from .geometry import bounds, direction, enclosing_points, heading
from .spec import SLOTS, CameraSpec, ClothingSpec, GarmentSpec, LightSpec, RoomSpec, SceneSpec


def clip_seed(dataset_seed: int, clip_id: str) -> int:
    """A clip's seed from (dataset seed, clip id): stable across processes and machines."""
    digest = hashlib.sha256(clip_id.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)]
    state = np.random.SeedSequence([int(dataset_seed), *words]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1  # < 2**63: a JSON-safe, int64-safe integer


def sample_clothing(rng: np.random.Generator, manifest: Manifest, sc) -> ClothingSpec:
    """Garment type, texture, colours and offset per slot, plus skin tone."""
    garments = {}
    for slot in SLOTS:
        types = list(manifest.types[slot].values())
        w = np.array([t.weight for t in types], float)
        entry = types[int(rng.choice(len(types), p=w / w.sum()))]
        if not entry.regions:
            garments[slot] = GarmentSpec(type=entry.id, material=None, offset=0.0)
            continue
        tex = entry.textures[int(rng.integers(len(entry.textures)))]
        mat = sample_material(rng, manifest, tex, f"{slot}.{entry.id}")
        lo, hi = entry.offset or (sc.garment_offset_min, sc.garment_offset_max)
        garments[slot] = GarmentSpec(type=entry.id, material=mat, offset=float(rng.uniform(lo, hi)))
    tone = manifest.skin_tones[int(rng.integers(len(manifest.skin_tones)))]
    return ClothingSpec(**garments, skin_tone=tone.id, skin_color=list(tone.color),
                        skin_roughness=float(rng.uniform(0.4, 0.6)))


def _camera(view: str, az: float, dist: float, centre: np.ndarray, aim_y: float, height: float,
            lateral: float, sc, width: int, height_px: int) -> CameraSpec:
    d = direction(az)
    perp = np.array([-d[2], 0.0, d[0]])
    target = np.array([centre[0], aim_y, centre[2]]) + perp * lateral
    loc = np.array([centre[0], height, centre[2]]) + d * dist + perp * lateral
    return CameraSpec(view=view, location=[float(x) for x in loc], look_at=[float(x) for x in target],
                      focal_mm=sc.focal_mm, sensor_width_mm=sc.sensor_width_mm, sensor_fit=sc.sensor_fit,
                      width=width, height=height_px)


def _inside(cam: CameraSpec, pts: np.ndarray, margin: float) -> bool:
    """Every point in front of ``cam`` and inside its image, ``margin`` x half-size from the edges."""
    uv, z = PinholeCamera.from_spec(cam).project(pts)
    if not (z > max(0.2, 2 * cam.clip_start)).all():
        return False
    mx, my = margin * cam.width / 2, margin * cam.height / 2
    return bool((uv[:, 0] >= mx - 0.5).all() and (uv[:, 0] <= cam.width - 0.5 - mx).all()
                and (uv[:, 1] >= my - 0.5).all() and (uv[:, 1] <= cam.height - 0.5 - my).all())


def sample_camera(rng: np.random.Generator, mesh: MeshSequence, view: str, nominal_az: float, sc,
                  width: int, height_px: int, pts: np.ndarray | None = None) -> CameraSpec:
    """Perturb the nominal placement, then fit the distance so the whole motion stays in frame.

    ``pts``: :func:`enclosing_points` of the mesh (computed when not given).
    """
    pts = enclosing_points(mesh) if pts is None else pts
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    floor = float(lo[1])  # heights are above the motion's lowest point
    yaw = float(rng.uniform(-sc.yaw_jitter_deg, sc.yaw_jitter_deg))
    cam_h = floor + float(sc.camera_height + rng.uniform(-sc.camera_height_jitter, sc.camera_height_jitter))
    aim_y = float(centre[1] + rng.uniform(-sc.aim_jitter, sc.aim_jitter))
    lateral = float(rng.uniform(-sc.lateral_jitter, sc.lateral_jitter))
    factor = float(rng.uniform(sc.distance_factor_min, sc.distance_factor_max))
    az = nominal_az + math.radians(yaw)

    def cam(dist: float) -> CameraSpec:
        return _camera(view, az, dist, centre, aim_y, cam_h, lateral, sc, width, height_px)

    # Bracket, then bisect, the tightest horizontal distance that frames the enclosing points.
    near = 0.05
    far = max(sc.min_distance, 1.0)
    while not _inside(cam(far), pts, sc.frame_margin):
        near, far = far, far * 2
        if far > 2000:
            raise SceneError(f"mesh sequence '{mesh.name}': cannot keep the motion in the {view} camera's "
                             "frame at any distance up to 2 km (is the motion that large?)")
    for _ in range(40):
        mid = 0.5 * (near + far)
        near, far = (near, mid) if _inside(cam(mid), pts, sc.frame_margin) else (mid, far)
        if far - near < 1e-3:
            break
    tight = far
    dist = max(tight * factor, sc.min_distance)
    spec = cam(dist)
    if not _inside(spec, pts, sc.frame_margin):  # moving back keeps it framed; make sure
        raise SceneError(f"mesh sequence '{mesh.name}': could not frame the motion in the {view} camera")
    spec.perturbation = {"yaw_deg": yaw, "height": cam_h - floor, "aim_height": aim_y - floor, "lateral": lateral,
                         "distance": dist, "tight_distance": tight, "distance_factor": factor,
                         "azimuth_deg": math.degrees(az)}
    return spec


def sample_cameras(rng: np.random.Generator, mesh: MeshSequence, sc, width: int, height_px: int) -> dict[str, CameraSpec]:
    """Frontal and sagittal cameras, both framing the whole motion."""
    h = heading(mesh)
    side = sc.side_view if sc.side_view != "random" else ("right", "left")[int(rng.integers(2))]
    # The subject's right is at heading - 90 deg (OpenSim: facing +X, right is +Z).
    side_az = h - math.pi / 2 if side == "right" else h + math.pi / 2
    pts = enclosing_points(mesh)
    cams = {}
    for view, az in (("front", h), ("side", side_az)):
        cams[view] = sample_camera(rng, mesh, view, az, sc, width, height_px, pts)
    cams["side"].perturbation["side"] = 1.0 if side == "right" else -1.0
    return cams


def sample_room(rng: np.random.Generator, manifest: Manifest, mesh: MeshSequence,
                cameras: dict[str, CameraSpec], sc) -> RoomSpec:
    """A box room around the motion and both cameras."""
    lo, hi = (b.tolist() for b in bounds(mesh))
    xs = [lo[0], hi[0]] + [c.location[0] for c in cameras.values()]
    zs = [lo[2], hi[2]] + [c.location[2] for c in cameras.values()]
    m = rng.uniform(sc.room_margin_min, sc.room_margin_max, size=4)  # -x, +x, -z, +z
    x0, x1 = min(xs) - m[0], max(xs) + m[1]
    z0, z1 = min(zs) - m[2], max(zs) + m[3]
    floor_y = lo[1]  # the motion's lowest point
    top = max(hi[1], *(c.location[1] for c in cameras.values())) - floor_y
    height = max(float(rng.uniform(sc.room_height_min, sc.room_height_max)), top + 0.4)
    floor_id = manifest.floors[int(rng.integers(len(manifest.floors)))]
    wall_id = manifest.walls[int(rng.integers(len(manifest.walls)))]
    floor = sample_material(rng, manifest, floor_id, f"room.floor {floor_id}")
    wall = sample_material(rng, manifest, wall_id, f"room.wall {wall_id}")
    grey = float(rng.uniform(0.6, 0.9))
    warm = float(rng.uniform(-0.05, 0.05))
    return RoomSpec(center=[float(x0 + x1) / 2, float(z0 + z1) / 2], size=[float(x1 - x0), float(z1 - z0)],
                    height=float(height),
                    floor=floor, wall=wall, ceiling_color=[grey, grey, grey],
                    ambient_color=[min(1.0, 0.9 + warm), 0.9, min(1.0, 0.9 - warm)],
                    ambient_strength=float(rng.uniform(sc.ambient_min, sc.ambient_max)), floor_height=float(floor_y))


def sample_lights(rng: np.random.Generator, room: RoomSpec, sc) -> list[LightSpec]:
    """Area lights spread evenly over the ceiling (jittered grid), random power and colour."""
    n = int(rng.integers(sc.lights_min, sc.lights_max + 1))
    sx, sz = room.size
    cols = max(1, round(math.sqrt(n * sx / sz)))
    rows = math.ceil(n / cols)
    cells = sorted(rng.permutation(rows * cols)[:n].tolist())
    cw, ch = sx / cols, sz / rows
    lights = []
    for c in cells:
        i, j = divmod(c, cols)
        x = room.center[0] - sx / 2 + (j + 0.5 + rng.uniform(-0.25, 0.25)) * cw
        z = room.center[1] - sz / 2 + (i + 0.5 + rng.uniform(-0.25, 0.25)) * ch
        size = float(min(rng.uniform(sc.light_size_min, sc.light_size_max), 0.9 * min(cw, ch)))
        lights.append(LightSpec(location=[float(x), room.floor_height + room.height - 0.01, float(z)], size=size,
                                power=float(rng.uniform(sc.light_power_min, sc.light_power_max)),
                                temperature=float(rng.uniform(sc.light_temperature_min, sc.light_temperature_max))))
    return lights


def sample_scene(mesh: MeshSequence, cfg, clip_id: str, *, manifest: Manifest | None = None,
                 seed: int | None = None) -> SceneSpec:
    """The scene spec of one clip.

    Args:
        mesh: the clip's body mesh sequence (OpenSim world, metres); framing uses all its frames.
        cfg: the whole :class:`~pipeline.config.Config` (``scene``, ``render`` size, ``dataset`` seed),
            as the loader validated it (its ranges, and each ``X_min`` at most its ``X_max``).
        clip_id: the clip id (with the dataset seed it gives the seed).
        manifest: the clothing library (default: ``cfg.scene.manifest`` or the shipped one).
        seed: override the derived seed.
    """
    sc = cfg.scene
    manifest = manifest or load_manifest(sc.manifest or None, clip=clip_id)
    mesh.validate()
    seed = clip_seed(cfg.dataset.seed, clip_id) if seed is None else int(seed)
    if seed < 0:
        raise SceneError(f"clip '{clip_id}': seed {seed}: a clip seed is 0 or more")
    rng_cloth, rng_cam, rng_room = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    clothing = sample_clothing(rng_cloth, manifest, sc)
    cameras = sample_cameras(rng_cam, mesh, sc, cfg.render.width, cfg.render.height)
    room = sample_room(rng_room, manifest, mesh, cameras, sc)
    lights = sample_lights(rng_room, room, sc)
    spec = SceneSpec(clip_id=clip_id, seed=seed, dataset_seed=int(cfg.dataset.seed), clothing=clothing,
                     room=room, lights=lights, cameras={v: cameras[v] for v in VIEWS})
    manifest.check_spec(spec.clothing, clip_id)
    return spec.validate(f"clip '{clip_id}' scene")
