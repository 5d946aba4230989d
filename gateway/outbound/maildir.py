"""Local delivery into a Maildir folder: the embedded default "upstream" for a first try."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from itertools import count
from pathlib import Path

from gateway.mail.durable import write_durably
from gateway.mail.replies import Reply, reply
from gateway.mail.spool import Spool, unstuff

_sequence = count()


def _unique_name() -> str:
    now = time.time()
    unique = f"M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_sequence)}"
    return f"{int(now)}.{unique}.{socket.gethostname()}"


class MaildirConnection:
    """Accepts every envelope and stores each message in `folder/new` (durably)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sender = ""

    def supports(self, extension: str) -> bool:
        return extension.lower() in {"8bitmime", "smtputf8", "size", "pipelining"}

    async def xforward(self, attributes: dict[str, str]) -> None:
        return None

    async def mail(self, sender: str, options: Iterable[str], utf8: bool) -> Reply:
        self._sender = sender
        return reply(250, "2.1.0", "Ok")

    async def rcpt(self, recipient: str, options: Iterable[str], utf8: bool) -> Reply:
        return reply(250, "2.1.5", "Ok")

    async def data(self, header: bytes, spool: Spool, utf8: bool) -> Reply:
        for sub in ("tmp", "new", "cur"):
            (self._folder / sub).mkdir(parents=True, exist_ok=True)
        name = _unique_name()
        return_path = f"Return-Path: <{self._sender}>\r\n".encode()
        message = unstuff(return_path + header + spool.getvalue()).replace(b"\r\n", b"\n")
        write_durably(self._folder / "new" / name, [message], staging=self._folder / "tmp")
        return reply(250, "2.0.0", f"Ok: delivered as {name}")

    async def rset(self) -> None:
        self._sender = ""


class MaildirUpstream:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def acquire(self) -> MaildirConnection:
        return MaildirConnection(self._folder)

    async def release(self, connection: object, *, reusable: bool) -> None:
        return None

    async def close(self) -> None:
        return None
