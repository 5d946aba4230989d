"""Message bytes held in memory while small, in an anonymous temporary file when large."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

READ_BLOCK = 256 * 1024


class Spool:
    """Append-only buffer of the message as received (wire form, still dot-stuffed)."""

    def __init__(self, threshold: int, directory: Path | None = None) -> None:
        self._threshold = threshold
        self._directory = directory
        self._memory = bytearray()
        self._file: IO[bytes] | None = None
        self.size = 0

    def path(self) -> Path | None:
        """The spool file (flushed), for a reader in another process; None while in memory."""
        if self._file is None:
            return None
        self._file.flush()
        return Path(self._file.name)

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self._file is not None:
            self._file.write(data)
            return
        self._memory += data
        if len(self._memory) > self._threshold:
            spooled = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
                dir=self._directory, prefix="tth-spool-"
            )
            spooled.write(self._memory)
            self._file = spooled
            self._memory = bytearray()

    def chunks(self, block: int = READ_BLOCK) -> Iterator[bytes | memoryview]:
        """The stored bytes in order, in blocks of at most `block`. Reads at explicit
        offsets (pread), never through the file's shared position, so two readers at once
        (the analysis digest in a thread, sender authentication on the loop) each get
        every byte."""
        if self._file is None:
            view = memoryview(self._memory)
            for start in range(0, len(view), block):
                yield view[start : start + block]
            return
        self._file.flush()
        descriptor, offset = self._file.fileno(), 0
        while chunk := os.pread(descriptor, block, offset):
            offset += len(chunk)
            yield chunk

    def isascii(self) -> bool:
        """True when every stored byte is ASCII (read block by block, never all at once)."""
        return all(bytes(chunk).isascii() for chunk in self.chunks())

    def getvalue(self) -> bytes:
        """All stored bytes at once (for analysis)."""
        return b"".join(bytes(chunk) for chunk in self.chunks())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory = bytearray()


def unstuff(wire: bytes) -> bytes:
    """Undo SMTP dot-stuffing (RFC 5321 4.5.2) in bulk."""
    data = wire.replace(b"\r\n..", b"\r\n.")
    return data[1:] if data.startswith(b"..") else data


def stuff(message: bytes) -> bytes:
    """The wire form of a CRLF message: dot-stuffed (RFC 5321 4.5.2), ending with CRLF."""
    data = b"." + message if message.startswith(b".") else message
    data = data.replace(b"\r\n.", b"\r\n..")
    return data if data.endswith(b"\r\n") or not data else data + b"\r\n"


def message_spool(message: bytes) -> Spool:
    """An in-memory spool holding `message` in wire form, as `UpstreamConnection.data` wants."""
    wire = stuff(message)
    spool = Spool(threshold=len(wire) + 1)
    spool.write(wire)
    return spool
