"""The `Received:` trace header the gateway adds (RFC 5321 4.4)."""

from __future__ import annotations

import email.utils

from gateway.smtp.session import ClientFacts


def _protocol(esmtp: bool, tls: bool, utf8: bool) -> str:
    if utf8:
        return "UTF8SMTPS" if tls else "UTF8SMTP"
    if not esmtp:
        return "SMTPS" if tls else "SMTP"
    return "ESMTPS" if tls else "ESMTP"


def received_header(
    client: ClientFacts,
    *,
    hostname: str,
    transaction_id: str,
    esmtp: bool,
    tls: bool,
    utf8: bool,
    recipients: list[str],
) -> bytes:
    """One folded `Received:` field, CRLF-terminated, ASCII unless the client used SMTPUTF8."""
    helo = client.helo or "unknown"  # printable since EHLO or XFORWARD took it in
    rdns = client.name if client.name and client.name != "[UNAVAILABLE]" else "unknown"
    ip = client.ip or "unknown"
    for_clause = f"\r\n\tfor <{recipients[0]}>" if len(recipients) == 1 else ""
    line = (
        f"Received: from {helo} ({rdns} [{ip}])\r\n"
        f"\tby {hostname} (tth-gateway) with {_protocol(esmtp, tls, utf8)}"
        f" id {transaction_id}{for_clause};\r\n"
        f"\t{email.utils.formatdate(localtime=True)}\r\n"
    )
    return line.encode("utf-8" if utf8 else "ascii", "replace")
