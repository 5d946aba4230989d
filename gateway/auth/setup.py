"""The authentication stage built from the deployment settings (`dkim:`, `dns:`,
`authentication:`); a key that cannot be used is a configuration error at start."""

from __future__ import annotations

import socket

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.signing import DkimSigner, SigningKeyError, load_key
from gateway.auth.stage import Authenticator
from gateway.config import ConfigError, Settings, parse_hostport


def signer_from_settings(settings: Settings) -> DkimSigner | None:
    """Every `dkim.signing` key, loaded and checked; ConfigError names each bad one."""
    keys, errors = [], []
    for index, entry in enumerate(settings.dkim.signing):
        try:
            keys.append(load_key(entry.domain.lower().rstrip("."), entry.selector, entry.key))
        except SigningKeyError as exc:
            errors.append(f"dkim.signing.{index}: {exc}")
    if errors:
        raise ConfigError(errors)
    return DkimSigner(keys) if keys else None


def dns_client(settings: Settings, resolver: str | None = None) -> DnsClient:
    """A DNS client on the configured resolvers (or `resolver`, HOST:PORT, instead)."""
    chosen = [resolver] if resolver else settings.dns.resolvers
    value = DnsSettingsValue(
        tuple(parse_hostport(item, 53) for item in chosen),
        timeout=settings.dns.timeout, lifetime=settings.dns.lifetime,
    )
    return DnsClient(value, DnsCache(settings.dns.cache_size))


def authenticator_from_settings(settings: Settings, resolver: str | None = None) -> Authenticator:
    """One per process: its DNS cache is shared by every transaction of the process."""
    auth = settings.authentication
    authserv_id = auth.authserv_id or settings.server.hostname or socket.getfqdn()
    return Authenticator(dns_client(settings, resolver), signer_from_settings(settings),
                         authserv_id, verify=auth.verify, time_limit=auth.time_limit)
