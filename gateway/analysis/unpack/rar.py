"""RAR archives with rarfile, which reads the headers itself and pipes compressed members
through a free RAR tool (`unar` from Debian, or `bsdtar`); stored members need no tool."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from functools import cache
from pathlib import Path

import rarfile

from gateway.analysis.archives import (
    Member,
    Opened,
    checked_member,
    read_bound,
    read_capped,
    read_members,
)
from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.vietnamese import nfc

ENCRYPTED = "encrypted RAR archive (a password is needed)"


def open_rar(data: bytes, budget: int, limits: AnalysisLimits) -> Opened:
    """The files of a RAR archive; encrypted members (or headers) are refused.

    The archive is written once to a private temporary folder, so that the tool gets
    each compressed member cut out of it (or, for a solid archive, the file itself)
    rather than a fresh copy of the whole archive per member.
    """
    with tempfile.TemporaryDirectory(prefix="tth-rar-") as folder:
        path = Path(folder, "archive.rar")
        path.write_bytes(data)
        return _open(str(path), budget, limits)


def _open(path: str, budget: int, limits: AnalysisLimits) -> Opened:
    try:
        archive = rarfile.RarFile(path)
    except rarfile.PasswordRequired:
        return Opened(refused=ENCRYPTED)
    except Exception as exc:  # rarfile raises its own and built-in errors on hostile input
        return Opened(refused=f"broken RAR archive ({exc.__class__.__name__})")
    with archive:
        files = [info for info in archive.infolist() if not info.is_dir()]
        if archive.needs_password() and not any(info.needs_password() for info in files):
            return Opened(refused=ENCRYPTED)  # encrypted names: nothing is listed without them
        opened = read_members(
            files, lambda info, left: _read(archive, info, left, limits),
            lambda info: nfc(info.filename or ""), budget, limits,
        )
        error = archive.strerror()
    if error:  # rarfile stops listing at a broken header: what follows is unseen
        rest = Member("(rest of the archive)", refused=f"broken RAR archive ({error})")
        return replace(opened, members=(*opened.members, rest))
    return opened


def _read(archive: rarfile.RarFile, info: rarfile.RarInfo, budget: int,
          limits: AnalysisLimits) -> Member:
    name = nfc(info.filename or "")
    if info.needs_password():
        return Member(name, refused="encrypted archive member (a password is needed)")
    declared, compressed = info.file_size or 0, info.compress_size or 0
    bound = read_bound(compressed, budget, limits)
    if declared >= bound:
        return Member(name, refused=f"expands to {declared} bytes, over the decompression "
                                    "limit or the compression ratio limit")
    _choose_tool()
    try:
        with archive.open(info) as stream:
            content = read_capped(stream, bound)
    except Exception as exc:  # a missing tool, a broken member, an unsupported method
        return Member(name, refused=f"member cannot be unpacked ({exc.__class__.__name__})")
    return checked_member(name, content, compressed, budget, limits)


@cache
def _choose_tool() -> None:
    """Prefer unrar/unar, then bsdtar; never 7-Zip, whose Debian build has no RAR codec."""
    try:
        rarfile.tool_setup(sevenzip=False, sevenzip2=False)
    except rarfile.RarCannotExec:
        return  # stored members are still read; compressed ones say the tool is missing
