"""Look-alike official domains: examples of each trick, and properties (hypothesis)."""

from __future__ import annotations

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.lookalike import LookalikeDetector, edit_distance, skeleton

OFFICIAL = ("thuathienhue.gov.vn", "hue.gov.vn")
DETECTOR = LookalikeDetector(OFFICIAL)


@pytest.mark.parametrize(
    ("domain", "imitated", "why"),
    [
        ("thuathlenhue.gov.vn", "thuathienhue.gov.vn", "homograph"),
        ("thuаthienhue.gov.vn", "thuathienhue.gov.vn", "homograph"),  # Cyrillic а
        ("xn--thuthienhue-0ij.gov.vn", "thuathienhue.gov.vn", "homograph"),  # punycode of above
        ("thuathienhuе.gov.vn", "thuathienhue.gov.vn", "homograph"),  # Cyrillic е
        ("thuathienhue.gov.vn.example.com", "thuathienhue.gov.vn", "contains"),
        ("thuathienhue-gov.vn", "thuathienhue.gov.vn", "contains"),
        ("thuathienhue.gov-vn.com", "thuathienhue.gov.vn", "contains"),
        ("thuathienhue.govv.vn", "thuathienhue.gov.vn", "characters away"),
        ("thuathienhua.gov.vn", "thuathienhue.gov.vn", "characters away"),
        ("thuathinehue.gov.vn", "thuathienhue.gov.vn", "characters away"),
        ("thuathienhue.com", "thuathienhue.gov.vn", "another suffix"),
        ("thuathienhue.vn", "thuathienhue.gov.vn", "official name"),
        ("thuathienhue.net", "thuathienhue.gov.vn", "another suffix"),
        ("mail-thuathienhue.vn", "thuathienhue.gov.vn", "official name"),
        ("hue.gov.vm", "hue.gov.vn", "characters away"),
        ("hue-gov.vn", "hue.gov.vn", "contains"),
    ],
)
def test_lookalikes_are_caught(domain: str, imitated: str, why: str) -> None:
    found = DETECTOR.check(domain)
    assert found is not None, domain
    assert found.imitates == imitated
    assert why in found.reason


@pytest.mark.parametrize(
    "domain",
    [
        "thuathienhue.gov.vn",
        "sotttt.thuathienhue.gov.vn",
        "THUATHIENHUE.GOV.VN",
        "hue.gov.vn",
        "ubnd.hue.gov.vn",
        "gmail.com",
        "hanoi.gov.vn",
        "hcm.gov.vn",
        "danang.gov.vn",
        "hue.edu.vn",
        "hueuni.edu.vn",
        "quangtri.gov.vn",
        "example.com",
        "[192.0.2.1]",
    ],
)
def test_official_and_unrelated_domains_are_not(domain: str) -> None:
    assert DETECTOR.check(domain) is None


def test_exempt_domains_are_not_lookalikes() -> None:
    detector = LookalikeDetector(OFFICIAL, exempt=("thuathienhue.vn",))
    assert detector.check("thuathienhue.vn") is None
    assert detector.check("thuathienhue.com") is not None


LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(LABEL, min_size=1, max_size=3), st.sampled_from(OFFICIAL))
def test_every_subdomain_of_an_official_domain_is_legitimate(
    labels: list[str], parent: str
) -> None:
    assert DETECTOR.check(".".join([*labels, parent])) is None


@settings(max_examples=200, deadline=None)
@given(LABEL, st.sampled_from(("example.com", "evil.vn", "mail.ru")))
def test_official_domain_as_prefix_is_always_caught(label: str, tail: str) -> None:
    found = DETECTOR.check(f"thuathienhue.gov.vn.{label}.{tail}")
    assert found is not None and found.imitates == "thuathienhue.gov.vn"


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=11), st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
def test_one_substitution_in_the_long_official_name_is_caught(index: int, letter: str) -> None:
    label = "thuathienhue"
    changed = label[:index] + letter + label[index + 1 :]
    domain = f"{changed}.gov.vn"
    if changed != label:
        assert DETECTOR.check(domain) is not None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="aeiouthn-", min_size=1, max_size=20))
def test_punycode_and_unicode_forms_get_the_same_answer(label: str) -> None:
    domain = f"{label.strip('-') or 'x'}.gov.vn"
    try:
        ascii_form = idna.encode(domain, uts46=True).decode()
    except idna.IDNAError:
        return
    assert (DETECTOR.check(domain) is None) == (DETECTOR.check(ascii_form) is None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12), st.text(max_size=12))
def test_edit_distance_is_symmetric_and_capped(a: str, b: str) -> None:
    assert edit_distance(a, b, 2) == edit_distance(b, a, 2)
    assert edit_distance(a, b, 2) <= 3
    assert (edit_distance(a, b, 2) == 0) == (a == b)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_skeleton_never_raises_and_is_idempotent_on_ascii_letters(text: str) -> None:
    shape = skeleton(text)
    assert isinstance(shape, str)
    plain = "".join(ch for ch in text.lower() if ch in "abdefghjkpqtuxyz")
    assert skeleton(plain) == plain
