"""Atomic file output: write to a temporary sibling, then rename.

A task is complete only when its whole output exists, so a crash never leaves a half-written
file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def _tmp_sibling(path: Path, suffix: str = "") -> Path:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + suffix, dir=path.parent)
    except OSError as exc:
        raise _naming(exc, path) from exc
    # mkstemp makes 0600 files; outputs get the permissions any new file would (datasets are shared)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    return Path(tmp)


def remove_stale_temporaries(folder: Path, *outputs: Path, prefixes: tuple[str, ...] = ()) -> list[Path]:
    """Remove what an interrupted run left in ``folder``: the temporaries :func:`atomic_path` and
    :func:`atomic_dir` make for ``outputs`` (``.NAME.XXXX.tmp``, ``.NAME.XXXX.tmp.SUFFIX``) and
    ``.tmp`` entries starting with ``prefixes``. Returns what was removed.
    """
    patterns = [f".{o.name}.*.tmp" for o in outputs] + [f".{o.name}.*.tmp.*" for o in outputs]
    patterns += [f"{p}*.tmp" for p in prefixes]
    stale = sorted({x for pattern in patterns for x in folder.glob(pattern)}) if folder.is_dir() else []
    for x in stale:
        if x.is_dir() and not x.is_symlink():
            shutil.rmtree(x, ignore_errors=True)
        else:
            x.unlink(missing_ok=True)
    return stale


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` re-aimed at the path the user asked for, not at a hidden temporary beside it."""
    return type(exc)(exc.errno, exc.strerror, str(path))


def check_output(path: str | Path, error: type[Exception], what: str = "output") -> Path:
    """Fail early, before any work, if ``path`` cannot be written as a file.

    ``path`` must not be a folder, and its nearest existing ancestor must be a folder in which a
    file can be created (tested by creating and removing one). Missing folders are fine: writers
    create them. Raises ``error`` naming the path and the reason.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: {what} is an existing folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise error(f"{path}: cannot write {what}: {parent} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise error(f"{path}: cannot write {what} in {parent} ({exc.strerror or exc})") from None
    return path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``.

    The temporary keeps ``path``'s suffix (``.x.mp4.abc.tmp.mp4``) so tools that pick a format
    from the extension still work. On error the temporary is removed and nothing is left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_sibling(path, path.suffix)
    try:
        yield tmp
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _naming(exc, path) from exc
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise _naming(exc, path) from exc
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_outputs(*paths: str | Path) -> Iterator[list[Path]]:
    """Temporary paths for several outputs, renamed into place when the block succeeds: a
    command's outputs appear together or not at all (one that fails to be renamed removes those
    already in place). Paths that are None get None."""
    placed: list[Path] = []

    def record(path):
        return lambda exc_type, *_: placed.append(path) if exc_type is None else None

    try:
        with contextlib.ExitStack() as stack:
            tmps = []
            for p in paths:
                if p is None:
                    tmps.append(None)
                    continue
                stack.push(record(Path(p)))  # runs after p's rename, only if it succeeded
                tmps.append(stack.enter_context(atomic_path(p)))
            yield tmps
    except BaseException:
        for p in placed:
            p.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def atomic_savez(path: str | Path, compressed: bool = False, **arrays) -> Path:
    """``np.savez`` (or ``savez_compressed``) of ``arrays`` to ``path``, atomically.

    Values are passed through ``np.asarray``; strings become numpy string scalars.
    """
    import numpy as np

    save = np.savez_compressed if compressed else np.savez
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            save(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(path)


def _read(path: Path, error: type[Exception], what: str, where: str, binary: bool = False) -> str | bytes:
    """The text (or bytes) of ``path``; an unreadable file raises ``error`` naming ``where`` and ``what``."""
    try:
        return path.read_bytes() if binary else path.read_text()
    except OSError as exc:
        raise error(f"{where}: cannot read {what} ({exc.strerror or exc})") from None


def read_document(path: str | Path, error: type[Exception], what: str, prefix: str = ""):
    """Parse a JSON (``.json``) or YAML (anything else) file into Python data.

    An unreadable file or malformed content raises ``error`` (the caller's stage exception) with a
    message naming ``prefix`` + the file, ``what`` it should be, and the reason.
    """
    import json

    path = Path(path)
    where = f"{prefix}{path}"
    text = _read(path, error, what, where)
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise error(f"{where}: {what} is not valid JSON ({exc})") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{where}: {what} is not valid YAML ({exc})") from None


def read_xml(path: str | Path, error: type[Exception], what: str, prefix: str = ""):
    """The root element (``xml.etree.ElementTree.Element``) of an XML file.

    An unreadable file or malformed XML raises ``error`` (the caller's stage exception) with a
    message naming ``prefix`` + the file, ``what`` it should be, and the reason.
    """
    import xml.etree.ElementTree as ET

    path = Path(path)
    where = f"{prefix}{path}"
    data = _read(path, error, what, where, binary=True)  # bytes: the XML declaration names the encoding
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise error(f"{where}: {what} is not valid XML ({exc})") from None
