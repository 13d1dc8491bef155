"""Frames -> H264 videos through ffmpeg-python and the ffmpeg binary imageio-ffmpeg ships; PyAV probes.

Videos are H264 in yuv420p (what common players open), MP4 with the index at the front
(``+faststart``), quality set by the x264 CRF and preset. Person masks are encoded the same way
from grey PNGs. Writes are atomic: a failed encode leaves no file under the final name.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import EncodeError
from ..io_utils import atomic_path

FRAME_PATTERN = "%06d.png"
_NUM = re.compile(r"(\d+)$")


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # noqa: BLE001 - missing package or binary
        raise EncodeError(f"no ffmpeg binary: imageio-ffmpeg could not provide one ({exc})") from None


def canonical_frames(folder: str | Path, frames: int) -> Path:
    """Rename the PNGs in ``folder`` to ``000001.png .. {frames:06d}.png`` and check none is missing.

    Blender names files by frame number with its own padding (``0001.png``, ``mask0001.png``); the
    trailing number is the frame. Returns the ffmpeg input pattern.
    """
    folder = Path(folder)
    found: dict[int, Path] = {}
    for p in folder.glob("*.png"):
        m = _NUM.search(p.stem)
        if m:
            found[int(m.group(1))] = p
    missing = sorted(set(range(1, frames + 1)) - set(found))
    if missing:
        raise EncodeError(f"{folder}: {len(missing)} of {frames} frames missing (first: frame {missing[0]})")
    for n in range(1, frames + 1):
        target = folder / (FRAME_PATTERN % n)
        if found[n] != target:
            found[n].rename(target)
    return folder / FRAME_PATTERN


def encode_video(frames_dir: str | Path, out_path: str | Path, fps: float, frames: int, *, crf: int = 18,
                 preset: str = "medium", what: str = "video") -> Path:
    """Encode ``frames_dir/000001.png ...`` into ``out_path`` (H264, yuv420p), atomically.

    Raises:
        EncodeError: frames missing, odd frame size (yuv420p needs even sides), ffmpeg failing,
            or the result not holding ``frames`` frames.
    """
    import ffmpeg

    try:
        pattern = canonical_frames(frames_dir, frames)
    except EncodeError as exc:
        raise EncodeError(f"{what} {out_path}: {exc}") from None
    first = Path(frames_dir) / (FRAME_PATTERN % 1)
    from PIL import Image

    with Image.open(first) as im:
        w, h = im.size
    if w % 2 or h % 2:
        raise EncodeError(f"{what} {out_path}: frames are {w}x{h}; H264 yuv420p needs even width and height")
    rate = Fraction(fps).limit_denominator(1001)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        stream = ffmpeg.input(str(pattern), framerate=str(rate), start_number=1).output(
            str(tmp), vcodec="libx264", pix_fmt="yuv420p", crf=int(crf), preset=preset, r=str(rate),
            movflags="+faststart", an=None,
        )
        try:
            stream.run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True, overwrite_output=True)
        except ffmpeg.Error as exc:
            tail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-8:]
            raise EncodeError(f"{what} {out_path}: ffmpeg failed:\n    " + "\n    ".join(tail)) from None
        info = probe_video(tmp)
        if info["frames"] != frames:
            raise EncodeError(f"{what} {out_path}: encoded {info['frames']} frames, expected {frames}")
    return out_path


def probe_video(path: str | Path) -> dict:
    """Codec, size, pixel format, frame rate and frame count of a video (PyAV)."""
    import av

    try:
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            cc = s.codec_context
            n = s.frames
            if not n:
                n = sum(1 for _ in c.decode(video=0))
            return {"codec": cc.name, "width": cc.width, "height": cc.height, "pix_fmt": cc.pix_fmt,
                    "fps": float(s.average_rate) if s.average_rate else 0.0, "frames": int(n),
                    "profile": cc.profile}
    except (av.error.FFmpegError, IndexError) as exc:
        raise EncodeError(f"{path}: not a readable video ({exc})") from None


def read_frames(path: str | Path, indices: list[int] | None = None, gray: bool = False) -> np.ndarray:
    """Decode frames ``(N, H, W, 3)`` uint8 RGB (or ``(N, H, W)`` grey); all or those at ``indices``."""
    import av

    want = None if indices is None else set(indices)
    out = []
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if want is None or i in want:
                out.append(frame.to_ndarray(format="gray" if gray else "rgb24"))
            if want is not None and len(out) == len(want):
                break
    if not out:
        raise EncodeError(f"{path}: no frames decoded")
    return np.stack(out)
