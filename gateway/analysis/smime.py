"""The content enclosed in a CMS signed-data blob, read with asn1crypto (no validation)."""

from __future__ import annotations

from asn1crypto import cms


def enclosed_content(pkcs7: bytes) -> bytes | None:
    """The encapsulated content of an S/MIME signed-data object, or None when there is none."""
    try:
        info = cms.ContentInfo.load(pkcs7)
        if info["content_type"].native != "signed_data":
            return None
        content = info["content"]["encap_content_info"]["content"].native
    except (ValueError, TypeError, KeyError):
        return None
    return content if isinstance(content, bytes) else None
