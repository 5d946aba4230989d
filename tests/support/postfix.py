"""A private Postfix instance for end-to-end tests: own config, queue and Maildir in a temp dir.

One instance, two loopback smtpd listeners (the topology of Postfix's
SMTPD_PROXY_README): `front` runs `smtpd_proxy_filter` pointing at the
gateway; the gateway relays to `back`, a plain smtpd that queues the mail,
which the `virtual` agent delivers into `<root>/mail/inbox/` (a Maildir).
The system Postfix and /etc/postfix are neither used nor touched.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.sink import free_port

DOMAIN = "x.test"
POSTFIX = "postfix"
REQUIRE_VARIABLE = "TTH_REQUIRE_POSTFIX"


def missing_reason() -> str | None:
    """Why Postfix cannot run here, or None."""
    if shutil.which(POSTFIX) is None and not Path("/usr/sbin/postfix").exists():
        return "postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "starting Postfix needs root"
    return None


@dataclass(frozen=True)
class PostfixInstance:
    root: Path
    front_port: int
    back_port: int

    @property
    def config(self) -> Path:
        return self.root / "etc"

    @property
    def inbox(self) -> Path:
        return self.root / "mail" / "inbox"

    def delivered(self, timeout: float = 20.0, count: int = 1) -> list[bytes]:
        """The messages in the Maildir, waiting until `count` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            files = sorted((self.inbox / "new").glob("*")) if self.inbox.exists() else []
            if len(files) >= count:
                return [path.read_bytes() for path in files]
            time.sleep(0.1)
        raise AssertionError(f"no delivery after {timeout}s; log:\n{self.log()}")

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"


def _main_cf(root: Path, gateway_port: int) -> str:
    nobody = pwd.getpwnam("nobody")
    return f"""\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.e2e.test
mydomain = e2e.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
smtputf8_enable = yes
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
biff = no
append_dot_mydomain = no
smtpd_recipient_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_minimum_uid = 1
smtpd_proxy_timeout = 30s
gateway_port = {gateway_port}
"""


def _master_cf(front: int, back: int) -> str:
    services = [
        f"127.0.0.1:{front} inet n - n - - smtpd"
        " -o smtpd_proxy_filter=127.0.0.1:${gateway_port}",
        f"127.0.0.1:{back} inet n - n - - smtpd"
        " -o smtpd_authorized_xforward_hosts=127.0.0.0/8"
        " -o smtpd_recipient_restrictions=reject_unauth_destination",
        "cleanup unix n - n - 0 cleanup",
        "qmgr unix n - n 300 1 qmgr",
        "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",
        "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",
        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",
        "proxymap unix - - n - - proxymap",
        "smtp unix - - n - - smtp",
        "relay unix - - n - - smtp",
        "error unix - - n - - error",
        "retry unix - - n - - error",
        "discard unix - - n - - discard",
        "virtual unix - n n - - virtual",
        "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",
        "postlog unix-dgram n - n - 1 postlogd",
    ]
    return "\n".join(services) + "\n"


def _postfix(instance: PostfixInstance, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTFIX, "-c", str(instance.config), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


@contextmanager
def postfix_instance(gateway_port: int) -> Iterator[PostfixInstance]:
    """Start a private Postfix whose front smtpd proxies through `gateway_port`; stop it after."""
    root = Path(tempfile.mkdtemp(prefix="tth-postfix-"))
    root.chmod(0o755)
    instance = PostfixInstance(root, free_port(), free_port())
    instance.config.mkdir()
    (root / "mail").mkdir()
    (root / "mail").chmod(0o777)
    (root / "queue").mkdir(mode=0o755)
    (root / "data").mkdir(mode=0o700)
    os.chown(root / "data", pwd.getpwnam("postfix").pw_uid, -1)
    (instance.config / "main.cf").write_text(_main_cf(root, gateway_port))
    (instance.config / "master.cf").write_text(
        _master_cf(instance.front_port, instance.back_port)
    )
    started = _postfix(instance, "start")
    try:
        if started.returncode != 0:
            raise RuntimeError(f"postfix start failed: {started.stderr}{instance.log()}")
        _wait_listening(instance)
        yield instance
    finally:
        if _postfix(instance, "stop").returncode != 0:
            _postfix(instance, "abort")
        shutil.rmtree(root, ignore_errors=True)


def _wait_listening(instance: PostfixInstance, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    for port in (instance.front_port, instance.back_port):
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    log = instance.log()
                    raise RuntimeError(f"postfix not listening on {port}:\n{log}") from exc
                time.sleep(0.1)
