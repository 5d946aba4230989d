"""The DEFAULT policy (policies/) through real Postfix in the proxy-filter placement: a
classified message (MẬT) is held, not delivered, and its notices arrive; a public-mailbox
sender from an agency network is refused and the client sees the directive's words.

Skipped when Postfix cannot run here, unless TTH_REQUIRE_POSTFIX=1 (CI), then it fails.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import Header
from pathlib import Path
from typing import Any

import pytest

from tests.support.builders import INSIDE_IP, POLICIES
from tests.support.dnsserver import shared_dns
from tests.support.live import OFFICER
from tests.support.postfix import (
    PROXY_FILTER,
    PostfixInstance,
    postfix_instance,
    require_postfix,
    shipped_gateway,
)
from tests.support.running import running_gateway
from tests.support.sink import free_port

CLASSIFIED = (
    "From: Tran Van B <b@x.test>\r\n"
    "To: c@x.test\r\n"
    f"Subject: {Header('[MẬT] Kế hoạch bảo vệ', 'utf-8').encode()}\r\n"
    "Message-ID: <e2e-classified@x.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Nội dung mật.\r\n"
).encode()


@dataclass(frozen=True)
class Site:
    postfix: PostfixInstance
    tmp: Path

    def record(self, mail_from: str, seconds: float = 30.0) -> dict[str, Any]:
        """The gateway's audit record of the transaction from `mail_from`."""
        path = self.tmp / "audit.jsonl"
        deadline = time.monotonic() + seconds
        while True:
            lines = path.read_text().splitlines() if path.exists() else []
            found = [r for r in map(json.loads, lines) if r["mail_from"] == mail_from]
            if found or time.monotonic() > deadline:
                assert found, f"no audit record from {mail_from}: {lines}"
                return dict(found[-1])
            time.sleep(0.1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Postfix → the gateway on the shipped policy folder (its quarantine in tmp) → Postfix."""
    require_postfix()
    tmp = tmp_path_factory.mktemp("e2e-policy")
    gateway_port = free_port()
    with postfix_instance(gateway_port, PROXY_FILTER) as postfix:
        settings = shipped_gateway(
            PROXY_FILTER, gateway_port, postfix.back_port, tmp,
            policies=str(POLICIES),
            quarantine={"path": str(tmp / "quarantine")},
            analysis={"workers": 1, "time_limit": 60},
            dns={"resolvers": [shared_dns()]},
        )
        with running_gateway(settings):
            yield Site(postfix, tmp)


def test_a_classified_message_is_held_and_only_its_notices_arrive(site: Site) -> None:
    with smtplib.SMTP("127.0.0.1", site.postfix.front_port, timeout=120) as client:
        client.ehlo("e2e-client.test")
        assert client.sendmail("b@x.test", ["c@x.test"], CLASSIFIED) == {}  # held: 250
    record = site.record("b@x.test")
    assert record["outcome"] == "quarantined"
    assert record["classification"] == "mat"
    assert list((site.tmp / "quarantine").glob("*.eml"))
    notices = site.postfix.delivered(count=2, timeout=60)
    assert all(b"X-TTH-Notice:" in notice for notice in notices)
    assert any(f"To: {OFFICER}".encode() in notice for notice in notices)
    assert not any(b"e2e-classified@x.test" in notice and b"X-TTH-Notice:" not in notice
                   for notice in notices)
    assert not any("Nội dung mật".encode() in notice for notice in notices)


def test_a_public_mailbox_sender_from_an_agency_network_is_refused(site: Site) -> None:
    with smtplib.SMTP("127.0.0.1", site.postfix.front_port, timeout=120) as client:
        code, _ = client.docmd("XCLIENT", f"ADDR={INSIDE_IP} NAME=pc.agency.test")
        assert code == 220  # Postfix now takes the client for an agency PC
        client.ehlo("pc.agency.test")
        mail = client.mail("canbo.tth@gmail.com")
        rcpt = client.rcpt("c@x.test") if mail[0] == 250 else mail
    code, text = rcpt
    assert 500 <= code < 600
    assert b"77/2014" in text
    record = site.record("canbo.tth@gmail.com")
    assert record["outcome"] == "rejected"
    assert record["client_ip"] == INSIDE_IP
    assert "inside-sender-not-official" in json.dumps(record)
