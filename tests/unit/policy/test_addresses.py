"""Addresses as the policy sees them: case, IDNA, +tags, quoting, `<>` (hypothesis + examples)."""

from __future__ import annotations

import idna
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gateway.mail.addresses import parse_envelope_address
from gateway.policy.lists import AddressList, parse_ip

OFFICIAL = AddressList("official", frozenset({"thuathienhue.gov.vn", "bücher.de"}))
PARTNERS = AddressList("partners", addresses=frozenset({"partner@gmail.com"}))
LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._", min_size=1, max_size=16)
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)


def flip_case(text: str, mask: list[bool]) -> str:
    return "".join(c.upper() if m else c for c, m in zip(text, mask * len(text), strict=False))


@settings(max_examples=200, deadline=None)
@given(LOCAL, st.lists(LABEL, max_size=2), st.lists(st.booleans(), min_size=1, max_size=8))
def test_official_membership_ignores_case_and_takes_subdomains(
    local: str, labels: list[str], mask: list[bool]
) -> None:
    assume(not local.startswith(".") and not local.endswith(".") and ".." not in local)
    domain = ".".join([*labels, "thuathienhue.gov.vn"])
    parsed = parse_envelope_address(f"<{local}@{flip_case(domain, mask)}>")
    assert parsed is not None
    assert parsed.domain == domain
    assert OFFICIAL.has(parsed)


@settings(max_examples=100, deadline=None)
@given(LOCAL)
def test_unicode_and_punycode_domains_are_the_same(local: str) -> None:
    assume(not local.startswith(".") and not local.endswith(".") and ".." not in local)
    for domain in ("bücher.de", idna.encode("bücher.de").decode(), "BÜCHER.DE"):
        parsed = parse_envelope_address(f"{local}@{domain}")
        assert parsed is not None and OFFICIAL.has(parsed), domain


@settings(max_examples=100, deadline=None)
@given(LABEL)
def test_subaddress_tag_and_case_do_not_hide_a_listed_address(tag: str) -> None:
    parsed = parse_envelope_address(f"Partner+{tag}@GMAIL.com")
    assert parsed is not None and PARTNERS.has(parsed)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parsing_never_raises_and_domains_are_canonical(text: str) -> None:
    parsed = parse_envelope_address(text)
    if parsed is not None and not parsed.is_null:
        assert parsed.domain == parsed.domain.strip().lower() or not parsed.valid_domain


def test_quoted_and_utf8_local_parts_and_null_sender() -> None:
    quoted = parse_envelope_address('<"van thu"@thuathienhue.gov.vn>')
    assert quoted is not None and OFFICIAL.has(quoted)
    utf8 = parse_envelope_address("<văn.thư@thuathienhue.gov.vn>")
    assert utf8 is not None and OFFICIAL.has(utf8)
    null = parse_envelope_address("<>")
    assert null is not None and null.is_null and not OFFICIAL.has(null)


def test_subdomain_flag_off() -> None:
    exact = AddressList("exact", frozenset({"hue.gov.vn"}), subdomains=False)
    assert exact.has_domain("hue.gov.vn") and not exact.has_domain("a.hue.gov.vn")


def test_client_addresses() -> None:
    assert str(parse_ip("[10.0.0.1]")) == "10.0.0.1"
    assert str(parse_ip("IPv6:2001:db8::1")) == "2001:db8::1"
    assert str(parse_ip("fe80::1%eth0")) == "fe80::1"
    assert parse_ip("unknown") is None and parse_ip(None) is None


def test_a_domain_with_stray_dots_is_read_without_them() -> None:
    """The email package refuses `a@hue.gov.vn.` and `a@hue..gov.vn`: unread, the envelope
    sender escaped the official-domain rules (a forgery from outside was accepted)."""
    for text in ("<vanthu@thuathienhue.gov.vn.>", "vanthu@thuathienhue..gov.vn",
                 "<vanthu@.thuathienhue.gov.vn>"):
        parsed = parse_envelope_address(text)
        assert parsed is not None and parsed.domain == "thuathienhue.gov.vn", text
    assert parse_envelope_address("<a@..>") is None
