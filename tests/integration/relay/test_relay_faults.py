"""Fault injection: messages keep coming while the upstream is killed and restarted; every
message the gateway answered 250 is in the upstream, and every other got a 4xx (retry)."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable

from gateway.service.serve import Gateway
from tests.support.sink import Sink, free_port

#: At most this many messages in all: the senders go on until the last outage is over.
MESSAGES = 4000
SENDERS = 4
OUTAGES = 4


def _message(token: str) -> bytes:
    return f"From: a@x.test\r\nSubject: {token}\r\nMessage-ID: <{token}@x.test>\r\n\r\nbody\r\n"\
        .encode()


class Upstream:
    """A sink on a fixed port that can be killed and started again; keeps what every
    incarnation received."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[bytes] = []
        self.sink: Sink | None = None
        self.start()

    def start(self) -> None:
        self.sink = Sink(port=self.port)
        self.sink.start()

    def kill(self) -> None:
        assert self.sink is not None
        self.sink.stop()
        self.received += [message.content for message in self.sink.messages]
        self.sink = None

    def close(self) -> None:
        if self.sink is not None:
            self.kill()


def test_no_message_answered_250_is_missing_upstream_when_the_upstream_dies(
    gateway_at: Callable[..., Gateway]
) -> None:
    upstream = Upstream()
    accepted: list[str] = []
    refusals: list[tuple[int, str]] = []
    sent: list[str] = []
    outages_over = threading.Event()
    lock = threading.Lock()
    try:
        address = gateway_at(f"127.0.0.1:{upstream.port}").addresses()[0]

        def send(first: int) -> None:
            for number in range(first, MESSAGES, SENDERS):
                if outages_over.is_set():
                    return
                token = f"m{number:04d}"
                with lock:
                    sent.append(token)
                try:
                    with smtplib.SMTP(*address, timeout=30) as client:
                        client.sendmail("a@x.test", ["b@x.test"], _message(token))
                    with lock:
                        accepted.append(token)
                except smtplib.SMTPResponseException as exc:
                    with lock:
                        refusals.append((exc.smtp_code, token))
                except smtplib.SMTPRecipientsRefused as exc:
                    with lock:
                        refusals.extend((code, token) for code, _ in exc.recipients.values())
                except (smtplib.SMTPException, OSError) as exc:  # a cut connection: a defect
                    with lock:
                        refusals.append((0, f"{token} {exc!r}"))

        senders = [threading.Thread(target=send, args=(first,)) for first in range(SENDERS)]
        for thread in senders:
            thread.start()
        for _ in range(OUTAGES):
            time.sleep(0.4)
            upstream.kill()
            time.sleep(0.3)
            upstream.start()
        time.sleep(0.3)
        outages_over.set()
        for thread in senders:
            thread.join(300)
        assert not any(thread.is_alive() for thread in senders)
    finally:
        upstream.close()
    arrived = b"\n".join(upstream.received)
    missing = [token for token in accepted if f"Subject: {token}\r\n".encode() not in arrived]
    assert not missing, f"answered 250 but not upstream: {missing}"
    assert all(400 <= code < 500 for code, _ in refusals), refusals
    assert len(accepted) + len(refusals) == len(sent)
    assert refusals, "no message met an outage: the test proves nothing"
    assert accepted
