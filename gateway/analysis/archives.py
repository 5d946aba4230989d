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
from dataclasses import dataclass

from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.vietnamese import nfc

ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError, EOFError,
    zlib.error, struct.error, KeyError,
)  # fmt: skip
ENCRYPTED_FLAG = 0x1
UTF8_FLAG = 0x800


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
        infos = [info for info in archive.infolist() if not info.is_dir()]
        members: list[Member] = []
        spent = 0
        for info in infos[: limits.max_archive_members]:
            member = _read_member(archive, info, budget - spent, limits)
            spent += len(member.data)
            members.append(member)
        if len(infos) > limits.max_archive_members:
            first_skipped = infos[limits.max_archive_members].filename
            members.append(Member(first_skipped, refused=(
                f"archive has {len(infos)} members; those after the first "
                f"{limits.max_archive_members} were not inspected"
            )))
    return Opened(tuple(members), expanded=spent)


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
            data = stream.read(min(budget, limits.max_decompressed_bytes) + 1)
    except ZIP_ERRORS as exc:
        return Member(name, refused=f"member cannot be unpacked ({exc.__class__.__name__})")
    except RuntimeError as exc:  # zipfile raises RuntimeError for encrypted members
        return Member(name, refused=f"member cannot be unpacked ({exc})")
    if len(data) > budget:
        return Member(name, refused="expands past the decompression limit (size in archive lies)")
    if len(data) > limits.ratio_floor_bytes:
        ratio = len(data) / max(info.compress_size, 1)
        if ratio > limits.max_compression_ratio:
            return Member(name, refused=f"zip bomb: compression ratio {ratio:.0f}:1")
    return Member(name, data)
