"""tar archives (the standard library's tarfile): regular files only, within limits."""

from __future__ import annotations

import io
import tarfile

from gateway.analysis.archives import Member, Opened, checked_member, overflow, read_capped
from gateway.analysis.legacy import decode_text
from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.vietnamese import nfc

_ERRORS = (tarfile.TarError, OSError, EOFError, ValueError, UnicodeError)


def open_tar(data: bytes, budget: int, limits: AnalysisLimits) -> Opened:
    """The regular files of an uncompressed tar; links, devices and folders are skipped.

    Headers are read one at a time, so an archive of a million entries costs no
    more than `max_archive_members` of them.
    """
    members: list[Member] = []
    spent = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8",
                          errors="surrogateescape") as archive:
            while (info := archive.next()) is not None:
                if not info.isreg():
                    continue
                if len(members) == limits.max_archive_members:
                    members.append(overflow(_name(info.name), None, limits))
                    break
                member = _read(archive, info, budget - spent, limits)
                spent += len(member.data)
                members.append(member)
    except _ERRORS as exc:
        if not members:
            return Opened(refused=f"broken tar archive ({exc.__class__.__name__})")
        members.append(Member("(rest of the archive)",
                              refused=f"broken tar archive ({exc.__class__.__name__})"))
    return Opened(tuple(members), expanded=spent)


def _read(archive: tarfile.TarFile, info: tarfile.TarInfo, budget: int,
          limits: AnalysisLimits) -> Member:
    name = _name(info.name)
    allowed = min(budget, limits.max_decompressed_bytes)
    if info.size > allowed:
        return Member(name, refused=f"expands to {info.size} bytes, over the decompression limit")
    stream = archive.extractfile(info)
    if stream is None:
        return Member(name, refused="member cannot be unpacked")
    with stream:
        content = read_capped(stream, allowed + 1)
    # a sparse member is the only one that expands: judged by its stored size
    stored = len(content)
    if info.issparse():
        stored = sum(int(size) for _, size in getattr(info, "sparse", None) or ())
    return checked_member(name, content, stored, budget, limits)


def _name(raw: str) -> str:
    """A member name; bytes that are not UTF-8 are read in a legacy Vietnamese encoding."""
    if any("\udc80" <= char <= "\udcff" for char in raw):
        raw = decode_text(raw.encode("utf-8", "surrogateescape"), None)[0]
    return nfc(raw)
