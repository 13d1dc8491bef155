import re

import pytest

from pipeline.io_utils import atomic_dir, atomic_path, atomic_write_text, read_xml


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
