"""Dot-stuffing for whole messages, and reading the route of a redirect verdict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.actions.redirect import RedirectError, RedirectRoute, plan_redirect
from gateway.mail.spool import message_spool, stuff, unstuff
from gateway.policy.verdict import Action, Verdict
from tests.support.samples import ENVELOPE

lines = st.lists(st.text(alphabet=".ab \t", max_size=6), min_size=1, max_size=8)


@given(lines)
def test_stuffing_is_undone_by_the_receiver(parts: list[str]) -> None:
    message = "\r\n".join(parts).encode() + b"\r\n"
    wire = stuff(message)
    assert unstuff(wire) == message
    assert not any(line == b"." for line in wire.split(b"\r\n"))


def test_stuffing_examples() -> None:
    assert stuff(b".a\r\n.\r\nb") == b"..a\r\n..\r\nb\r\n"
    assert message_spool(b"x\r\n.\r\n").getvalue() == b"x\r\n..\r\n"


def redirect(*entries: str) -> Verdict:
    return Verdict(action=Action.REDIRECT, redirect_to=entries)


def test_redirect_to_addresses() -> None:
    route = plan_redirect(redirect("vanthu@hue.gov.vn", "vanthu@hue.gov.vn", "b@x.vn"), ENVELOPE)
    assert route == RedirectRoute(("vanthu@hue.gov.vn", "b@x.vn"), None)


def test_redirect_to_a_host_keeps_the_recipients() -> None:
    route = plan_redirect(redirect("smtp:10.0.0.5:2525"), ENVELOPE)
    assert route == RedirectRoute(ENVELOPE.rcpt_tos, "10.0.0.5:2525")
    local = plan_redirect(redirect("maildir:var/held", "a@b.vn"), ENVELOPE)
    assert local == RedirectRoute(("a@b.vn",), "maildir:var/held")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ((), "without a route"),
        (("not-an-address",), "bad redirect entry"),
        (("a@b.vn>\r\nRCPT TO:<x@y.vn",), "bad redirect entry"),
        (("smtp:host:99999",), "bad redirect host"),
        (("smtp:a:25", "smtp:b:25"), "at most one route"),
    ],
)
def test_bad_routes_are_refused(entries: tuple[str, ...], message: str) -> None:
    with pytest.raises(RedirectError, match=message):
        plan_redirect(redirect(*entries), ENVELOPE)
