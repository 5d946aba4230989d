"""Writing files so that they survive a crash: write, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_durably(path: Path, chunks: Iterable[bytes], *, staging: Path | None = None,
                  mode: int = 0o600) -> None:
    """Create `path` atomically with `chunks` as content (file mode `mode`, 0600 by default:
    only the gateway's user reads it); it is on disk when this returns."""
    staging_dir = staging or path.parent
    temporary = staging_dir / f".{path.name}{TEMPORARY_SUFFIX}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), mode)
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)
