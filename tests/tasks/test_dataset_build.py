"""End to end: a tiny dataset through every stage, with one failing unit, then a resumed run."""

import json

import numpy as np
import pytest

from pipeline.body.motion_library import load_motion
from pipeline.cli import main
from pipeline.kinematics.generic_model import GENERIC_MODEL_PATH
from pipeline.kinematics.mot import read_mot, write_mot
from pipeline.render.encode import probe_video

TINY = ["dataset.subjects=1", "motion.fps=10", "render.fps=10", "motion.max_seconds=0.4",
        "render.width=64", "render.height=48", "render.samples=1"]


def _broken_mot(path):
    """A valid .mot with one NaN value: its unit must fail, the other must not."""
    write_mot(path, load_motion("squat", fps=10.0, duration=0.4), model=str(GENERIC_MODEL_PATH))
    lines = path.read_text().splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("endheader")) + 3
    cells = lines[i].split("\t")
    cells[5] = "nan"
    lines[i] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_tiny_dataset_end_to_end(tmp_path, capsys):
    bad = _broken_mot(tmp_path / "broken.mot")
    root = tmp_path / "ds"
    args = ["dataset", "--out", str(root), *sum((["-s", o] for o in TINY), []),
            "-s", f"dataset.motions=[library:walking, {bad}]"]
    assert main(args) == 1  # one clip failed
    out = capsys.readouterr().out
    assert "1 of 2 clips ok, 1 failed" in out and "FAILED s000-broken" in out

    m = json.loads((root / "manifest.json").read_text())
    assert m["summary"] == {"clips": 2, "ok": 1, "failed": 1}
    assert m["splits"]["train"] == ["s000"] and m["versions"]["blender"].startswith("5.0")
    ok, failed = m["clips"]
    assert ok["clip_id"] == "s000-walking" and ok["status"] == "ok" and isinstance(ok["seed"], int)
    assert failed["status"] == "failed" and "broken.mot" in failed["error"] and "NaN" in failed["error"]
    assert not (root / "clips" / "s000-broken").exists() or not any((root / "clips" / "s000-broken").glob("*.mp4"))
    assert (root / "failures.jsonl").read_text().count("broken.mot") >= 1

    # Every file of the contract, consistent with each other.
    clip = root / "clips" / "s000-walking"
    for rel in ok["files"].values():
        assert (root / rel).is_file(), rel
    mot = read_mot(clip / "kinematics.mot")
    T = len(mot.times)
    assert T == 5 and ok["frames"] == T
    for name in ("video_front", "video_side", "masks_front", "masks_side"):
        info = probe_video(clip / f"{name}.mp4")
        assert info["codec"] == "h264" and info["frames"] == T and (info["width"], info["height"]) == (64, 48)
    with np.load(clip / "keypoints3d.npz") as k3, np.load(clip / "keypoints2d.npz") as k2:
        kp = k3["keypoints"]
        assert kp.shape == (T, 44, 3) and np.isfinite(kp).all()  # 22 joint centres + 22 body COMs
        assert list(k2["names"]) == list(k3["names"])
        for view in ("front", "side"):
            assert k2[view].shape == (T, 44, 2) and k2[f"{view}_visibility"].shape == (T, 44)
            assert (k2[f"{view}_visibility"] == 2).mean() > 0.5  # most keypoints seen in each view
    cams = json.loads((clip / "cameras.json").read_text())
    assert set(cams) >= {"front", "side"}
    # The clip's labels come from the subject's scaled model and IK
    scales = json.loads((clip / "scales.json").read_text())
    assert scales == json.loads((root / "subjects/s000/scales.json").read_text())

    # Resuming does no work twice: the finished clip's files are untouched.
    stamp = (clip / "video_front.mp4").stat().st_mtime_ns
    assert main(args) == 1
    assert (clip / "video_front.mp4").stat().st_mtime_ns == stamp
