"""ZIP archives opened within limits: members, or the reason they were refused.

A member is refused, never unpacked, when its declared or real size would
pass the message's remaining decompression budget, or when it expands more
than `max_compression_ratio` times (a zip bomb); only members larger than
`ratio_floor_bytes` are judged by ratio, since small files legitimately
compress well. Reading stops one byte past the allowed size, so a forged size
in the archive's directory cannot make it expand further.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.vietnamese import nfc

ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError, EOFError,
    zlib.error, struct.error, KeyError,
)  # fmt: skip
ENCRYPTED_FLAG = 0x1
_CHUNK = 1024 * 1024
E = TypeVar("E")
UTF8_FLAG = 0x800


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Member:
    """One archive member: its data, or why it was not read."""

    name: str
    data: bytes = b""
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class Opened:
    """An archive's readable members and what went wrong with the rest."""

    members: tuple[Member, ...] = ()
    refused: str | None = None
    expanded: int = 0


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name; names flagged as legacy code page 437 are often really cp1258/UTF-8."""
    name = info.filename
    if not info.flag_bits & UTF8_FLAG:
        raw = name.encode("cp437", "replace")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("cp1258", "replace")
    return nfc(name)


def bomb_reason(info: zipfile.ZipInfo, budget: int, limits: AnalysisLimits) -> str | None:
    """Why `info` must not be unpacked (too large or a zip bomb), or None."""
    if info.file_size > budget:
        return f"expands to {info.file_size} bytes, over the decompression limit"
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_compression_ratio:
        limit = limits.max_compression_ratio
        return f"zip bomb: compression ratio {ratio:.0f}:1 over the limit of {limit:.0f}:1"
    return None


def container_refusal(data: bytes, limits: AnalysisLimits) -> str | None:
    """For ZIP-based documents (DOCX, ODT): why they must not be unpacked, or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            budget = limits.max_decompressed_bytes
            for info in archive.infolist():
                reason = bomb_reason(info, budget, limits)
                if reason is not None:
                    return f"member {member_name(info)!r} {reason}"
                budget -= info.file_size
    except ZIP_ERRORS as exc:
        return f"broken ZIP container ({exc.__class__.__name__})"
    return None


def open_zip(data: bytes, budget: int, limits: AnalysisLimits) -> Opened:
    """Read the members of a ZIP archive, spending at most `budget` decompressed bytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        return Opened(refused=f"broken ZIP archive ({exc.__class__.__name__})")
    with archive:
        # not ZipInfo.is_dir(): it raises IndexError on a member with an empty name
        infos = [info for info in archive.infolist() if not info.filename.endswith("/")]
        return read_members(
            infos, lambda info, left: _read_member(archive, info, left, limits), member_name,
            budget, limits,
        )


def read_members(
    entries: Sequence[E],
    read: Callable[[E, int], Member],
    name: Callable[[E], str],
    budget: int,
    limits: AnalysisLimits,
) -> Opened:
    """Read the first `max_archive_members` entries with `read(entry, budget left)`; the
    rest become one refused stand-in."""
    members: list[Member] = []
    spent = 0
    for entry in entries[: limits.max_archive_members]:
        member = read(entry, budget - spent)
        spent += len(member.data)
        members.append(member)
    if len(entries) > limits.max_archive_members:
        members.append(overflow(name(entries[limits.max_archive_members]), len(entries), limits))
    return Opened(tuple(members), expanded=spent)


def overflow(first_skipped: str, count: int | None, limits: AnalysisLimits) -> Member:
    """The refused stand-in for the members past `max_archive_members`."""
    counted = f"{count} members" if count is not None else "more members"
    return Member(first_skipped, refused=(
        f"archive has {counted}; those after the first "
        f"{limits.max_archive_members} were not inspected"
    ))


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: AnalysisLimits
) -> Member:
    name = member_name(info)
    if info.flag_bits & ENCRYPTED_FLAG:
        return Member(name, refused="encrypted archive member (a password is needed)")
    reason = bomb_reason(info, budget, limits)
    if reason is not None:
        return Member(name, refused=reason)
    try:
        with archive.open(info) as stream:
            data = read_capped(stream, read_bound(info.compress_size, budget, limits))
    except ZIP_ERRORS as exc:
        return Member(name, refused=f"member cannot be unpacked ({exc.__class__.__name__})")
    except RuntimeError as exc:  # zipfile raises RuntimeError for encrypted members
        return Member(name, refused=f"member cannot be unpacked ({exc})")
    return checked_member(name, data, info.compress_size, budget, limits)


def read_bound(compressed: int, budget: int, limits: AnalysisLimits) -> int:
    """How many bytes to read from a stream of `compressed` bytes: one past the most allowed
    (the budget, the size limit, and the ratio limit above its floor), so that going over
    is seen without expanding further."""
    by_ratio = max(limits.ratio_floor_bytes, int(compressed * limits.max_compression_ratio))
    return min(budget, limits.max_decompressed_bytes, by_ratio) + 1


def read_capped(stream: Readable, bound: int) -> bytes:
    """At most `bound` bytes of `stream`, read in chunks (never the whole stream at once)."""
    chunks: list[bytes] = []
    remaining = bound
    while remaining > 0:
        chunk = stream.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def checked_member(
    name: str, data: bytes, compressed: int, budget: int, limits: AnalysisLimits
) -> Member:
    """`data` read with `read_bound`, or why it is refused (too large, or a bomb)."""
    if len(data) > min(budget, limits.max_decompressed_bytes):
        return Member(name, refused="expands past the decompression limit")
    if len(data) > limits.ratio_floor_bytes:
        ratio = len(data) / max(compressed, 1)
        if ratio > limits.max_compression_ratio:
            return Member(name, refused=f"zip bomb: compression ratio {ratio:.0f}:1")
    return Member(name, data)
