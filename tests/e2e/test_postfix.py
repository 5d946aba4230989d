"""Real Postfix, configured with the shipped fragments of deploy/postfix/, in both placements:
Postfix smtpd with smtpd_proxy_filter → gateway → return listener → Maildir, and
gateway → the mail system's listener → Maildir. The gateway runs with the shipped
gateway.yaml of the placement.

Skipped when Postfix cannot run here, unless TTH_REQUIRE_POSTFIX=1 (CI), then it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.deciding.seam import AcceptAll
from tests.support.postfix import (
    GATEWAY_IN_FRONT,
    PROXY_FILTER,
    REQUIRE_VARIABLE,
    PostfixInstance,
    postfix_instance,
    require_postfix,
    shipped_gateway,
)
from tests.support.running import running_gateway
from tests.support.sink import free_port

ASCII_MESSAGE = (
    b"From: Nguyen Van A <a@x.test>\r\n"
    b"To: b@x.test\r\n"
    b"Subject: e2e through Postfix\r\n"
    b"Message-ID: <e2e-1@x.test>\r\n"
    b"\r\n"
    b"Kinh gui anh B,\r\n"
    b".a line that starts with a dot\r\n"
    b"\r\n"
)


@pytest.fixture(scope="module", params=[PROXY_FILTER, GATEWAY_IN_FRONT])
def postfix_and_gateway(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[PostfixInstance, Path]
]:
    require_postfix()
    placement = request.param
    tmp = tmp_path_factory.mktemp("e2e")
    gateway_port = free_port()
    with postfix_instance(gateway_port, placement) as postfix:
        settings = shipped_gateway(placement, gateway_port, postfix.back_port, tmp)
        with running_gateway(settings, AcceptAll()):
            yield postfix, tmp / "audit.jsonl"


def _audit(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_message_through_postfix_and_gateway_arrives_in_the_maildir(
    postfix_and_gateway: tuple[PostfixInstance, Path],
) -> None:
    postfix, audit = postfix_and_gateway
    with smtplib.SMTP("127.0.0.1", postfix.front_port, local_hostname="e2e-client.test") as c:
        c.sendmail("a@x.test", ["b@x.test"], ASCII_MESSAGE)
    (delivered,) = postfix.delivered()
    headers, _, body = delivered.replace(b"\n", b"\r\n").partition(b"\r\n\r\n")
    assert b"by gw.e2e.test (tth-gateway)" in headers
    assert b"Message-ID: <e2e-1@x.test>" in headers
    assert body == b"Kinh gui anh B,\r\n.a line that starts with a dot\r\n\r\n"
    record = next(r for r in _audit(audit) if r["rcpt_accepted"] == ["b@x.test"])
    assert record["outcome"] == "relayed"
    assert record["helo"] == "e2e-client.test"  # the real client, told by XFORWARD
    assert record["client_ip"] == "127.0.0.1"
    assert record["queue_id"]


def test_swaks_message_arrives(postfix_and_gateway: tuple[PostfixInstance, Path]) -> None:
    postfix, _audit_path = postfix_and_gateway
    swaks = shutil.which("swaks")
    if swaks is None:
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail("swaks is not installed")
        pytest.skip("swaks is not installed")
    before = len(postfix.delivered(count=0))
    result = subprocess.run(
        [swaks, "--server", f"127.0.0.1:{postfix.front_port}", "--from", "a@x.test",
         "--to", "swaks@x.test", "--header", "Subject: swaks e2e", "--helo", "swaks.test"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    arrived = postfix.delivered(count=before + 1)
    assert any(b"Subject: swaks e2e" in m and b"(tth-gateway)" in m for m in arrived)


def test_a_message_that_asks_for_delivery_notifications_arrives(
    postfix_and_gateway: tuple[PostfixInstance, Path],
) -> None:
    """RET, ENVID, NOTIFY and ORCPT (RFC 3461, which Postfix offers to clients and passes on
    to its proxy filter as written) reach the mail system; the gateway refused them."""
    postfix, audit = postfix_and_gateway
    with smtplib.SMTP("127.0.0.1", postfix.front_port, local_hostname="e2e-client.test") as c:
        refused = c.sendmail("a@x.test", ["dsn@x.test"], ASCII_MESSAGE, ["RET=HDRS", "ENVID=Id1"],
                             ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;dsn@x.test"])
    assert refused == {}
    assert any(r["outcome"] == "relayed" and r["rcpt_accepted"] == ["dsn@x.test"]
               for r in _audit(audit))


def test_gateway_refusal_reaches_the_client_through_postfix(
    postfix_and_gateway: tuple[PostfixInstance, Path],
) -> None:
    postfix, audit = postfix_and_gateway
    eight_bit = "Subject: Giấy mời họp\r\n\r\nNội dung\r\n".encode()
    with smtplib.SMTP("127.0.0.1", postfix.front_port) as client:
        client.ehlo("e2e-client.test")
        client.mail("a@x.test")
        assert client.rcpt("refuse-me@x.test")[0] == 250
        code, text = client.data(eight_bit)
    assert code == 554
    assert b"5.6.7" in text
    record = next(r for r in _audit(audit) if r["rcpt_accepted"] == ["refuse-me@x.test"])
    assert record["outcome"] == "rejected"


def test_relay_refusal_reaches_the_client(
    postfix_and_gateway: tuple[PostfixInstance, Path],
) -> None:
    """Relay control stays with Postfix: its public smtpd (proxy filter), or the mail
    system's listener through the gateway (gateway in front)."""
    postfix, _audit_path = postfix_and_gateway
    with smtplib.SMTP("127.0.0.1", postfix.front_port) as client:
        client.ehlo("e2e-client.test")
        client.mail("a@x.test")
        code, text = client.rcpt("someone@elsewhere.test")
    assert code == 554
    assert b"5.7.1 <someone@elsewhere.test>: Relay access denied" in text


def test_many_sessions_through_postfix_are_not_refused_per_ip(
    postfix_and_gateway: tuple[PostfixInstance, Path],
) -> None:
    """More sessions than max_connections_per_ip (50) at once: Postfix is a trusted relay,
    so none is refused (issue 12: ten of eighty were)."""
    postfix, _audit_path = postfix_and_gateway
    if postfix.placement != PROXY_FILTER:
        pytest.skip("only a relay in front carries many clients from one address")
    before = len(postfix.delivered(count=0))
    clients = []
    try:
        for number in range(60):
            client = smtplib.SMTP("127.0.0.1", postfix.front_port, timeout=60)
            clients.append(client)
            client.ehlo("e2e-client.test")
            assert client.mail("a@x.test")[0] == 250, number
            # Postfix opens its proxy connection at the first RCPT: all 60 stay open.
            assert client.rcpt(f"many{number}@x.test")[0] == 250, number
        for client in clients:
            assert client.data(ASCII_MESSAGE)[0] == 250
    finally:
        for client in clients:
            client.close()
    assert len(postfix.delivered(count=before + 60, timeout=120)) >= before + 60
