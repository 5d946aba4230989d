"""Header conditions: From, Reply-To, alignment, display names, forwarding, fields, problems."""

from __future__ import annotations

import dataclasses

from gateway.analysis.model import Headers
from tests.support.builders import address, analysis, envelope, one_rule, reason


def test_from_in_and_not_in() -> None:
    policy = one_rule("{from: {not_in: official_domains}}")
    assert reason(policy, analysis(from_=(address("x@gmail.com"),))) == (
        "from: gmail.com not in official_domains"
    )
    assert reason(policy, analysis(from_=(address("a@hue.gov.vn"),))) is None


def test_missing_from_counts_as_unparsable_and_fails_closed() -> None:
    policy = one_rule("{from: {not_in: official_domains}}")
    assert reason(policy, analysis(from_=())) == "from: unparsable address"
    assert reason(one_rule("{from: {in: official_domains}}"), analysis(from_=())) is None


def test_several_from_any_one_holds() -> None:
    policy = one_rule("{from: {in: freemail_domains}}")
    both = (address("a@thuathienhue.gov.vn"), address("b@gmail.com"))
    assert reason(policy, analysis(from_=both)) == "from: gmail.com in freemail_domains"


def test_reply_to_absent_holds_for_nothing() -> None:
    policy = one_rule("{reply_to: {not_in: official_domains}}")
    assert reason(policy, analysis()) is None
    assert reason(policy, analysis(reply_to=(address("x@yahoo.com"),))) is not None


def test_from_lookalike_homograph() -> None:
    policy = one_rule("{from: {lookalike_of: official_domains}}")
    cyrillic = address("vanthu@thuаthienhue.gov.vn")  # Cyrillic а
    found = reason(policy, analysis(from_=(cyrillic,)))
    assert found == (
        "from: thuаthienhue.gov.vn imitates thuathienhue.gov.vn (homograph of the official domain)"
    )


def test_alignment_organizational_and_exact() -> None:
    misaligned = one_rule("{alignment: {aligned: false}}")
    env = envelope("a@sotttt.thuathienhue.gov.vn")
    same_org = analysis(env, from_=(address("b@thuathienhue.gov.vn"),))
    assert reason(misaligned, same_org) is None
    exact = one_rule("{alignment: {aligned: false, level: exact}}")
    assert reason(exact, same_org) == (
        "From thuathienhue.gov.vn not aligned with envelope sender sotttt.thuathienhue.gov.vn"
    )
    other = analysis(env, from_=(address("b@gmail.com"),))
    assert reason(misaligned, other) is not None
    assert reason(misaligned, analysis(envelope("<>"), from_=(address("b@gmail.com"),))) is None


def test_display_name_names_an_official_address_over_freemail() -> None:
    policy = one_rule("{display_name: {names_official: true}}")
    spoof = address("tth.office@gmail.com", "vanthu@thuathienhue.gov.vn")
    found = reason(policy, analysis(from_=(spoof,)))
    assert found == (
        "display name 'vanthu@thuathienhue.gov.vn' names vanthu@thuathienhue.gov.vn "
        "over tth.office@gmail.com"
    )


def test_display_name_names_an_agency_with_or_without_diacritics() -> None:
    policy = one_rule("{display_name: {names_official: true}}")
    for name in ("UBND tỉnh Thừa Thiên Huế", "UBND tinh Thua Thien Hue", "ubnd THỪA THIÊN HUẾ"):
        spoof = address("ubnd.tth@gmail.com", name)
        assert reason(policy, analysis(from_=(spoof,))) is not None, name
    citizen = address("nguyen.thi.hue@gmail.com", "Nguyễn Thị Huệ")
    assert reason(policy, analysis(from_=(citizen,))) is None
    official = address("vanthu@thuathienhue.gov.vn", "UBND tỉnh Thừa Thiên Huế")
    assert reason(policy, analysis(from_=(official,))) is None


def test_display_name_regex() -> None:
    policy = one_rule("{display_name: {matches: 'chu tich'}}")
    assert reason(policy, analysis(from_=(address("x@gmail.com", "Chủ tịch UBND"),))) is not None
    assert reason(policy, analysis(from_=(address("x@gmail.com", "Thư ký"),))) is None


def test_auto_forwarded() -> None:
    policy = one_rule("{auto_forwarded: true}")
    assert reason(policy, analysis(forwarding=("auto-submitted: auto-forwarded",))) == (
        "forwarding markers: auto-submitted: auto-forwarded"
    )
    assert reason(policy, analysis()) is None
    assert reason(one_rule("{auto_forwarded: false}"), analysis()) == "not forwarded"


def test_header_field_and_problems() -> None:
    value = analysis()
    fields = dataclasses.replace(
        value.analysis.headers, fields=(("x-mailer", "BulkSender 2.0"),),
        problems=("from: several",),
    )
    value = value.with_headers(fields)
    assert reason(one_rule("{header: {name: X-Mailer, matches: bulk}}"), value) == (
        "x-mailer: BulkSender 2.0"
    )
    assert reason(one_rule("{header: {name: X-Other}}"), value) is None
    assert reason(one_rule("{header_problems: {matches: several}}"), value) == "from: several"
    assert reason(one_rule("{header_problems: {}}"), analysis()) is None
    assert isinstance(value.analysis.headers, Headers)


def test_alignment_with_several_from_mailboxes_needs_every_one_aligned() -> None:
    env = envelope("a@thuathienhue.gov.vn")
    both = analysis(env, from_=(address("b@thuathienhue.gov.vn"), address("c@gmail.com")))
    assert reason(one_rule("{alignment: {aligned: false}}"), both) == (
        "From gmail.com not aligned with envelope sender thuathienhue.gov.vn"
    )
    assert reason(one_rule("{alignment: {aligned: true}}"), both) is None
