"""A raw SMTP client for tests: exact bytes on the wire, replies read one at a time."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class WireReply:
    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Wire:
    """One TCP connection to an SMTP server; `send` writes bytes as given, unchanged."""

    def __init__(self, address: tuple[str, int], timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_slowly(self, data: bytes, pieces: list[int], pause: float = 0.02) -> None:
        """Send `data` cut at the offsets in `pieces`, pausing so each piece is its own read."""
        start = 0
        for cut in [*pieces, len(data)]:
            self.sock.sendall(data[start:cut])
            start = cut
            time.sleep(pause)

    def _line(self) -> bytes | None:
        while b"\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        return line

    def reply(self) -> WireReply:
        """The next reply; raises EOFError when the server closed instead."""
        lines = []
        while True:
            line = self._line()
            if line is None:
                raise EOFError("connection closed by the server")
            lines.append(line[4:].decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return WireReply(int(line[:3]), tuple(lines))

    def command(self, line: bytes | str) -> WireReply:
        data = line.encode() if isinstance(line, str) else line
        self.send(data + b"\r\n")
        return self.reply()

    def closed(self, wait: float = 5.0) -> bool:
        """True when the server closes the connection (after any pending replies) in time."""
        self.sock.settimeout(wait)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except ConnectionError:
            return True
        return True

    def start(self, helo: str = "client.test") -> WireReply:
        """Read the greeting and say EHLO; returns the EHLO reply."""
        greeting = self.reply()
        assert greeting.code == 220, greeting
        return self.command(f"EHLO {helo}")


#: Envelope addresses a parser must refuse with a 5xx.
MALFORMED = [
    b"u@", b"<u@", b'"a"@', b"<a@[>", b"a@[", b"<a@[IPv6:::1>", b"<a@[1.2.3]>",
    b"<a@[IPv6:zz::1]>", b"<a@[300.1.1.1]>", b"<@>", b"<a@b@c>", b"<a@b", b"<a@(b>",
]


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP reset, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
