"""Render one clip end to end: frames (both views + masks) -> H264 videos -> labels.

The Luigi tasks and ``odah render`` call these functions; each step writes its outputs atomically:

- :func:`render_frames`: the render process fills a temporary folder; only a complete set of
  frames and masks (with ``render_result.json``, which also holds the clip's frame count and
  rate) is moved to ``clips/<cid>/frames/``.
- :func:`encode_clip`: all four videos are encoded to temporary files and moved into place only
  when every one succeeded; then ``render_info.json`` is written and the frames are removed
  (unless ``render.keep_frames``).
- :func:`render_clip`: both, plus the labels (``pipeline.scene.labels``).

A render or encode that was killed leaves its temporaries behind (the render scratch folder is
tens of MB); the next render or encode of the same clip removes them before it starts. One clip
is rendered by one process at a time (Luigi runs a task once), so they are never live ones.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import axes
from ..body.mesh import MeshSequence
from ..errors import BodyModelError, EncodeError, RenderError, SceneError
from ..io_utils import atomic_dir, atomic_outputs, atomic_write_text, remove_stale_temporaries
from ..layout import VIEWS, ClipPaths
from ..log import get_logger
from ..scene.camera import PinholeCamera, blender_projection_to_pixels
from ..scene.clothing import Manifest, load_manifest
from ..scene.spec import SceneSpec
from .encode import canonical_frames, encode_video
from .job import eevee_settings, prepare_clip_job
from .launcher import render_command, run_job

log = get_logger("render")


def check_inputs(spec: SceneSpec, mesh: MeshSequence, render_cfg) -> None:
    """Errors before any rendering: bad mesh, frame rate mismatch, odd frame size, no render interpreter."""
    clip = spec.clip_id
    try:
        mesh.validate()
    except BodyModelError as exc:
        raise RenderError(f"clip '{clip}': {exc}") from None
    if abs(mesh.fps - render_cfg.fps) > 1e-6:
        raise RenderError(f"clip '{clip}': the mesh sequence runs at {mesh.fps:g} fps but render.fps is "
                          f"{render_cfg.fps:g}; resample the motion (motion.fps) or set render.fps to match")
    w, h = spec.resolution
    if w % 2 or h % 2:
        raise RenderError(f"clip '{clip}': frame size {w}x{h}: H264 yuv420p needs even width and height "
                          "(render.width, render.height)")
    render_command(render_cfg, [], f"clip '{clip}'")


def check_blender_cameras(spec: SceneSpec, result: dict) -> float:
    """Max pixel difference between our projection and Blender's own camera matrices.

    Raises:
        RenderError: above 0.01 px: the labels would not match the pixels.
    """
    worst = 0.0
    for v in VIEWS:
        rep = result["views"][v]["camera"]
        cam = PinholeCamera.from_spec(spec.cameras[v])
        # Points spread over the view at 1-10 m in front of the camera.
        g = np.stack(np.meshgrid([-0.4, 0.0, 0.4], [-0.3, 0.0, 0.3], [1.0, 3.0, 10.0]), -1).reshape(-1, 3)
        g[:, :2] *= g[:, 2:3]
        pts = (g - cam.t) @ cam.R  # camera -> world (OpenSim)
        ours, _ = cam.project(pts)
        theirs = blender_projection_to_pixels(rep["projection"], rep["matrix_world"], axes.opensim_to_blender(pts),
                                              cam.width, cam.height)
        worst = max(worst, float(np.abs(ours - theirs).max()))
    if worst > 0.01:
        raise RenderError(f"clip '{spec.clip_id}': Blender's cameras differ from the labelled ones by "
                          f"{worst:.3f} px; the labels would not match the pixels")
    return worst


_RENDER_SCRATCH = ".render."  # prefix of the render process's scratch folder in the clip folder


def _clean_after_interruption(folder: Path, *outputs: Path, prefixes: tuple[str, ...] = ()) -> None:
    stale = remove_stale_temporaries(folder, *outputs, prefixes=prefixes)
    if stale:
        log.info("removed %d temporaries an interrupted run left in %s", len(stale), folder)


def render_frames(spec: SceneSpec, mesh: MeshSequence, cfg, paths: ClipPaths, *, manifest: Manifest | None = None,
                  debug: dict[str, Any] | None = None) -> dict:
    """Render every frame of both views and their person masks into ``paths.frames_root``.

    Returns the render process's result (engine, device, timings, Blender's cameras, and the
    clip's ``frames`` count and ``fps``), also written to ``paths.frames_result``.
    """
    clip = spec.clip_id
    check_inputs(spec, mesh, cfg.render)
    manifest = manifest or load_manifest(cfg.scene.manifest or None, clip=clip)
    paths.dir.mkdir(parents=True, exist_ok=True)
    _clean_after_interruption(paths.dir, paths.frames_root, paths.blend, paths.blend_cache, prefixes=(_RENDER_SCRATCH,))
    # Frames fill a temporary that replaces frames_root only once complete; the job files are scratch.
    with (atomic_dir(paths.frames_root) as frames,
          tempfile.TemporaryDirectory(prefix=_RENDER_SCRATCH, suffix=".tmp", dir=paths.dir,
                                      ignore_cleanup_errors=True) as work):
        # Absolute: the render process runs in its own working folder.
        frames, work = frames.resolve(), Path(work).resolve()
        frames_dirs = {v: frames / paths.frames_dir(v).name for v in VIEWS}
        masks_dirs = {v: frames / paths.mask_frames_dir(v).name for v in VIEWS}
        for d in (*frames_dirs.values(), *masks_dirs.values()):
            d.mkdir()
        job = prepare_clip_job(spec, mesh, manifest, work / "job", samples=cfg.render.samples,
                               device=cfg.render.device, frames_dirs=frames_dirs, masks_dirs=masks_dirs,
                               save_blend=work / "scene.blend" if cfg.render.save_blend else None,
                               blend_cache=paths.blend_cache, debug=debug, eevee=eevee_settings(cfg.render))
        result = run_job(job, work / "job", cfg.render, clip=clip, log_path=paths.render_log,
                         progress_total=mesh.num_frames * len(VIEWS))
        result["camera_check_px"] = check_blender_cameras(spec, result)
        try:
            for d in (*frames_dirs.values(), *masks_dirs.values()):
                canonical_frames(d, mesh.num_frames)
        except EncodeError as exc:
            raise RenderError(f"clip '{clip}': the render process left frames missing: {exc}") from None
        result.update(frames=mesh.num_frames, fps=float(mesh.fps))  # what encoding needs
        atomic_write_text(frames / paths.frames_result.name, json.dumps(result, indent=1) + "\n")
        if cfg.render.save_blend:
            os.replace(work / "job" / "mesh.pc2", paths.blend_cache)
            os.replace(work / "scene.blend", paths.blend)
    log.info("clip %s: rendered %d frames x %d views in %.1f s (%s)", clip, mesh.num_frames, len(VIEWS),
             result["process_seconds"], result.get("gpu", {}).get("renderer", "?"))
    return result


def encode_clip(paths: ClipPaths, cfg, clip: str) -> dict:
    """Encode the rendered frames into the four videos (all or none) and write ``render_info.json``.

    The frame count and rate come from ``paths.frames_result`` (:func:`render_frames` writes them).
    """
    if not paths.frames_result.exists():
        raise EncodeError(f"clip '{clip}': no complete set of rendered frames in {paths.frames_root}")
    result = json.loads(paths.frames_result.read_text())
    if "fps" not in result:
        raise EncodeError(f"clip '{clip}': {paths.frames_result} has no 'fps' (rendered by an older odah); "
                          f"remove {paths.frames_root} and render the frames again")
    frames, fps = int(result["frames"]), float(result["fps"])
    _clean_after_interruption(paths.dir, *paths.videos.values(), paths.render_info)
    t0 = time.monotonic()
    jobs = []
    for v in VIEWS:
        jobs.append((paths.frames_dir(v), paths.video(v), cfg.render.crf, f"clip '{clip}' video_{v}"))
        jobs.append((paths.mask_frames_dir(v), paths.masks(v), cfg.render.mask_crf, f"clip '{clip}' masks_{v}"))
    # every video to a temporary; all renamed into place only at the end
    with atomic_outputs(*(dst for _, dst, _, _ in jobs)) as tmps:
        for (src, _, crf, what), tmp in zip(jobs, tmps):
            encode_video(src, tmp, fps, frames, crf=crf, preset=cfg.render.preset, what=what)
    encode_s = time.monotonic() - t0
    info = {k: result.get(k) for k in ("engine", "blender", "gpu", "width", "height", "samples", "frames",
                                       "build_seconds", "bpy_seconds", "process_seconds", "camera_check_px",
                                       "eevee", "shadow_pool_overflow")}
    info["views"] = {v: {"render_seconds": result["views"][v]["seconds"]} for v in VIEWS}
    info.update(fps=fps, encode_seconds=encode_s, crf=cfg.render.crf, mask_crf=cfg.render.mask_crf,
                preset=cfg.render.preset)
    atomic_write_text(paths.render_info, json.dumps(info, indent=1) + "\n")
    if not cfg.render.keep_frames:
        shutil.rmtree(paths.frames_root, ignore_errors=True)
    return info


def render_clip(spec: SceneSpec, mesh: MeshSequence, keypoints: np.ndarray, names, cfg, paths: ClipPaths, *,
                kinematics: str | Path | None = None, scales: str | Path | None = None,
                manifest: Manifest | None = None, debug: dict[str, Any] | None = None) -> dict:
    """Scene spec + mesh + keypoints -> the clip folder of the dataset contract.

    Writes config.yaml (the resolved config), scene.json, the four videos, render_info.json and
    the labels (cameras.json, keypoints3d.npz, keypoints2d.npz, kinematics.mot and scales.json
    when given). Every input is checked before the first file is written.
    """
    from ..config import save_config
    from ..scene.labels import check_kinematics, check_keypoints, write_labels

    clip = spec.clip_id
    check_inputs(spec, mesh, cfg.render)
    check_keypoints(np.asarray(keypoints), list(names), f"clip '{clip}' keypoints", mesh.num_frames)
    if kinematics is not None:
        check_kinematics(kinematics, mesh.num_frames, clip)
    if scales is not None and not Path(scales).is_file():
        raise SceneError(f"clip '{clip}': scale factors file {scales} not found")
    save_config(cfg, paths.config)  # provenance
    spec.save(paths.scene)
    render_frames(spec, mesh, cfg, paths, manifest=manifest, debug=debug)
    info = encode_clip(paths, cfg, spec.clip_id)
    t0 = time.monotonic()
    write_labels(paths, spec, keypoints, names, mesh.fps, mesh=mesh, kinematics=kinematics, scales=scales)
    info["labels_seconds"] = time.monotonic() - t0
    atomic_write_text(paths.render_info, json.dumps(info, indent=1) + "\n")
    return info
