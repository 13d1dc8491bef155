import pytest

from pipeline.io_utils import atomic_dir, atomic_path, atomic_write_text


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
