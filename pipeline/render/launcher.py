"""Run a render job in the render environment (this module never imports bpy).

The caller writes a job (a JSON file plus data files in a work folder); :func:`run_job` runs the
render interpreter on it and returns the result the Blender side wrote. The interpreter is

- ``render.blender`` when set: ``blender -b --factory-startup --python-use-system-env
  --python-exit-code 3 --python <root>/pipeline/render/bpy_main.py -- job.json``;
- else ``render.python`` when set, else ``<PROJECT_ROOT>/.venv-render/bin/python``:
  ``python -m pipeline.render.bpy_main job.json``.

``PYTHONPATH`` is set to the calling checkout's root, so the render side runs the same code
version as the caller. The child prints ``ODAH_PROGRESS {json}`` lines, which become a progress
bar (frames, rate, ETA); everything it prints goes to a log file, and the tail of that log is
quoted when it fails. A missing interpreter, a crash, a timeout or a missing result is a
:class:`~pipeline.errors.RenderError` naming the clip.

The child runs in its own session (a Ctrl-C on the terminal does not reach it), so the caller
stops it: while it runs, SIGTERM, SIGHUP and SIGINT raise :class:`Interrupted` in the caller,
whose clean-up kills the child and removes the temporaries; on Linux the child also gets SIGTERM
when its parent dies any other way (SIGKILL).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .. import PROJECT_ROOT
from ..errors import RenderError
from ..io_utils import atomic_write_text
from ..log import get_logger
from .common import PROGRESS_TAG

log = get_logger("render")

RESULT_NAME = "result.json"
#: Harmless noise from Mesa's EGL on headless machines; kept in the log, left out of error tails.
_NOISE = ("EGL_BAD_MATCH", "EGL_BAD_CONFIG")
_MESA_EGL_VENDOR = Path("/usr/share/glvnd/egl_vendor.d/50_mesa.json")
#: EEVEE's message when the shadow pool (render.shadow_pool) is too small: "... (used / available)" pages.
_SHADOW_FULL = re.compile(r"Shadow buffer full.*\((\d+) / (\d+)\)")


def render_command(render_cfg, script_args: list[str], what: str = "") -> list[str]:
    """The command line that runs ``pipeline.render.bpy_main`` with ``script_args``.

    Raises:
        RenderError: the interpreter (``render.blender``, ``render.python`` or the project's
            ``.venv-render``) is not an executable; the message starts with ``what`` (who needs
            it, e.g. ``clip 'c1'``) and names the interpreter and the config key.
    """
    try:
        return _render_command(render_cfg, script_args)
    except RenderError as exc:
        if not what:
            raise
        raise RenderError(f"{what}: {exc}") from None


def _render_command(render_cfg, script_args: list[str]) -> list[str]:
    if render_cfg.blender:
        exe = _resolve_exe(render_cfg.blender, "render.blender")
        main = PROJECT_ROOT / "pipeline" / "render" / "bpy_main.py"
        return [exe, "-b", "--factory-startup", "--python-use-system-env", "--python-exit-code", "3",
                "--python", str(main), "--", *script_args]
    if render_cfg.python:
        exe = _resolve_exe(render_cfg.python, "render.python")
    else:
        exe = _resolve_exe(str(PROJECT_ROOT / ".venv-render" / "bin" / "python"), "")
    return [exe, "-m", "pipeline.render.bpy_main", *script_args]


def _resolve_exe(value: str, key: str) -> str:
    """``value`` as an executable path (a bare name is looked up on PATH); ``key``: the config key
    that gave it, empty for the default ``.venv-render``."""
    import shutil

    hint = ("point render.python at a Python with bpy, or render.blender at a blender binary, or run "
            "'make setup' to build .venv-render")
    origin = f"config {key}={value}" if key else "render.python is empty: the project's .venv-render"
    path = Path(value).expanduser()
    if path.is_absolute() or os.sep in value:
        if not (path.is_file() and os.access(path, os.X_OK)):
            what = "is not an executable file" if path.exists() else "does not exist"
            raise RenderError(f"render environment not found: {path} {what} ({origin}); {hint}")
        return str(path)
    found = shutil.which(value)
    if not found:
        raise RenderError(f"render environment not found: '{value}' is not on PATH ({origin}); {hint}")
    return found


def child_env(render_cfg) -> dict[str, str]:
    """The child's environment: PYTHONPATH -> this checkout, unbuffered output, device choice.

    ``render.device=cpu`` pins EGL to Mesa (software rendering) even where an NVIDIA driver is
    installed; ``auto`` and ``gpu`` leave the choice to glvnd, which picks the GPU when present.
    """
    env = dict(os.environ)
    old = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + old if old else "")
    env["PYTHONUNBUFFERED"] = "1"
    if render_cfg.device == "cpu" and _MESA_EGL_VENDOR.exists():
        env["__EGL_VENDOR_LIBRARY_FILENAMES"] = str(_MESA_EGL_VENDOR)
    return env


class _Progress:
    """Frames done across views: a tqdm bar on a terminal, periodic log lines otherwise."""

    def __init__(self, total: int | None, desc: str):
        self.total, self.desc, self.done = total, desc, 0
        self.start = time.monotonic()
        self._last_log = 0.0
        self.bar = None
        if total and sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, unit="frame", dynamic_ncols=True, file=sys.stderr)
            except ImportError:  # pragma: no cover
                self.bar = None

    def update(self, msg: dict) -> None:
        done = int(msg.get("done", self.done + 1))
        step = done - self.done
        self.done = done
        if self.bar is not None:
            self.bar.update(step)
            if "view" in msg:
                self.bar.set_postfix_str(str(msg["view"]), refresh=False)
            return
        now = time.monotonic()
        if self.total and (now - self._last_log > 10.0 or done == self.total):
            self._last_log = now
            rate = (now - self.start) / max(done, 1)
            eta = rate * (self.total - done)
            log.info("%s: %d/%d frames (%s), %.1f s/frame, ETA %.0f s", self.desc, done, self.total,
                     msg.get("view", ""), rate, eta)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _reader(stream, q: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        q.put(line)
    q.put(None)


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGTERM, SIGHUP, SIGINT) arrived while a render ran.

    A KeyboardInterrupt so that everything treats it as "stop now", not as one failed unit:
    Luigi re-raises it instead of recording a task failure and carrying on with the next task.
    ``signum`` is the signal; the CLI exits with 128 + signum, as the shell reports a signal.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals():
    """While inside, a stop signal raises :class:`Interrupted` (so clean-up runs); restored after.

    Python delivers signals to the main thread only, so elsewhere (a thread pool) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise Interrupted(signum)

    previous = {s: signal.signal(s, _raise) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _die_with_parent(parent: int):
    """A ``preexec_fn`` (Linux): the child gets SIGTERM when the thread that started it ends.

    run_job waits for the child in that same thread, so this fires only when the caller is killed
    in a way no handler sees (SIGKILL, a crash). Elsewhere: None (no such feature).
    """
    if not sys.platform.startswith("linux"):
        return None

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork: no dlopen in the child
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def run_job(
    job: dict[str, Any],
    work_dir: str | Path,
    render_cfg,
    *,
    clip: str,
    what: str | None = None,
    log_path: str | Path | None = None,
    progress_total: int | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Write ``job`` to ``work_dir/job.json``, run the render interpreter on it, return its result.

    Args:
        job: JSON-serialisable job (``kind`` selects the bpy entry point; see ``bpy_main``).
        work_dir: folder for the job file, its data files and the child's ``result.json``.
        render_cfg: the ``render`` config section (interpreter, device, timeout).
        clip: the clip's id (the job's ``clip``).
        what: how messages name the job (default: ``clip 'CLIP'``).
        log_path: where the child's output goes (default ``work_dir/render.log``).
        progress_total: frames expected over all views, for the progress bar.
        timeout: seconds the child may go without finishing a frame (or, before its first frame,
            since it started) before it is killed (default ``render_cfg.timeout``).

    Raises:
        RenderError: interpreter missing, child crashed or timed out, or no result written.
    """
    what = what or f"clip '{clip}'"
    cmd_head = render_command(render_cfg, [], what)
    # Absolute: the child runs with work_dir as its cwd, so relative paths would point elsewhere.
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    job_path = work_dir / "job.json"
    result_path = work_dir / RESULT_NAME
    result_path.unlink(missing_ok=True)
    job = dict(job, result=str(result_path), clip=clip)
    atomic_write_text(job_path, json.dumps(job, indent=1))
    log_path = Path(log_path) if log_path else work_dir / "render.log"
    timeout = float(timeout if timeout is not None else render_cfg.timeout)
    cmd = [*cmd_head, str(job_path)]
    log.debug("%s: %s", what, " ".join(cmd))
    tail: collections.deque[str] = collections.deque(maxlen=25)
    progress = _Progress(progress_total, f"render {clip}")
    t0 = time.monotonic()
    with stop_on_signals():
        try:
            proc = subprocess.Popen(
                cmd, cwd=work_dir, env=child_env(render_cfg), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1, start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        except OSError as exc:
            raise RenderError(f"{what}: cannot start the render environment {cmd[0]}: {exc.strerror}") from None
        q: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(proc.stdout, q), daemon=True).start()
        timed_out = False
        last_progress = t0
        shadow_full: list[tuple[int, int]] = []
        try:
            with open(log_path, "w", buffering=1) as log_fh:  # line by line: tail -f shows the progress
                log_fh.write("$ " + " ".join(cmd) + "\n")
                while True:
                    remaining = timeout - (time.monotonic() - last_progress)
                    if remaining <= 0:
                        timed_out = True
                        _kill(proc)
                        break
                    try:
                        line = q.get(timeout=min(remaining, 0.5))
                    except queue.Empty:
                        continue
                    if line is None:
                        break
                    log_fh.write(line)
                    if line.startswith(PROGRESS_TAG):
                        last_progress = time.monotonic()
                        try:
                            progress.update(json.loads(line[len(PROGRESS_TAG):]))
                        except ValueError:
                            pass
                    elif line.strip() and not any(n in line for n in _NOISE):
                        tail.append(line.rstrip())
                        m = _SHADOW_FULL.search(line)
                        if m:
                            shadow_full.append((int(m.group(1)), int(m.group(2))))
                rc = proc.wait()
        except BaseException:
            if proc.poll() is None:
                _kill(proc)
            raise
        finally:
            progress.close()
    seconds = time.monotonic() - t0
    tail_text = "\n    ".join(tail) or "(no output)"
    if timed_out:
        raise RenderError(
            f"{what}: render timed out: no frame finished for {timeout:.0f} s (render.timeout); killed; "
            f"log: {log_path}; last lines:\n    {tail_text}"
        )
    if rc != 0:
        raise RenderError(
            f"{what}: the render process ({cmd[0]}) failed with exit code {rc}; log: {log_path}; "
            f"last lines:\n    {tail_text}"
        )
    if not result_path.exists():
        raise RenderError(
            f"{what}: the render process ({cmd[0]}) exited without writing {result_path.name} "
            f"(is it really a bpy interpreter?); log: {log_path}; last lines:\n    {tail_text}"
        )
    try:
        result = json.loads(result_path.read_text())
    except ValueError as exc:
        raise RenderError(f"{what}: unreadable render result {result_path}: {exc}") from None
    result["process_seconds"] = seconds
    if shadow_full:
        used, available = max(shadow_full)
        result["shadow_pool_overflow"] = {"pages_used": used, "pages_available": available,
                                          "messages": len(shadow_full)}
        log.warning("clip %s: EEVEE's shadow pool overflowed (%d messages, up to %d pages needed, %d available): "
                    "some shadows may be missing; raise render.shadow_pool (MB)", clip, len(shadow_full),
                    used, available)
    return result
