"""Writing files so that they survive a crash: write, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_durably(path: Path, chunks: Iterable[bytes], *, staging: Path | None = None) -> None:
    """Create `path` atomically with `chunks` as content; it is on disk when this returns."""
    staging_dir = staging or path.parent
    temporary = staging_dir / f".{path.name}.tmp"
    with open(temporary, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)
