"""`odah render-check` and the launcher's handling of missing, crashing and hanging environments."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import RenderError
from pipeline.render.launcher import run_job


def _fake_interpreter(tmp_path: Path, body: str) -> str:
    """An executable standing in for the render interpreter (a broken environment)."""
    exe = tmp_path / "fake-python"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(exe)


@pytest.mark.slow
def test_render_check_renders_in_render_env(tmp_path, capsys):
    """Issue 2: one tiny EEVEE image through the launcher; engine, device and time reported."""
    rc = main(["render-check", "--out", str(tmp_path), "--size", "64x48"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "render-check: ok" in out
    assert "engine   BLENDER_EEVEE" in out
    assert "device   " in out and "time     render" in out
    from PIL import Image

    with Image.open(tmp_path / "render_check.png") as im:
        assert im.size == (64, 48)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".render_check.")], "work folder left behind"


def test_missing_render_env_is_clear_error(tmp_path):
    cfg = load_config(None, [f"render.python={tmp_path / 'nope' / 'python'}"])
    with pytest.raises(RenderError, match=r"clip 'c1': render environment not found: .*nope/python does not exist "
                                          r"\(config render.python="):
        run_job({"kind": "check"}, tmp_path / "work", cfg.render, clip="c1")


def test_crashing_render_env_reports_log_tail(tmp_path):
    exe = _fake_interpreter(tmp_path, 'echo "starting"; echo "Fatal Python error: Segmentation fault" >&2; exit 139')
    cfg = load_config(None, [f"render.python={exe}"])
    with pytest.raises(RenderError) as err:
        run_job({"kind": "check"}, tmp_path / "work", cfg.render, clip="walk_01")
    msg = str(err.value)
    assert "clip 'walk_01'" in msg and "exit code 139" in msg and "Segmentation fault" in msg


def test_env_without_result_is_error(tmp_path):
    exe = _fake_interpreter(tmp_path, "echo hello; exit 0")
    cfg = load_config(None, [f"render.python={exe}"])
    with pytest.raises(RenderError, match="without writing result.json"):
        run_job({"kind": "check"}, tmp_path / "work", cfg.render, clip="c2")


def test_hanging_render_env_times_out(tmp_path):
    exe = _fake_interpreter(tmp_path, "echo working; exec sleep 30")
    cfg = load_config(None, [f"render.python={exe}"])
    with pytest.raises(RenderError, match=r"clip 'c3': render timed out: no frame finished for 1 s"):
        run_job({"kind": "check"}, tmp_path / "work", cfg.render, clip="c3", timeout=1.0)


def test_child_gets_this_checkout_on_pythonpath(tmp_path):
    """The render side must import the caller's code version, not an installed copy."""
    exe = _fake_interpreter(tmp_path, 'echo "PP=$PYTHONPATH"; exit 5')
    cfg = load_config(None, [f"render.python={exe}"])
    with pytest.raises(RenderError) as err:
        run_job({"kind": "check"}, tmp_path / "work", cfg.render, clip="c4")
    import pipeline

    root = str(Path(pipeline.__file__).resolve().parent.parent)
    assert f"PP={root}" in str(err.value)


def test_timeout_counts_from_the_last_frame(tmp_path):
    """A long render that keeps finishing frames is not killed; only a stalled one is."""
    exe = _fake_interpreter(tmp_path, 'for i in 1 2 3 4; do echo "ODAH_PROGRESS {\\"done\\": $i, \\"total\\": 4}"; '
                                      'sleep 0.6; done; exit 7')
    cfg = load_config(None, [f"render.python={exe}"])
    with pytest.raises(RenderError, match="exit code 7"):  # ran 2.4 s under a 1 s stall limit
        run_job({"kind": "check"}, tmp_path / "work", cfg.render, clip="c5", timeout=1.0, progress_total=4)


def test_shadow_pool_overflow_is_reported(tmp_path, caplog):
    """EEVEE's 'Shadow buffer full' line (missing shadows) becomes a warning and a field of the result."""
    full = "Error: Shadow buffer full, may result in missing shadows and lower performance."
    exe = _fake_interpreter(tmp_path, f'echo "{full} (510 / 256)"; echo "{full} (629 / 256)"; '
                                      "echo '{\"ok\": true}' > result.json; exit 0")
    cfg = load_config(None, [f"render.python={exe}"])
    with caplog.at_level("WARNING"):
        result = run_job({"kind": "check"}, tmp_path / "work", cfg.render, clip="c6")
    assert result["ok"] and result["shadow_pool_overflow"] == {"pages_used": 629, "pages_available": 256,
                                                               "messages": 2}
    assert "clip c6" in caplog.text and "render.shadow_pool" in caplog.text
    exe = _fake_interpreter(tmp_path, "echo '{\"ok\": true}' > result.json; exit 0")
    cfg = load_config(None, [f"render.python={exe}"])
    assert "shadow_pool_overflow" not in run_job({"kind": "check"}, tmp_path / "work2", cfg.render, clip="c7")
