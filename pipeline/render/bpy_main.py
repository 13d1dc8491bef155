"""Entry point of the render process (bpy side): ``python -m pipeline.render.bpy_main job.json``.

Also runs as ``blender -b --python bpy_main.py -- job.json``. Reads the job the launcher wrote,
dispatches on its ``kind`` ("check": one tiny image, see ``bpy_check``; "clip": both views of a
clip, see ``bpy_render``), and writes the result JSON named by ``job["result"]``. Any exception
prints its traceback and exits with code 3, which the launcher turns into a RenderError.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):  # run as a script by a blender binary: make `pipeline` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipeline.render.common import PROGRESS_TAG  # noqa: E402 - after the path set-up above


def emit_progress(**fields) -> None:
    """One progress line for the launcher (``ODAH_PROGRESS {json}``)."""
    print(PROGRESS_TAG + json.dumps(fields), flush=True)


def _job_args(argv: list[str]) -> list[str]:
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def main(argv: list[str] | None = None) -> int:
    args = _job_args(list(sys.argv if argv is None else argv))
    if len(args) != 1:
        print("usage: python -m pipeline.render.bpy_main JOB.json", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    job = json.loads(Path(args[0]).read_text())
    kind = job.get("kind")
    if kind == "check":
        from pipeline.render import bpy_check

        result = bpy_check.run(job)
    elif kind == "clip":
        from pipeline.render import bpy_render

        result = bpy_render.render_clip(job, progress=emit_progress)
    else:
        raise ValueError(f"job {args[0]}: unknown kind {kind!r} (expected 'check' or 'clip')")
    result["bpy_seconds"] = time.monotonic() - t0
    from pipeline.io_utils import atomic_write_text

    atomic_write_text(job["result"], json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except Exception:  # noqa: BLE001 - the launcher reports the traceback from the log tail
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        code = 3
    sys.exit(code)
