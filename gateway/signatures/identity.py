"""Who signed: identity from the signing certificate, and whether it fits the agency."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from email.utils import parseaddr

from asn1crypto import x509

from gateway.mail.addresses import in_domain, normalize_domain
from gateway.signatures.model import Signer


def _first(value: object) -> str | None:
    if isinstance(value, list | tuple):
        return _first(value[0]) if value else None
    return str(value) if value is not None else None


def certificate_emails(cert: x509.Certificate) -> tuple[str, ...]:
    """E-mail addresses of the certificate: SAN rfc822Name first, then subject emailAddress."""
    found: list[str] = []
    san = cert.subject_alt_name_value
    if san is not None:
        found += [str(name.native) for name in san if name.name == "rfc822_name"]
    subject_email = cert.subject.native.get("email_address")
    if isinstance(subject_email, list | tuple):
        found += [str(address) for address in subject_email]
    elif subject_email:
        found.append(str(subject_email))
    return tuple(dict.fromkeys(found))


def signer_of(cert: x509.Certificate) -> Signer:
    """The `Signer` named by a certificate."""
    subject = cert.subject.native
    emails = certificate_emails(cert)
    return Signer(
        common_name=_first(subject.get("common_name")),
        organization=_first(subject.get("organization_name")),
        organizational_unit=_first(subject.get("organizational_unit_name")),
        email=emails[0] if emails else None,
        serial=format(cert.serial_number, "x"),
        issuer=cert.issuer.human_friendly,
    )


def normalize_address(address: str) -> str:
    """The addr-spec of `address`, case-folded, with an IDNA-decoded domain."""
    _display, spec = parseaddr(address)
    local, _at, domain = (spec or address).strip().rpartition("@")
    return f"{local.casefold()}@{normalize_domain(domain)}" if local else normalize_domain(domain)


def email_matches(cert: x509.Certificate, from_address: str) -> bool:
    """True when one of the certificate's e-mail addresses is the From address."""
    wanted = normalize_address(from_address)
    return any(normalize_address(address) == wanted for address in certificate_emails(cert))


def normal_name(name: str) -> str:
    """An organisation name compared NFC, case-folded, with spacing collapsed."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _in_domain(email: str | None, domain: str) -> bool:
    if not email or "@" not in email:
        return False
    return in_domain(normalize_address(email).rpartition("@")[2], domain)


def signer_matches_agency(
    signer: Signer, agency_domain: str, mapping: Mapping[str, Sequence[str]]
) -> bool:
    """True when the signer's O (or OU) is one of the agency's organisation names in
    `mapping` (agency mail domain -> names), or its e-mail is in the agency's domain."""
    domain = normalize_domain(agency_domain)
    names = next((v for k, v in mapping.items() if normalize_domain(k) == domain), ())
    wanted = {normal_name(name) for name in names}
    held = (signer.organization, signer.organizational_unit)
    if any(value is not None and normal_name(value) in wanted for value in held):
        return True
    return _in_domain(signer.email, domain)


def is_organisation_signer(signer: Signer | None, organisations: Sequence[str] = ()) -> bool:
    """An organisation's own certificate: its CN is its O, or one of `organisations`."""
    if signer is None or not signer.common_name:
        return False
    name = normal_name(signer.common_name)
    if signer.organization and name == normal_name(signer.organization):
        return True
    return name in {normal_name(org) for org in organisations}
