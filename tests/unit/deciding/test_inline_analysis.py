"""Which messages the gateway analyses in its own process instead of a worker.

Small messages of text are analysed in-process whatever their transfer encoding; the
raw check (`may_analyse_inline`) bounds their size and number of parts, and the walk's
`plain_only` mode hands anything the encodings hid (a PDF, an archive, a message) to a
worker. An in-process analysis is the analysis a worker makes.
"""

from __future__ import annotations

import asyncio
import base64
import quopri
from pathlib import Path

import pytest

from bench.realistic_messages import letter
from gateway.analysis.analyse import analyse
from gateway.analysis.model import Analysis
from gateway.analysis.pool import AnalysisJob, analyse_job
from gateway.analysis.walk import NotPlainText
from gateway.deciding.decider import (
    INLINE_DELIMITERS,
    INLINE_ENTITIES,
    INLINE_LIMIT,
    PolicyDecider,
    PolicyTransaction,
    may_analyse_inline,
)
from gateway.mail.envelope import Envelope
from gateway.mail.spool import Spool
from gateway.policy.loader import Policy, load_policy
from gateway.reload import Reloadable
from gateway.signatures.setup import CheckerCache
from tests.fixtures.documents import zip_of

ROOT = Path(__file__).resolve().parents[3]
HEAD = b"From: a@gmail.com\r\nTo: b@hue.gov.vn\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
CHECKERS = CheckerCache()
ENVELOPE = Envelope("a@gmail.com", ("vanthu@thuathienhue.gov.vn",), client_ip="192.0.2.7")
B64 = "Content-Transfer-Encoding: base64\r\n"
QP = "Content-Transfer-Encoding: quoted-printable\r\n"


def single(ctype: str, body: bytes, encoding: str = "") -> bytes:
    return HEAD + f"Content-Type: {ctype}\r\n{encoding}\r\n".encode() + body


def multipart(*parts: bytes, subtype: str = "alternative", boundary: str = "b") -> bytes:
    body = b"".join(f"--{boundary}\r\n".encode() + part for part in parts)
    return (HEAD + f"Content-Type: multipart/{subtype}; boundary={boundary}\r\n\r\n".encode()
            + body + f"--{boundary}--\r\n".encode())


def b64_text(data: bytes, ctype: str = "text/plain; charset=utf-8") -> bytes:
    return f"Content-Type: {ctype}\r\n{B64}\r\n".encode() + base64.encodebytes(data)


def nested(depth: int) -> bytes:
    inner = b"Content-Type: text/plain\r\n\r\nx\r\n"
    for level in range(depth):
        inner = (f"Content-Type: multipart/mixed; boundary=n{level}\r\n\r\n--n{level}\r\n"
                 .encode() + inner + f"--n{level}--\r\n".encode())
    return HEAD + inner


VIETNAMESE = "Kính gửi Ủy ban nhân dân tỉnh: công văn số 12/UBND.\r\n".encode()
INLINE = {
    "no content-type": HEAD + b"\r\nXin chao.\r\n",
    "text/plain": single("text/plain; charset=utf-8", b"Xin chao.\r\n"),
    "text/html": single("text/html", b"<p>Xin chao</p>\r\n"),
    "8bit text": single("text/plain; charset=utf-8", VIETNAMESE,
                        "Content-Transfer-Encoding: 8bit\r\n"),
    "base64 text": single("text/plain; charset=utf-8", base64.encodebytes(VIETNAMESE), B64),
    "quoted-printable": single("text/plain; charset=utf-8", quopri.encodestring(VIETNAMESE), QP),
    "alternative in base64": multipart(b64_text(VIETNAMESE),
                                       b64_text(b"<p>" + VIETNAMESE + b"</p>", "text/html")),
    "mixed and related": multipart(b64_text(VIETNAMESE), subtype="mixed"),
    "the bench letter": letter().replace(b"\n", b"\r\n"),
}
NOT_INLINE = {
    "pdf": single("application/pdf", b"JVBERi0=\r\n", B64),
    "folded type": HEAD + b"Content-Type:\r\n multipart/mixed; boundary=b\r\n\r\n--b--\r\n",
    "uuencoded": HEAD + b"\r\nbegin 644 giay-moi.pdf\r\nM)5!$1BTQ+C0*\r\nend\r\n",
    "too big": HEAD + b"\r\n" + b"x" * INLINE_LIMIT,
    "attachment": multipart(b"Content-Type: text/plain\r\nContent-Disposition: attachment; "
                            b"filename=a.txt\r\n\r\nx\r\n"),
    "named text part": single("text/plain; name=giay-moi.pdf", b"x\r\n"),
    "RFC 2231 name": single("text/plain; name*0*=utf-8''gi%E1%BA%A5y.pdf", b"x\r\n"),
    "uuencode transfer encoding": single("text/plain", b"x\r\n",
                                         "Content-Transfer-Encoding: x-uuencode\r\n"),
    "raw pdf": HEAD + b"\r\n%PDF-1.7\r\n1 0 obj\r\n",
    "raw zip": HEAD + b"\r\nPK\x03\x04\x14\x00\r\n",
    "forwarded message": multipart(b"Content-Type: message/rfc822\r\n\r\n"
                                   b"From: x@y.vn\r\n\r\nx\r\n"),
    "signed": multipart(b"Content-Type: text/plain\r\n\r\nx\r\n", subtype="signed"),
    "many parts": multipart(*[b"Content-Type: text/plain\r\n\r\nx\r\n"] * (INLINE_ENTITIES + 1),
                            subtype="mixed"),
    "many delimiters": multipart(*[b"\r\nx\r\n"] * (INLINE_DELIMITERS + 1), subtype="mixed"),
    "deep nesting": nested(INLINE_DELIMITERS),
}
HIDDEN = {  # pass the raw check; the decoded content is not text: a worker analyses them
    "base64 pdf as text": single("text/plain", base64.encodebytes(b"%PDF-1.4\n%\xe2\n"), B64),
    "quoted-printable pdf": single("text/plain", b"=25PDF-1.4\r\n", QP),
    "base64 zip": multipart(b64_text(zip_of({"mat.txt": "TỐI MẬT".encode()}))),
    "base64 gzip": single("text/plain", base64.encodebytes(b"\x1f\x8b\x08" + bytes(40)), B64),
    "text/calendar": single("text/calendar", b"BEGIN:VCALENDAR\r\n"),
    "multipart without boundary": HEAD + b"Content-Type: multipart/mixed\r\n\r\nx\r\n",
}


