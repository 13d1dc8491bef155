import subprocess
import sys

import pytest

from pipeline.cli import COMMANDS, build_parser, main


def test_help_lists_every_subcommand_with_a_purpose(capsys):
    parser = build_parser()
    text = parser.format_help()
    for name, _module in COMMANDS:
        assert name in text
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, _module in COMMANDS:
        help_text = sub.choices[name].format_help()
        assert "--config" in help_text and "--set" in help_text and "--verbose" in help_text
        assert "example" in help_text, f"odah {name} --help shows no example"


def test_console_script_help_runs():
    out = subprocess.run([sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, check=True)
    assert "commands" in out.stdout


def test_config_command_prints_and_rejects(capsys, tmp_path):
    assert main(["config", "-s", "render.width=320"]) == 0
    assert "width: 320" in capsys.readouterr().out
    assert main(["config", "-s", "render.width=320", "--out", str(tmp_path / "c.yaml")]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'c.yaml'}\n"  # the YAML goes to the file only
    assert "width: 320" in (tmp_path / "c.yaml").read_text()
    for flag in ("--list", "--presets"):
        assert main(["config", flag, "--out", str(tmp_path / "d.yaml")]) == 2
        assert "--out saves the resolved configuration" in capsys.readouterr().err
    assert not (tmp_path / "d.yaml").exists()
    assert main(["config", "-s", "render.widht=320"]) == 2
    assert "render.widht" in capsys.readouterr().err
    assert main(["config", "--list"]) == 0
    assert "kinematics.ik.backend" in capsys.readouterr().out


def test_config_list_keeps_the_meaning_in_one_column_and_presets_say_what_they_are(capsys):
    from pipeline.config import describe_config

    assert main(["config", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {line.index(text) for key, _d, _a, text in describe_config() if text
              for line in lines if line.rstrip().endswith(text)}
    assert len(starts) == 1, starts  # long defaults (dataset.motions) push the meaning a line down, not sideways
    assert main(["config", "--presets"]) == 0
    out = capsys.readouterr().out
    assert "demo  The demo (make demo)" in out and "odah  The ODAH paper's settings" in out


def test_axes_round_trip():
    import numpy as np

    from pipeline import axes

    p = np.random.default_rng(0).normal(size=(5, 3))
    assert np.allclose(axes.blender_to_opensim(axes.opensim_to_blender(p)), p)
    # OpenSim up (+Y) is Blender up (+Z); OpenSim forward (+X) is Blender -Y
    assert np.allclose(axes.opensim_to_blender([0, 1, 0]), [0, 0, 1])
    assert np.allclose(axes.opensim_to_blender([1, 0, 0]), [0, -1, 0])
    for r in (axes.OPENSIM_TO_BLENDER, axes.SMPL_TO_OPENSIM):
        assert np.isclose(np.linalg.det(r), 1.0)


def test_an_unwritable_output_is_one_line_naming_the_path(tmp_path, capsys):
    from pipeline.cli import main

    (tmp_path / "out.yaml").mkdir()
    assert main(["config", "--out", str(tmp_path / "out.yaml")]) != 0
    err = capsys.readouterr().err
    assert str(tmp_path / "out.yaml") in err and "Traceback" not in err and ".tmp" not in err


def test_config_out_is_checked_before_printing(tmp_path, capsys):
    """A bad --out is an error before the configuration is printed (nothing half done)."""
    (tmp_path / "file").write_text("x")
    assert main(["config", "--out", str(tmp_path / "file" / "c.yaml")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"{tmp_path / 'file' / 'c.yaml'}: cannot write the configuration" in err


def test_preview_out_is_checked_first(tmp_path, capsys):
    (tmp_path / "empty.trc").write_text("")
    target = tmp_path / "empty.trc" / "x.png"
    assert main(["preview", "demo", "--out", str(target), "-s", f"paths.output_root={tmp_path}"]) == 1
    err = capsys.readouterr().err
    assert f"{target}: cannot write the preview: {tmp_path / 'empty.trc'} is not a folder" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv, message", [
    (["render-check", "--size", "10x10"], "argument --size: config key 'render.width': 10 px is below the minimum 16"),
    (["render-check", "--size", "64x9000"], "config key 'render.height': 9000 px is above the maximum 8192"),
    (["render-check", "--samples", "0"], "argument --samples: config key 'render.samples': 0 is below the minimum 1"),
    (["preview", "demo", "--frames", "0"], "argument --frames: 0 is out of range: must be in [1, 1000]"),
    (["preview", "demo", "--width", "0"], "argument --width: 0 is out of range: must be in [64, 8192]"),
    (["render", "x", "--mannequin", "--frames", "0"], "argument --frames: 0 is out of range: must be at least 1"),
    (["render", "x", "--mannequin", "--frames", "-2"], "argument --frames: -2 is out of range"),
    (["dataset", "--workers", "0"], "argument --workers: config key 'dataset.workers': 0 is below the minimum 1"),
])
def test_flags_are_checked_like_their_config_keys(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_render_frames_is_for_the_mannequin(tmp_path, capsys):
    assert main(["render", "x", "--mesh", "m.npz", "--keypoints", "k.npz", "--frames", "3",
                 "-s", f"paths.output_root={tmp_path}"]) == 1
    assert "--frames is for --mannequin" in capsys.readouterr().err
