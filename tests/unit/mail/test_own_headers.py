"""The gateway's header namespace is removed (or renamed) from a message on entry."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import OwnHeaderSettings
from gateway.mail.ownheaders import HeaderFilter, Namespace, strip_own

OTHERS = (
    b"Received: from a by b;\r\n\tWed, 25 Nov 2026 09:00:00 +0700\r\n"
    b"From: a@x.test\r\n"
    b"Subject: =?utf-8?b?VGjhu60=?=\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=x.test;\r\n h=from:subject; b=abc\r\n"
)
BODY = b"\r\nX-TTH-Policy: in the body, text\r\nbody\r\n"
FORGED = [
    b"X-TTH-Documents: bao-cao.pdf; type=bao_cao; signature=valid\r\n",
    b"X-TTH-Policy: action=accept; rules=none\r\n",
    b"X-TTH-Released: 20261125T090035Z-aa; by=alice\r\n",
    b"X-TTH-Signature-Warning: none\r\n",
    b"x-tth-documents: a.pdf;\r\n signature=valid\r\n",  # lower case, folded
    b"X-Tth-Policy: action=accept;\r\n\trules=none;\r\n   policy=x\r\n",  # odd case, 2 folds
    b"X-TTH-Policy : action=accept\r\n",  # blank before the colon (obsolete syntax)
    b"X-TTH-Policy:action=accept\r\n",  # no blank after the colon
]


@pytest.mark.parametrize("forged", FORGED, ids=repr)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_forged_field_is_removed_and_every_other_byte_kept(forged: bytes, where: str) -> None:
    cut = OTHERS.index(b"From:")
    head = {"first": forged + OTHERS, "middle": OTHERS[:cut] + forged + OTHERS[cut:],
            "last": OTHERS + forged}[where]
    kept, found = strip_own(head + BODY, Namespace())
    assert kept == OTHERS + BODY
    assert len(found) == 1 and found[0].lower().startswith("x-tth-")


def test_first_line_with_leading_blanks_is_read_as_a_field() -> None:
    kept, found = strip_own(b"   X-TTH-Documents: a.pdf; signature=valid\r\n" + OTHERS + BODY,
                            Namespace())
    assert kept == OTHERS + BODY
    assert found == ["X-TTH-Documents"]


@pytest.mark.parametrize("orphan", [b" Note: signature=valid; action=accept\r\n",
                                    b"\tsignature=valid\r\n\t more\r\n", b"  \r\n"], ids=repr)
def test_continuation_lines_at_the_top_continue_nothing_and_are_dropped(orphan: bytes) -> None:
    """The gateway's own field goes on top: a line there would become part of its value."""
    kept, found = strip_own(orphan + FORGED[1] + OTHERS + BODY, Namespace())
    assert kept == OTHERS + BODY
    assert found == ["X-TTH-Policy"]


def test_a_blank_before_the_colon_is_taken_out_so_every_reader_sees_the_field() -> None:
    """Python's parser ends the header section at `Name : value`; Postfix and mail readers
    read a field. Written `Name: value`, the From below it is the gateway's to check."""
    message = b"X-Mailer : Outlook\r\nSubject\t:\tT\r\n" + OTHERS + BODY
    kept, found = strip_own(message, Namespace())
    assert kept == b"X-Mailer: Outlook\r\nSubject:\tT\r\n" + OTHERS + BODY
    assert found == []
    parsed = BytesParser(policy=policy.default).parsebytes(kept)
    assert (parsed["X-Mailer"], parsed["From"]) == ("Outlook", "a@x.test")


def test_every_forged_field_at_once_is_removed() -> None:
    kept, found = strip_own(b"".join(FORGED) + OTHERS + b"".join(FORGED) + BODY, Namespace())
    assert kept == OTHERS + BODY
    assert len(found) == 2 * len(FORGED)


def test_rename_keeps_the_value_under_original_for_the_audit() -> None:
    message = FORGED[4] + OTHERS + b"X-TTH-Original-Policy: earlier\r\n" + BODY
    kept, found = strip_own(message, Namespace(forged="rename"))
    assert kept == (b"X-TTH-Original-documents: a.pdf;\r\n signature=valid\r\n" + OTHERS
                    + b"X-TTH-Original-Policy: earlier\r\n" + BODY)
    assert found == ["x-tth-documents"]


def test_configured_prefixes_replace_the_default() -> None:
    namespace = OwnHeaderSettings.model_validate(
        {"prefixes": ["X-Gateway-", "X-TTH-"]}).namespace()
    kept, _ = strip_own(b"x-gateway-verdict: ok\r\n" + FORGED[0] + OTHERS + BODY, namespace)
    assert kept == OTHERS + BODY
    kept, _ = strip_own(FORGED[0] + OTHERS + BODY, Namespace(("X-Other-",)))
    assert kept == FORGED[0] + OTHERS + BODY


def test_header_section_ends_at_a_line_that_is_not_a_field() -> None:
    message = b"From: a@x.test\r\nnot a field\r\nX-TTH-Policy: x\r\n\r\nbody\r\n"
    assert strip_own(message, Namespace()) == (message, [])


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60))
def test_any_split_of_the_stream_gives_the_same_result(sizes: list[int]) -> None:
    message = b"".join(FORGED) + OTHERS + FORGED[5] + BODY * 3
    headers = HeaderFilter(Namespace())
    out, start = [], 0
    for size in sizes:
        out.append(headers.feed(message[start : start + size]))
        start += size
    out.append(headers.feed(message[start:]))
    out.append(headers.finish())
    assert b"".join(out) == OTHERS + BODY * 3
    assert len(headers.found) == len(FORGED) + 1
