"""The moment a signer's certificate chain is checked at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import cms, tsp
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

from gateway.signatures.settings import SignatureSettings


@dataclass(frozen=True, slots=True)
class ValidationTime:
    """`source`: "timestamp" (to be proven by the token), "claimed" or "now"."""

    moment: datetime
    source: str

    @property
    def past(self) -> bool:
        return self.source != "now"


def timestamp_time(signer_info: cms.SignerInfo) -> datetime | None:
    """genTime of the first signature timestamp token (pyHanko validates the token itself)."""
    try:
        for signed_data in extract_tst_data_iter(signer_info, signed=False):
            tst_info = signed_data["encap_content_info"]["content"].parsed
            if isinstance(tst_info, tsp.TSTInfo):
                moment = tst_info["gen_time"].native
                return moment if isinstance(moment, datetime) else None
    except (ValueError, TypeError, KeyError):
        return None
    return None


def validation_time(
    signer_info: cms.SignerInfo,
    claimed: datetime | None,
    now: datetime,
    settings: SignatureSettings,
) -> ValidationTime:
    """Timestamp time if present, else now or (by policy) the claimed signing time.

    A time in the future is never used: the chain is then checked now.
    """
    stamped = timestamp_time(signer_info)
    if stamped is not None and stamped <= now:
        return ValidationTime(stamped, "timestamp")
    if settings.fallback_time == "claimed" and claimed is not None and claimed <= now:
        return ValidationTime(claimed, "claimed")
    return ValidationTime(now, "now")
