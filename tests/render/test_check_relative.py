import pytest

from pipeline.cli import main


@pytest.mark.slow
def test_render_check_with_the_default_relative_output_root(tmp_path, monkeypatch, capsys):
    # The default output root is the relative path "output": the launcher must hand the render
    # child absolute paths, since the child runs in its own working folder.
    monkeypatch.chdir(tmp_path)
    assert main(["render-check"]) == 0
    assert "render-check: ok" in capsys.readouterr().out
    assert (tmp_path / "output" / "render_check" / "render_check.png").stat().st_size > 0
