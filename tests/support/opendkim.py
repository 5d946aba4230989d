"""OpenDKIM's `opendkim-testmsg` as an independent signer and verifier.

In verify mode it looks keys up through the system resolver, which cannot be
pointed at a port: it runs in a private mount namespace where /etc/resolv.conf
names a test DNS server listening on port 53 of a loopback address of its own.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.dnsserver import DnsServer

TESTMSG = shutil.which("opendkim-testmsg") or "/usr/sbin/opendkim-testmsg"


def sign(message: bytes, domain: str, selector: str, key: Path) -> bytes:
    """`message` signed by OpenDKIM (rsa-sha256 needs a key it reads as PEM)."""
    done = subprocess.run([TESTMSG, "-C", "-d", domain, "-s", selector, "-k", str(key)],
                          input=message, capture_output=True, timeout=60, check=True)
    return done.stdout


@contextmanager
def resolving(server: DnsServer, folder: Path) -> Iterator[Path]:
    """`server` started on port 53 of a random 127.x.y.z; yields the resolv.conf naming it."""
    server.host = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
    server.port = 53
    conf = folder / "resolv.conf"
    conf.write_text(f"nameserver {server.host}\noptions timeout:2 attempts:1\n")
    with server.running():
        yield conf


def verify(message: bytes, conf: Path) -> subprocess.CompletedProcess[bytes]:
    """OpenDKIM's verdict on `message` (exit 0: every signature good), keys from `conf`."""
    script = f"mount --bind {conf} /etc/resolv.conf && exec {TESTMSG}"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], input=message,
                          capture_output=True, timeout=60)
