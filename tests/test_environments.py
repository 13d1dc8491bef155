"""The two environments: bpy only in the render environment, opensim/torch only in the main one."""

import subprocess
import sys

from pipeline import PROJECT_ROOT

RENDER_PY = PROJECT_ROOT / ".venv-render" / "bin" / "python"


def _run(python, code):
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=300)


def test_main_environment_has_opensim_torch_numpy2_and_no_bpy():
    ok = _run(sys.executable, "import opensim, torch, numpy; print(numpy.__version__, torch.__version__)")
    assert ok.returncode == 0, ok.stderr
    assert int(ok.stdout.split()[0].split(".")[0]) >= 2 and ok.stdout.split()[1].startswith("2.13.0")
    no_bpy = _run(sys.executable, "import bpy")
    assert no_bpy.returncode != 0 and "No module named 'bpy'" in no_bpy.stderr


def test_render_environment_has_bpy_numpy1_and_this_project():
    assert RENDER_PY.exists(), "run 'make setup' to build .venv-render"
    out = _run(RENDER_PY, "import bpy, numpy, pipeline.scene.spec; print(bpy.app.version_string, numpy.__version__)")
    assert out.returncode == 0, out.stderr
    blender, numpy_version = out.stdout.split()[-2:]
    assert blender.startswith("5.0") and numpy_version.startswith("1.")
