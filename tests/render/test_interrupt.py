"""Stopping odah while it renders stops the render process too and leaves no partial outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import PROJECT_ROOT
from pipeline.layout import VIEWS, Layout

TINY = ["-s", "render.width=32", "-s", "render.height=32", "-s", "render.samples=1", "-s", "render.fps=30"]


linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG")


def _render_children(job_dir: Path) -> list[int]:
    """Pids of processes whose command line names a job file under ``job_dir``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.startswith(str(job_dir).encode()) and arg.endswith(b"job.json") for arg in cmdline):
            pids.append(int(proc.name))
    return pids


def _wait_for(predicate, seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def _odah(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], env=env, stderr=subprocess.PIPE, text=True)


def _stop(odah: subprocess.Popen, sig: int, job_dir: Path, started) -> None:
    """Send ``sig`` to odah once ``started()``; odah and its render process must end."""
    try:
        assert _wait_for(lambda: started() and _render_children(job_dir), 120), "the render process did not start"
        odah.send_signal(sig)
        odah.wait(timeout=20)
        assert _wait_for(lambda: not _render_children(job_dir), 10) is True, "the render process outlived odah"
    finally:  # a failing test leaves nothing running
        if odah.poll() is None:
            odah.kill()
        for pid in _render_children(job_dir):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@linux
def test_sigterm_to_odah_stops_the_render(tmp_path):
    root = tmp_path / "out"
    odah = _odah("render", "long", "--mannequin", "--frames", "3000", "-s", f"paths.output_root={root}", *TINY)
    clip = Layout(root).clip("long")
    # started: the render process has rendered a frame (its log shows the progress)
    _stop(odah, signal.SIGTERM, clip.dir,
          lambda: clip.render_log.exists() and "ODAH_PROGRESS" in clip.render_log.read_text())
    assert odah.returncode == 128 + signal.SIGTERM
    assert "interrupted (SIGTERM)" in odah.stderr.read()
    assert not any(clip.video(v).exists() or clip.masks(v).exists() for v in VIEWS)
    leftovers = [p.name for p in clip.dir.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers


@pytest.fixture
def sleeping_interpreter(tmp_path) -> Path:
    """A stand-in for the bpy interpreter: reports one frame, then sleeps (a hung render)."""
    exe = tmp_path / "sleepy"
    exe.write_text(f"#!{sys.executable}\nimport time\nprint('ODAH_PROGRESS {{\"done\": 1}}', flush=True)\n"
                   "time.sleep(600)\n")
    exe.chmod(0o755)
    return exe


@linux
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_any_stop_of_odah_stops_the_render(tmp_path, sleeping_interpreter, sig):
    out = tmp_path / "check"
    odah = _odah("render-check", "--out", str(out), "-s", f"render.python={sleeping_interpreter}")
    log = out / "render_check.log"
    _stop(odah, sig, out, lambda: log.exists() and "ODAH_PROGRESS" in log.read_text())
    if sig == signal.SIGKILL:  # no handler runs: the child goes by PR_SET_PDEATHSIG
        assert odah.returncode == -sig
    else:
        assert odah.returncode == 128 + sig
        assert f"interrupted ({sig.name})" in odah.stderr.read()
