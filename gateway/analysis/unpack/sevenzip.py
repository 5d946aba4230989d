"""7z archives with py7zr, judged on their declared sizes before anything is expanded.

py7zr never writes more of a member than its declared size, so refusing an
archive whose declared sizes pass the budget or the ratio limit bounds the
work; `max_extract_size` stops it as well should the sizes lie.
"""

from __future__ import annotations

import io

from py7zr import SevenZipFile
from py7zr.io import Py7zIO, WriterFactory

from gateway.analysis.archives import Member, Opened, checked_member, overflow, read_bound
from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.vietnamese import nfc

ENCRYPTED = "encrypted 7z archive (a password is needed)"


def open_7z(data: bytes, budget: int, limits: AnalysisLimits) -> Opened:
    """The files of a 7z archive; an encrypted one is refused whole."""
    try:
        with SevenZipFile(io.BytesIO(data), mode="r") as archive:
            if archive.needs_password():
                return Opened(refused=ENCRYPTED)
            files = [info for info in archive.list() if not info.is_directory]
            wanted = files[: limits.max_archive_members]
            declared = sum(info.uncompressed or 0 for info in wanted)
            bound = read_bound(len(data), budget, limits)
            if declared >= bound:
                return Opened(refused=_too_large(declared, len(data), budget, limits))
            archive.max_extract_size = bound - 1
            collector = _Collector()
            archive.extract(targets=[info.filename for info in wanted], factory=collector)
    except Exception as exc:  # py7zr raises its own and many built-in errors on hostile input
        return Opened(refused=_failure(exc))
    members = [_member(info.filename, collector, len(data), budget, limits) for info in wanted]
    if len(files) > len(wanted):
        members.append(overflow(nfc(files[len(wanted)].filename), len(files), limits))
    return Opened(tuple(members), expanded=sum(len(member.data) for member in members))


def _member(name: str, collector: _Collector, compressed: int, budget: int,
            limits: AnalysisLimits) -> Member:
    written = collector.written.get(name)
    if written is None:
        return Member(nfc(name), refused="member cannot be unpacked")
    return checked_member(nfc(name), written.getvalue(), compressed, budget, limits)


def _too_large(declared: int, compressed: int, budget: int, limits: AnalysisLimits) -> str:
    if declared > min(budget, limits.max_decompressed_bytes):
        return f"expands to {declared} bytes, over the decompression limit"
    ratio = declared / max(compressed, 1)
    return f"zip bomb: compression ratio {ratio:.0f}:1 over the limit of " \
           f"{limits.max_compression_ratio:.0f}:1"


def _failure(exc: Exception) -> str:
    name = exc.__class__.__name__
    if name == "PasswordRequired":
        return ENCRYPTED
    if name == "DecompressionBombError":
        return "expands past the decompression limit (sizes in archive lie)"
    return f"broken 7z archive ({name})"


class _Memory(Py7zIO):
    """One member's bytes, as py7zr writes them."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, s: bytes | bytearray) -> int:
        return self.buffer.write(s)

    def read(self, size: int | None = None) -> bytes:
        return self.buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.buffer.seek(offset, whence)

    def flush(self) -> None:
        return None

    def size(self) -> int:
        return self.buffer.getbuffer().nbytes

    def getvalue(self) -> bytes:
        return self.buffer.getvalue()


class _Collector(WriterFactory):
    """Keeps each member in memory, by the name py7zr gives it."""

    def __init__(self) -> None:
        self.written: dict[str, _Memory] = {}

    def create(self, filename: str) -> Py7zIO:
        memory = _Memory()
        self.written[filename] = memory
        return memory
