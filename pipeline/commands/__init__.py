"""One module per ``odah`` subcommand (see :mod:`pipeline.cli`), and what they share: flags that
set config keys and checking outputs before the work starts (``io_utils.atomic_outputs`` writes
them all or none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def set_from_flags(cfg, flags: dict[str, tuple[str, Any]]):
    """``cfg`` with each flag's value set on its config key, validated as ``-s KEY=VALUE`` is
    (type, range, choices), the message naming the flag too.

    flags: {flag: (dotted config key, value)}; a value of None (the flag not given) is skipped.
    """
    from ..config import set_key
    from ..errors import ConfigError

    for flag, (key, value) in flags.items():
        if value is None:
            continue
        try:
            cfg = set_key(cfg, key, value)
        except ConfigError as exc:
            raise ConfigError(f"{flag} {value}: {exc}") from None
    return cfg


def require_file(path: str | Path | None, error: type[Exception], what: str) -> Path | None:
    """``path`` as a Path (None stays None); ``error`` "WHAT PATH not found" or "... is a folder"."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} {'is a folder, not a file' if path.is_dir() else 'not found'}")
    return path


def check_outputs(error: type[Exception], outputs: dict[str, tuple[str | Path | None, tuple[str, ...]]],
                  inputs: dict[str, str | Path | None] | None = None) -> None:
    """Before any work: every output has one of its file types, can be written as a file and is
    not another output or an input. Raises ``error`` naming the flag and the path.

    outputs: {flag: (path, suffixes such as (".mot", ".sto"))}; inputs: {flag: path}; a path of
    None is a file not asked for.
    """
    from ..io_utils import check_output

    seen = {Path(p).resolve(): flag for flag, p in (inputs or {}).items() if p is not None}
    for flag, (path, suffixes) in outputs.items():
        if path is None:
            continue
        if Path(path).suffix.lower() not in suffixes:
            raise error(f"{flag} {path}: expected a {' or '.join(suffixes)} file")
        check_output(path, error, flag)
        key = Path(path).resolve()
        if key in seen:
            raise error(f"{flag} {path}: the same file as {seen[key]}; give {flag} another file")
        seen[key] = flag
