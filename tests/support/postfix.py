"""A private Postfix instance for end-to-end tests: own config, queue and Maildir in a temp dir.

The smtpd listeners come from the shipped fragments in deploy/postfix/ (only
ports and addresses substituted). `proxy-filter`: `front` is the public smtpd
with `smtpd_proxy_filter` pointing at the gateway, which relays to `back`, the
return listener. `gateway-in-front`: the client talks to the gateway, which
relays to `back`, the mail system's listener for the gateway. Either way the
`virtual` agent delivers into `<root>/mail/inbox/` (a Maildir). The system
Postfix and /etc/postfix are neither used nor touched.
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
from typing import Any

import pytest

from gateway.config import Settings, load_settings
from tests.support.sink import free_port

DOMAIN = "x.test"
#: The official domain is local too, as at the real site: notices to the security officer
#: arrive in the Maildir instead of being relayed.
OFFICIAL_DOMAIN = "thuathienhue.gov.vn"
POSTFIX = "postfix"
REQUIRE_VARIABLE = "TTH_REQUIRE_POSTFIX"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "postfix"
PROXY_FILTER = "proxy-filter"
GATEWAY_IN_FRONT = "gateway-in-front"
#: The addresses written in the shipped fragments, replaced by the test's own.
SHIPPED = {"gateway": "127.0.0.1:10025", "return": "127.0.0.1:10026",
           "front": "smtp      inet", "in-front listener": "10026     inet",
           "gateway address": "192.0.2.25/32", "public": "0.0.0.0:25",
           "mail system": "mail.thuathienhue.gov.vn:10026"}


def shipped(placement: str, name: str, replacements: dict[str, str]) -> str:
    """A shipped fragment with the named addresses of SHIPPED replaced."""
    text = (DEPLOY / placement / name).read_text()
    for key, value in replacements.items():
        assert SHIPPED[key] in text, f"{placement}/{name} no longer holds {SHIPPED[key]!r}"
        text = text.replace(SHIPPED[key], value)
    return text


def missing_reason() -> str | None:
    """Why Postfix cannot run here, or None."""
    if shutil.which(POSTFIX) is None and not Path("/usr/sbin/postfix").exists():
        return "postfix is not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "starting Postfix needs root"
    return None


def require_postfix() -> None:
    """Skip the test when Postfix cannot run here; fail instead under TTH_REQUIRE_POSTFIX=1."""
    reason = missing_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(f"{REQUIRE_VARIABLE}=1 but {reason}")
        pytest.skip(reason)


@dataclass(frozen=True)
class PostfixInstance:
    root: Path
    front_port: int
    back_port: int
    placement: str = PROXY_FILTER

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


def _main_cf(root: Path, placement: str, gateway_port: int) -> str:
    """The site's main.cf (this instance's folders; the client on loopback counts as the
    Internet: mynetworks holds nobody), then the placement's shipped main.cf."""
    nobody = pwd.getpwnam("nobody")
    site = f"""\
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
mynetworks = 127.0.0.254/32
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost =
smtputf8_enable = yes
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
biff = no
append_dot_mydomain = no
virtual_mailbox_domains = {DOMAIN} {OFFICIAL_DOMAIN}
# Nothing leaves this instance: mail for any other domain bounces here.
default_transport = error:no mail leaves the test instance
relay_transport = error:no mail leaves the test instance
# The test client may say where it connects from (XCLIENT ADDR=10.1.2.3): an agency PC.
smtpd_authorized_xclient_hosts = 127.0.0.1
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_minimum_uid = 1
virtual_mailbox_limit = 0
# Every test client comes from 127.0.0.1 (a real site keeps Postfix's per-client limit).
smtpd_client_connection_count_limit = 100
alias_maps =
alias_database =
"""
    fragment = shipped(placement, "main.cf",
                       {"gateway": f"127.0.0.1:{gateway_port}"} if placement == PROXY_FILTER
                       else {})
    return site + fragment


def _master_cf(placement: str, front: int, back: int) -> str:
    services = [
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
    if placement == PROXY_FILTER:
        listeners = shipped(placement, "master.cf", {
            "front": f"127.0.0.1:{front} inet", "return": f"127.0.0.1:{back}"})
    else:
        listeners = shipped(placement, "master.cf", {
            "in-front listener": f"127.0.0.1:{back} inet",
            "gateway address": "127.0.0.0/8"})
    return listeners + "\n".join(services) + "\n"


def gateway_settings(placement: str, gateway_port: int, back_port: int) -> Path:
    """The placement's shipped gateway.yaml with the test's ports, in a temporary file."""
    if placement == PROXY_FILTER:
        replacements = {"gateway": f"127.0.0.1:{gateway_port}",
                        "return": f"127.0.0.1:{back_port}"}
    else:
        replacements = {"public": f"127.0.0.1:{gateway_port}",
                        "mail system": f"127.0.0.1:{back_port}"}
    handle, name = tempfile.mkstemp(prefix="tth-gateway-", suffix=".yaml")
    os.close(handle)
    path = Path(name)
    path.write_text(shipped(placement, "gateway.yaml", replacements))
    return path


def shipped_gateway(placement: str, gateway_port: int, back_port: int, tmp: Path,
                    **overrides: Any) -> Settings:
    """The placement's shipped gateway.yaml with the test's ports, hostname, audit file and
    no TLS to the test's Postfix; `overrides` replace whole top-level sections."""
    shipped_yaml = gateway_settings(placement, gateway_port, back_port)
    try:
        settings = load_settings(shipped_yaml)
    finally:
        shipped_yaml.unlink()
    return Settings.model_validate({
        **settings.model_dump(),
        "server": {**settings.server.model_dump(), "hostname": "gw.e2e.test",
                   "shutdown_grace": 2.0, "eight_bit_headers": "reject"},
        # The test's Postfix has no TLS; the shipped in-front settings require it.
        "upstream": {**settings.upstream.model_dump(), "starttls": "off"},
        "metrics": {"listen": None},
        "audit": {"path": str(tmp / "audit.jsonl")},
        **overrides,
    }, strict=False)


def _postfix(instance: PostfixInstance, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTFIX, "-c", str(instance.config), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )


@contextmanager
def postfix_instance(gateway_port: int,
                     placement: str = PROXY_FILTER) -> Iterator[PostfixInstance]:
    """Start a private Postfix in `placement` around the gateway at `gateway_port`; stop it
    after. With the gateway in front, `front_port` is the gateway's."""
    root = Path(tempfile.mkdtemp(prefix="tth-postfix-"))
    root.chmod(0o755)
    front = free_port() if placement == PROXY_FILTER else gateway_port
    instance = PostfixInstance(root, front, free_port(), placement)
    instance.config.mkdir()
    (root / "mail").mkdir()
    (root / "mail").chmod(0o777)
    (root / "queue").mkdir(mode=0o755)
    (root / "data").mkdir(mode=0o700)
    os.chown(root / "data", pwd.getpwnam("postfix").pw_uid, -1)
    (instance.config / "main.cf").write_text(_main_cf(root, placement, gateway_port))
    (instance.config / "master.cf").write_text(
        _master_cf(placement, instance.front_port, instance.back_port)
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
    ports = [instance.back_port]
    if instance.placement == PROXY_FILTER:
        ports.append(instance.front_port)  # with the gateway in front, the test starts it
    for port in ports:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    log = instance.log()
                    raise RuntimeError(f"postfix not listening on {port}:\n{log}") from exc
                time.sleep(0.1)
