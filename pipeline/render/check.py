"""``odah render-check``: prove the render environment works.

Renders one tiny EEVEE image in the render environment through the launcher (exactly the path
clips take) and reports the engine, the device (GPU vendor/renderer from bpy's ``gpu.platform``)
and the time.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import RenderError
from .common import is_software
from .launcher import render_command, run_job


@dataclass
class CheckReport:
    engine: str
    blender: str
    vendor: str
    renderer: str
    backend: str
    device_type: str
    width: int
    height: int
    samples: int
    render_seconds: float
    process_seconds: float
    image: Path

    @property
    def software(self) -> bool:
        return is_software({"renderer": self.renderer, "device_type": self.device_type})

    def summary(self) -> str:
        kind = "CPU, software rasteriser" if self.software else "GPU"
        return (
            f"render-check: ok\n"
            f"  engine   {self.engine} (Blender {self.blender})\n"
            f"  device   {self.renderer} [{self.vendor}; {self.backend}, {self.device_type}] ({kind})\n"
            f"  image    {self.width}x{self.height}, {self.samples} sample(s): {self.image}\n"
            f"  time     render {self.render_seconds:.2f} s, whole process {self.process_seconds:.2f} s"
        )


def run_render_check(render_cfg, out_dir: str | Path, width: int = 64, height: int = 48, samples: int = 1) -> CheckReport:
    """Render ``out_dir/render_check.png`` in the render environment and check the image.

    Raises:
        RenderError: the environment is missing or broken, or the image is wrong.
    """
    render_command(render_cfg, [], "render-check")  # a missing interpreter fails here, before any folder is made
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".render_check.", dir=out_dir))
    image = out_dir / "render_check.png"
    try:
        tmp_image = work / "render_check.png"
        job = {"kind": "check", "width": width, "height": height, "samples": samples,
               "device": render_cfg.device, "output": str(tmp_image)}
        result = run_job(job, work, render_cfg, clip="render-check", what="render-check", log_path=out_dir / "render_check.log",
                         timeout=min(render_cfg.timeout, 600.0))
        _check_image(tmp_image, width, height)
        tmp_image.replace(image)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    gpu = result.get("gpu", {})
    return CheckReport(
        engine=result["engine"], blender=result["blender"], vendor=gpu.get("vendor", "?"),
        renderer=gpu.get("renderer", gpu.get("error", "?")), backend=gpu.get("backend", "?"),
        device_type=gpu.get("device_type", "?"), width=result["width"], height=result["height"],
        samples=result["samples"], render_seconds=result["render_seconds"],
        process_seconds=result["process_seconds"], image=image,
    )


def _check_image(path: Path, width: int, height: int) -> None:
    from PIL import Image
    import numpy as np

    if not path.exists():
        raise RenderError(f"render-check: Blender reported success but wrote no image at {path}")
    with Image.open(path) as im:
        if im.size != (width, height):
            raise RenderError(f"render-check: image {path} is {im.size[0]}x{im.size[1]}, expected {width}x{height}")
        a = np.asarray(im.convert("RGB"))
    if a.std() < 1.0:
        raise RenderError(f"render-check: image {path} is blank (one colour everywhere); EEVEE drew nothing")
