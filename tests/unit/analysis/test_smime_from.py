"""S/MIME signer binding to the one From mailbox a mail client shows (issue 8 item 4).

The signer is the fixture PKI's person; `{me}` is its certificate address and
`eve@...` another address. Real signatures, the real validator.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.signatures.checker import SignatureChecker
from gateway.signatures.model import SignatureStatus
from tests.fixtures.pki import Pki
from tests.fixtures.signed import SmimeOpaque, SmimeSigned, pki_email, smime_cases, smime_message
from tests.support.analysing import Analyser

EVE = "eve@stc.thuathienhue.gov.vn"
VALID, UNTRUSTED = SignatureStatus.VALID, SignatureStatus.UNTRUSTED

# (From field(s) as written, expected status, words the reason must hold)
CASES = [
    ("{me}", VALID, ""),
    ("Nguyễn Văn A <{me}>", VALID, ""),
    ('"{eve}" <{me}>', VALID, ""),
    ("{eve} <{me}>", VALID, ""),  # unquoted address-like display name: the real one is {me}
    ("{me} <{eve}>", UNTRUSTED, "does not match"),  # the client shows {eve}
    ("{me}, {eve}", UNTRUSTED, "several mailboxes"),
    ("{eve}, {me}", UNTRUSTED, "several mailboxes"),
    ("A <{me}>, B <{eve}>", UNTRUSTED, "several mailboxes"),
    ("nhom: {me}, {eve};", UNTRUSTED, "several mailboxes"),
    ("{me}\r\nFrom: {eve}", UNTRUSTED, "several From header fields"),
    ("{me}\r\nFrom: {me}", UNTRUSTED, "several From header fields"),
    ("A <{me}> <{eve}>", UNTRUSTED, "malformed"),
    ("<{me}> {eve}", UNTRUSTED, "malformed"),
]


@pytest.mark.parametrize("kind", ["valid", "opaque"])
@pytest.mark.parametrize(("written", "status", "reason"), CASES)
def test_smime_signer_is_bound_to_the_one_real_from_mailbox(
    analysed: Analyser,
    pki: Pki,
    checker: SignatureChecker,
    kind: str,
    written: str,
    status: SignatureStatus,
    reason: str,
) -> None:
    case = smime_cases(pki)[kind]
    assert isinstance(case, SmimeSigned | SmimeOpaque)
    from_field = written.format(me=pki_email(pki.person), eve=EVE)
    analysis = analysed(smime_message(replace(case, from_address=from_field)), signatures=checker)
    signature = analysis.message_signature
    assert signature is not None
    assert signature.status == status, signature
    details = " ".join(result.detail for result in signature.signatures)
    assert reason in details


def test_display_name_that_is_another_address_is_reported(analysed: Analyser, pki: Pki) -> None:
    case = smime_cases(pki)["valid"]
    from_field = f"{EVE} <{pki_email(pki.person)}>"
    headers = analysed(smime_message(replace(case, from_address=from_field))).headers
    assert headers.author is not None
    assert headers.author.addr_spec == pki_email(pki.person)
    assert headers.author.display_name == EVE
    assert "from: display name contains another address" in headers.problems
