"""One module per ``odah`` subcommand (see :mod:`pipeline.cli`), and what they share: flags that
set config keys, checking outputs before the work starts and writing them all or none."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator


def set_from_flags(cfg, flags: dict[str, tuple[str, Any]]):
    """``cfg`` with each flag's value set on its config key, validated as ``-s KEY=VALUE`` is
    (type, range, choices), the message naming the flag too.

    flags: {flag: (dotted config key, value)}; a value of None (the flag not given) is skipped.
    """
    from ..config import config_from_dict
    from ..errors import ConfigError

    for flag, (key, value) in flags.items():
        if value is None:
            continue
        nested = value
        for k in reversed(key.split(".")):
            nested = {k: nested}
        try:
            cfg = config_from_dict(nested, cfg)
        except ConfigError as exc:
            raise ConfigError(f"{flag} {value}: {exc}") from None
    return cfg


def check_outputs(error: type[Exception], outputs: dict[str, str | Path | None]) -> None:
    """Before any work: every output ({flag: path}; None: not asked for) can be written as a file
    and no two outputs are the same file. Raises ``error`` naming the flag and the path."""
    from ..io_utils import check_output

    seen: dict[Path, str] = {}
    for flag, path in outputs.items():
        if path is None:
            continue
        check_output(path, error, flag)
        key = Path(path).resolve()
        if key in seen:
            raise error(f"{flag} {path}: the same file as {seen[key]}; give two different files")
        seen[key] = flag


@contextlib.contextmanager
def atomic_outputs(*paths: str | Path) -> Iterator[list[Path]]:
    """Temporary paths for several outputs, renamed into place when the block succeeds: a
    command's outputs appear together or not at all (one that fails to be renamed removes those
    already in place). Paths that are None get None."""
    from ..io_utils import atomic_path

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
