"""A small authoritative DNS server for tests, on dnspython, over UDP and TCP on loopback.

It answers from a table of records and can be told, per name, to stay silent
(timeout), to answer SERVFAIL, or to set the TC bit over UDP (the full answer
then comes over TCP only). Unknown names are NXDOMAIN (with an SOA, so the
negative answer has a TTL). Every question is recorded with its transport.
"""

from __future__ import annotations

import atexit
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

SOA = "ns.test. hostmaster.test. 1 3600 600 86400 30"


@dataclass
class DnsServer:
    """Records as {name: [(type, text), ...]}; `behaviour` as {name: timeout|servfail|truncate}."""

    records: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    behaviour: dict[str, str] = field(default_factory=dict)
    ttl: int = 300
    host: str = "127.0.0.1"
    port: int = 0
    queries: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, name: str, rdtype: str, text: str) -> None:
        self.records.setdefault(name.lower().rstrip("."), []).append((rdtype, text))

    def txt(self, name: str, value: str) -> None:
        """A TXT record, split into strings of at most 255 bytes."""
        chunks = [value[i : i + 255] for i in range(0, len(value), 255)] or [""]
        self.add(name, "TXT", " ".join(f'"{chunk}"' for chunk in chunks))

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype, transport))
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        what = self.behaviour.get(name)
        if what == "timeout":
            return None
        if what == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        if what == "truncate" and transport == "udp":
            response.flags |= dns.flags.TC
            return response.to_wire()
        found = self.records.get(name)
        if found is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        texts = [text for kind, text in found or [] if kind == rdtype]
        if texts:
            response.answer.append(dns.rrset.from_text(question.name, self.ttl, "IN", rdtype,
                                                       *texts))
        else:
            response.authority.append(dns.rrset.from_text("test.", self.ttl, "IN", "SOA", SOA))
        return response.to_wire()

    @contextlib.contextmanager
    def running(self) -> Iterator[DnsServer]:
        """Serve on UDP and TCP at the same loopback port until the block ends."""
        udp, tcp = self._bind_pair()
        stop = threading.Event()
        threads: list[threading.Thread] = []
        try:
            tcp.listen(16)
            udp.settimeout(0.2)
            tcp.settimeout(0.2)
            threads = [threading.Thread(target=self._serve_udp, args=(udp, stop), daemon=True),
                       threading.Thread(target=self._serve_tcp, args=(tcp, stop), daemon=True)]
            for thread in threads:
                thread.start()
            yield self
        finally:
            stop.set()
            for thread in threads:
                thread.join(5)
            udp.close()
            tcp.close()

    def _bind_pair(self) -> tuple[socket.socket, socket.socket]:
        """A UDP and a TCP socket bound to one loopback port: the given one, or else a free
        ephemeral port for both (another process may hold the TCP side of the first UDP
        port the kernel offers, so a few are tried)."""
        attempts = 1 if self.port else 50
        for attempt in range(attempts):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                udp.bind((self.host, self.port))
                tcp.bind((self.host, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                if attempt == attempts - 1:
                    raise
                continue
            self.port = udp.getsockname()[1]
            return udp, tcp
        raise AssertionError("unreachable")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _serve_udp(self, sock: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._safe_answer(wire, "udp")
            if reply is not None:
                sock.sendto(reply, peer)

    def _serve_tcp(self, sock: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                connection, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                with contextlib.suppress(OSError, struct.error):
                    while True:
                        size = struct.unpack("!H", _read(connection, 2))[0]
                        reply = self._safe_answer(_read(connection, size), "tcp")
                        if reply is None:
                            break
                        connection.sendall(struct.pack("!H", len(reply)) + reply)

    def _safe_answer(self, wire: bytes, transport: str) -> bytes | None:
        try:
            return self.answer(wire, transport)
        except Exception:  # a malformed question is dropped, as a real server would
            return None


def _read(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


_SHARED: list[DnsServer] = []
_SHARED_LOCK = threading.Lock()


def shared_dns() -> str:
    """HOST:PORT of a DNS server with no records (every name NXDOMAIN), one per test process,
    so that gateways under test never ask a resolver outside this machine. Stopped at exit."""
    with _SHARED_LOCK:
        if not _SHARED:
            server = DnsServer()
            context = server.running()
            context.__enter__()
            atexit.register(context.__exit__, None, None, None)
            _SHARED.append(server)
        return _SHARED[0].address