@pytest.mark.parametrize("name", INLINE)
def test_small_text_in_any_transfer_encoding_is_analysed_inline(name: str) -> None:
    assert may_analyse_inline(INLINE[name])


@pytest.mark.parametrize("name", NOT_INLINE)
def test_attachments_documents_and_big_or_many_parts_go_to_a_worker(name: str) -> None:
    assert not may_analyse_inline(NOT_INLINE[name])


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(ROOT / "policies")


def job(message: bytes, policy: Policy) -> AnalysisJob:
    return AnalysisJob(policy.analysis_settings, None, message)


@pytest.mark.parametrize("name", INLINE)
def test_an_inline_analysis_is_the_workers_analysis(name: str, policy: Policy) -> None:
    inline = analyse_job(job(INLINE[name], policy), CHECKERS, plain_only=True)
    assert inline == analyse_job(job(INLINE[name], policy), CHECKERS)
    assert inline.documents and all(d.uninspectable is None for d in inline.documents)


@pytest.mark.parametrize("name", HIDDEN)
def test_content_hidden_by_an_encoding_stops_the_inline_analysis(name: str,
                                                                 policy: Policy) -> None:
    assert may_analyse_inline(HIDDEN[name])
    with pytest.raises(NotPlainText):
        analyse_job(job(HIDDEN[name], policy), CHECKERS, plain_only=True)


def test_a_hidden_pdf_is_still_found_when_the_message_goes_to_a_worker(policy: Policy) -> None:
    analysis = analyse(HIDDEN["base64 pdf as text"], policy.analysis_settings, None)
    assert [d.detected_type for d in analysis.documents] == ["application/pdf"]


class CountingRunner:
    """The worker pool's place: analyses (the same function a worker runs) and counts."""

    def __init__(self) -> None:
        self.jobs: list[AnalysisJob] = []

    async def run(self, job: AnalysisJob) -> Analysis:
        self.jobs.append(job)
        return analyse_job(job, CHECKERS)


@pytest.mark.parametrize(("message", "to_worker"), [
    (INLINE["the bench letter"], False),
    (INLINE["quoted-printable"], False),
    (HIDDEN["base64 zip"], True),
    (NOT_INLINE["many parts"], True),
])
def test_the_decider_sends_only_what_needs_a_worker(message: bytes, to_worker: bool,
                                                    policy: Policy) -> None:
    runner = CountingRunner()
    spool = Spool(threshold=1 << 20)
    spool.write(message)
    try:
        decision = asyncio.run(PolicyTransaction(policy, None, runner, CHECKERS).message(ENVELOPE,
                                                                                spool))
    finally:
        spool.close()
    assert len(runner.jobs) == (1 if to_worker else 0)
    assert decision.analysis is not None and decision.analysis.size == len(message)


def test_the_gateway_process_judges_a_letter_sent_again_once(policy: Policy) -> None:
    """The decider's transactions share its reading cache: the bench letter sent twice is
    read and judged once, in-process, and decided the same."""
    policies = Reloadable("policy", lambda: policy, lambda: [])
    decider = PolicyDecider(policies, None, CountingRunner())
    decisions = []
    for _ in range(2):
        spool = Spool(threshold=1 << 20)
        spool.write(INLINE["the bench letter"])
        try:
            decisions.append(asyncio.run(decider.begin().message(ENVELOPE, spool)))
        finally:
            spool.close()
    entries = decider.readings.entries
    assert entries.misses == len(entries) > 0 and entries.hits == len(entries)
    assert decisions[0].analysis == decisions[1].analysis
    assert decisions[0].verdict.action == decisions[1].verdict.action
