"""One module per ``odah`` subcommand (see :mod:`pipeline.cli`), and what they share: checking
outputs before the work starts."""

from __future__ import annotations

from pathlib import Path


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
