"""Single compressed streams (gzip, bzip2, xz): one member, decompressed in chunks."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import IO

from gateway.analysis import filetypes
from gateway.analysis.archives import Opened, checked_member, read_bound, read_capped
from gateway.analysis.settings import AnalysisLimits

_LABELS = {filetypes.GZIP: "gzip", filetypes.BZIP2: "bzip2", filetypes.XZ: "xz"}
_SUFFIXES = {".tgz": ".tar", ".tbz2": ".tar", ".tbz": ".tar", ".txz": ".tar",
             ".gz": "", ".bz2": "", ".xz": ""}  # fmt: skip
_ERRORS = (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


def open_compressed(
    data: bytes, detected: str, filename: str | None, budget: int, limits: AnalysisLimits
) -> Opened:
    """The decompressed content of a gzip/bzip2/xz stream, read no further than allowed."""
    label = _LABELS[detected]
    try:
        with _decompressing(detected, io.BytesIO(data)) as stream:
            content = read_capped(stream, read_bound(len(data), budget, limits))
    except _ERRORS as exc:
        return Opened(refused=f"broken {label} stream ({exc.__class__.__name__})")
    member = checked_member(inner_name(filename), content, len(data), budget, limits)
    return Opened((member,), expanded=len(member.data))


def inner_name(filename: str | None) -> str:
    """The decompressed file's name: "a.tar.gz" -> "a.tar", "a.tgz" -> "a.tar"."""
    if not filename:
        return "decompressed"
    lower = filename.lower()
    for suffix, replacement in _SUFFIXES.items():
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)] + replacement
    return filename


def _decompressing(detected: str, raw: IO[bytes]) -> io.BufferedIOBase:
    if detected == filetypes.GZIP:
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if detected == filetypes.BZIP2:
        return bz2.BZ2File(raw, mode="rb")
    return lzma.LZMAFile(raw, mode="rb")
