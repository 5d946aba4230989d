"""What the analysis asks of the signature validators (implemented in gateway.signatures)."""

from __future__ import annotations

from typing import Protocol

from gateway.signatures.model import SignatureVerdict


class SignatureChecking(Protocol):
    """Validates signatures; one object carries the trust context for one analysis."""

    def check_pdf(self, data: bytes, sha256: str | None = None) -> SignatureVerdict:
        """Embedded PDF signatures; `missing` when the PDF has none. `sha256`: the hash of
        `data` (hex), when the caller has it already."""
        ...

    def check_detached(self, content: bytes, signature: bytes) -> SignatureVerdict:
        """A detached CMS signature (`X.pdf.p7s`, `X.pdf.sig`) over `content`."""
        ...

    def check_smime_signed(
        self,
        signed_part: bytes,
        signature: bytes,
        from_address: str | None,
        from_problem: str | None = None,
    ) -> SignatureVerdict:
        """`multipart/signed`: the first part's raw bytes as signed, and the signature.

        `from_address` is the message's one From mailbox; when None,
        `from_problem` says why there is none to bind the signer to.
        """
        ...

    def check_smime_opaque(
        self, pkcs7: bytes, from_address: str | None, from_problem: str | None = None
    ) -> tuple[SignatureVerdict, bytes | None]:
        """`application/pkcs7-mime` signed-data: the verdict and the enclosed MIME entity."""
        ...
