"""The upstream named by settings: a Maildir folder or an SMTP server (pooled)."""

from __future__ import annotations

from gateway.config import UpstreamSettings
from gateway.outbound.maildir import MaildirUpstream
from gateway.outbound.upstream import SmtpUpstream, Upstream


def upstream_for(settings: UpstreamSettings, hostname: str) -> Upstream:
    """`maildir:FOLDER` delivers locally; anything else is `host:port` of an SMTP server."""
    folder = settings.maildir
    if folder is not None:
        return MaildirUpstream(folder)
    return SmtpUpstream(settings, hostname)
