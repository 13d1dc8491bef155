"""``odah scene CLIP``: sample a clip's scene spec (clothing, room, lights, cameras) for a seed."""

from __future__ import annotations

import argparse
import math

from ..config.flags import int_range

HELP = "sample and print (or save) the scene spec of a clip: clothing, room, lights, two cameras"
DESCRIPTION = """\
Samples the scene of clip CLIP from the dataset seed (dataset.seed) and the clip id, exactly as
the render tasks do, and prints a summary (--json: the whole spec). Cameras are framed on the
body mesh given by --mesh over all its frames (default: a procedural mannequin walking for two
seconds). Ranges come from the 'scene' config section; the clothing library from
scene.manifest (validated on load).

examples:  odah scene s000-walking                     # the summary: clothing, room, lights, cameras
           odah scene s000-walking --json --out scene.json -s dataset.seed=7
           odah scene c1 --mesh body_fit.npz           # cameras framed on a real body's motion"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", metavar="CLIP", help="clip id (with dataset.seed it determines the scene)")
    p.add_argument("--mesh", metavar="MESH.npz", help="body mesh sequence (default: a walking mannequin)")
    p.add_argument("--seed", type=int_range(0), metavar="SEED",
                   help="use this clip seed (0 or more) instead of the one derived from dataset.seed")
    p.add_argument("--out", metavar="scene.json", help="save the spec here")
    p.add_argument("--json", action="store_true", help="print the whole spec as JSON")


def summary(spec) -> str:
    c = spec.clothing
    lines = [f"clip {spec.clip_id}  seed {spec.seed} (dataset seed {spec.dataset_seed})"]
    for slot in ("upper", "lower", "shoes", "headwear"):
        g = c.slot(slot)
        tex = f"{g.material.texture} ({g.material.kind})" if g.material else "-"
        lines.append(f"  {slot:<9} {g.type:<22} {tex:<28} offset {g.offset * 1000:.1f} mm")
    lines.append(f"  skin      {c.skin_tone}")
    r = spec.room
    lines.append(f"  room      {r.size[0]:.1f} x {r.size[1]:.1f} x {r.height:.2f} m, floor {r.floor.texture}, "
                 f"walls {r.wall.texture}, ambient {r.ambient_strength:.2f}")
    lines.append(f"  lights    {len(spec.lights)} area lights, " + ", ".join(
        f"{li.power:.0f} W {li.temperature:.0f} K" for li in spec.lights))
    for v, cam in spec.cameras.items():
        p = cam.perturbation
        lines.append(f"  camera {v:<5} {cam.width}x{cam.height}, {cam.focal_mm:g} mm on {cam.sensor_width_mm:g} mm "
                     f"({cam.sensor_fit.lower()}), height {p.get('height', math.nan):.2f} m, distance "
                     f"{p.get('distance', math.nan):.2f} m, yaw {p.get('yaw_deg', math.nan):+.1f} deg")
    return "\n".join(lines)


def run(args, cfg) -> int:
    from ..body.mesh import MeshSequence
    from ..errors import SceneError
    from ..io_utils import check_output
    from ..layout import check_id
    from ..scene.mannequin import mannequin
    from ..scene.sampling import sample_scene

    check_id("clip", args.clip)
    if args.out:  # before sampling and printing: a bad --out leaves nothing half done
        check_output(args.out, SceneError, "the scene spec")
    if args.mesh:
        mesh = MeshSequence.load(args.mesh)
    else:
        mesh = mannequin(frames=max(2, int(2 * cfg.render.fps)), fps=cfg.render.fps)[0]
    spec = sample_scene(mesh, cfg, args.clip, seed=args.seed)
    print(spec.to_json() if args.json else summary(spec))
    if args.out:
        spec.save(args.out)
    return 0
