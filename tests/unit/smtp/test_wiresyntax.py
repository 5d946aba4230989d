"""The wire syntax the SMTP listener reads: plain addresses, malformed forms, networks, xtext."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.smtp.wiresyntax import (
    in_networks,
    plain_address,
    valid_domain_literal,
    well_formed,
    xtext_decode,
)

NETWORKS = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("<a.b@example.vn>", ("a.b@example.vn", "")),
        ("<a@example.vn> SIZE=100", ("a@example.vn", "SIZE=100")),
        ("<x+tag@mail.thuathienhue.gov.vn>  BODY=8BITMIME", ("x+tag@mail.thuathienhue.gov.vn",
                                                             "BODY=8BITMIME")),
        ("<" + "l" * 65 + "@example.vn>", (None, None)),
    ],
)
def test_plain_addresses_are_read_without_the_header_parser(
    arg: str, expected: tuple[str | None, str | None]
) -> None:
    assert plain_address(arg, 64) == expected


@pytest.mark.parametrize(
    "arg", ['<"a b"@example.vn>', "<a@[127.0.0.1]>", "<>", "a@example.vn", "<a..b@example.vn>",
            "<a@example.vn>x"],
)
def test_other_forms_are_left_to_the_full_parser(arg: str) -> None:
    assert plain_address(arg, 64) is None


def test_no_local_part_limit_when_zero() -> None:
    assert plain_address("<" + "l" * 300 + "@example.vn>", 0) == ("l" * 300 + "@example.vn", "")


@pytest.mark.parametrize(
    ("domain", "valid"),
    [
        ("example.vn", True),
        ("[127.0.0.1]", True),
        ("[IPv6:2001:db8::1]", True),
        ("[ipv6:::1]", True),
        ("[127.0.0.256]", False),
        ("[2001:db8::1]", False),
        ("[127.0.0.1", False),
    ],
)
def test_domain_literals(domain: str, valid: bool) -> None:
    assert valid_domain_literal(domain) is valid


@pytest.mark.parametrize(
    ("address", "arg", "rest", "expected"),
    [
        ("a@example.vn", "<a@example.vn> SIZE=1", "SIZE=1", True),
        ('"a b"@example.vn', '<"a b"@example.vn>', "", True),
        ("a b@example.vn", "<a b@example.vn>", "", False),
        ("a\x01@example.vn", "<a\x01@example.vn>", "", False),
        ("a@example.vn", "<a@example.vn", "", False),
        ("a@[300.1.1.1]", "<a@[300.1.1.1]>", "", False),
    ],
)
def test_well_formed(address: str, arg: str, rest: str, expected: bool) -> None:
    assert well_formed(address, arg, rest) is expected


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("10.1.2.3", True),
        ("::ffff:10.1.2.3", True),
        ("2001:db8::5", True),
        ("fe80::1%eth0", False),
        ("192.0.2.1", False),
        ("not-an-ip", False),
        (None, False),
        ("", False),
    ],
)
def test_in_networks(address: str | None, inside: bool) -> None:
    assert in_networks(address, NETWORKS) is inside


@pytest.mark.parametrize(
    ("value", "decoded"),
    [("a+2Bb", "a+b"), ("[10.0.0.1]", "[10.0.0.1]"), ("x+3D+20y", "x= y"), ("+C3+A1", "á")],
)
def test_xtext_decode(value: str, decoded: str) -> None:
    assert xtext_decode(value) == decoded
