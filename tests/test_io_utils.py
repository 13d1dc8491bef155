import os
import re
import stat

import pytest

from pipeline.io_utils import atomic_dir, atomic_path, atomic_write_text, check_output, read_xml


class _StageError(Exception):
    pass


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out" / "file.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []


def test_atomic_path_keeps_suffix_and_renames(tmp_path):
    target = tmp_path / "a.npz"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".npz" and tmp != target
        tmp.write_bytes(b"x")
    assert target.read_bytes() == b"x"
    atomic_write_text(target, "y")
    assert target.read_text() == "y"


def test_atomic_dir_replaces_whole(tmp_path):
    target = tmp_path / "d"
    target.mkdir()
    (target / "old").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "new").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    with pytest.raises(ValueError):
        with atomic_dir(target) as tmp:
            (tmp / "partial").write_text("p")
            raise ValueError
    assert sorted(p.name for p in target.iterdir()) == ["new"]


def test_read_xml_returns_the_root(tmp_path):
    p = tmp_path / "a.xml"
    p.write_text("<OpenSimDocument Version='40000'><Model name='m'/></OpenSimDocument>")
    root = read_xml(p, _StageError, "the model")
    assert root.tag == "OpenSimDocument" and root.find("Model").get("name") == "m"


def test_read_xml_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.xml"
    with pytest.raises(_StageError, match=rf"^{re.escape(str(missing))}: cannot read the model \(No such file"):
        read_xml(missing, _StageError, "the model")
    bad = tmp_path / "bad.xml"
    bad.write_text("<OpenSimDocument><Model")
    with pytest.raises(_StageError, match=rf"^setup\.xml: {re.escape(str(bad))}: the task set is not valid XML \(.*line 1"):
        read_xml(bad, _StageError, "the task set", prefix="setup.xml: ")


def test_outputs_get_the_umask_permissions_not_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        f = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("y")
        os.umask(0o027)
        g = atomic_write_text(tmp_path / "b.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
    assert stat.S_IMODE(g.stat().st_mode) == 0o640


def test_atomic_path_errors_name_the_requested_path_not_the_temporary(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        atomic_write_text(tmp_path / "taken", "x")
    assert info.value.filename == str(tmp_path / "taken")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_check_output_refuses_what_cannot_be_written(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    assert check_output(tmp_path / "new" / "deeper" / "a.mot", _StageError) == tmp_path / "new" / "deeper" / "a.mot"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(_StageError, match=r"folder.*is an existing folder"):
        check_output(tmp_path / "folder", _StageError)
    with pytest.raises(_StageError, match=r"a\.mot: cannot write motion: .*file is not a folder"):
        check_output(tmp_path / "file" / "a.mot", _StageError, "motion")
    if os.geteuid() != 0:  # root writes anywhere; /proc refuses everyone
        (tmp_path / "ro").mkdir(mode=0o555)
        with pytest.raises(_StageError, match="cannot write"):
            check_output(tmp_path / "ro" / "a.mot", _StageError)
    with pytest.raises(_StageError, match="cannot write"):
        check_output("/proc/odah_cannot_write_here.mot", _StageError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder"] + (["ro"] if os.geteuid() else [])
