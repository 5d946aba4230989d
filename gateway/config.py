"""Deployment settings (config/gateway.yaml), validated; flags override the file."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.mail.literals import is_address_literal
from gateway.mail.ownheaders import Namespace
from gateway.yamlsource import YamlSourceError, load_yaml

MAILDIR_PREFIX = "maildir:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def parse_hostport(value: str, default_port: int | None = None) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or (with a default) `host`; raises ValueError."""
    text = value.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address {value!r}")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not port_text:
        if default_port is None:
            raise ValueError(f"{value!r} needs a port (host:port)")
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in {value!r}")
    if not host:
        raise ValueError(f"{value!r} needs a host")
    return host, int(port_text)


HostPort = Annotated[str, Field(min_length=3)]
#: YAML has no path type: a path is written as a string and converted.
PathSetting = Annotated[Path, Field(strict=False)]
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def host_name(value: str) -> str:
    """`value` when it is a host or domain name in DNS labels; else ValueError saying so."""
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise ValueError("not a host name (letters, digits, '-' and '_' in labels of at most "
                         "63, joined by dots)")
    return value


def greeting_name(value: str) -> str:
    """A name for the greeting and EHLO: a host name or an address literal."""
    return value if is_address_literal(value) else host_name(value)


#: A host or domain name the gateway writes on the wire (greeting, EHLO, Received,
#: Authentication-Results, DKIM d=): DNS labels only, so nothing can be injected with it.
Hostname = Annotated[str, AfterValidator(host_name)]
#: A name for the greeting or EHLO, which may also be an address literal.
GreetingName = Annotated[str, AfterValidator(greeting_name)]


class TlsSettings(_Strict):
    certificate: PathSetting | None = None
    key: PathSetting | None = None
    require: bool = False


class OwnHeaderSettings(_Strict):
    """The gateway's header namespace: fields under these prefixes arriving in a message
    are `remove`d on entry, or `rename`d `<prefix>Original-…` for the audit."""

    prefixes: list[Annotated[str, Field(pattern=r"^[!-9;-~]+$")]] = ["X-TTH-"]
    forged: Literal["remove", "rename"] = "remove"

    def namespace(self) -> Namespace:
        return Namespace(tuple(self.prefixes), self.forged)


class ServerSettings(_Strict):
    listen: list[HostPort] = ["127.0.0.1:2525"]
    hostname: GreetingName | None = None
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    max_connections: Annotated[int, Field(ge=1)] = 500
    max_connections_per_ip: Annotated[int, Field(ge=1)] = 50
    command_timeout: Annotated[float, Field(gt=0)] = 300.0
    data_timeout: Annotated[float, Field(gt=0)] = 300.0
    max_message_size: Annotated[int, Field(ge=1024)] = 50 * 1024 * 1024
    max_recipients: Annotated[int, Field(ge=1)] = 1000
    max_line_length: Annotated[int, Field(ge=78, le=1_000_000)] = 998
    eight_bit_headers: Literal["reject", "accept"] = "accept"
    smtputf8: bool = True
    tls: TlsSettings = TlsSettings()
    proxy_protocol: bool = False
    trusted_relays: list[str] = ["127.0.0.0/8", "::1/128"]
    shutdown_grace: Annotated[float, Field(ge=0)] = 30.0
    spool_dir: PathSetting | None = None
    spool_threshold: Annotated[int, Field(ge=0)] = 1024 * 1024
    own_headers: OwnHeaderSettings = OwnHeaderSettings()
    #: Written at start (the main process's id), removed at exit; `policy apply` reads it.
    pid_file: PathSetting | None = None

    @field_validator("listen")
    @classmethod
    def _listen_addresses(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one listen address is needed")
        for item in value:
            parse_hostport(item)
        return value

    @field_validator("trusted_relays")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value


class UpstreamSettings(_Strict):
    address: str = "maildir:var/mail"
    timeout: Annotated[float, Field(gt=0)] = 60.0
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    starttls: Literal["off", "opportunistic", "require"] = "opportunistic"
    verify_certificate: bool = True
    ca_file: PathSetting | None = None
    pool_size: Annotated[int, Field(ge=0)] = 20
    pool_idle_seconds: Annotated[float, Field(ge=0)] = 30.0
    helo: GreetingName | None = None

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if value.startswith(MAILDIR_PREFIX):
            if not value[len(MAILDIR_PREFIX) :]:
                raise ValueError("maildir: needs a folder, e.g. maildir:var/mail")
        else:
            parse_hostport(value, 25)
        return value

    @property
    def maildir(self) -> Path | None:
        if self.address.startswith(MAILDIR_PREFIX):
            return Path(self.address[len(MAILDIR_PREFIX) :])
        return None

    def with_address(self, address: str, **changes: object) -> UpstreamSettings:
        """The same settings towards another address (validated like the config file)."""
        data = {**self.model_dump(), **changes, "address": address}
        return UpstreamSettings.model_validate(data, strict=False)


class MetricsSettings(_Strict):
    listen: HostPort | None = "127.0.0.1:9125"

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hostport(value)
        return value


class AuditSettings(_Strict):
    path: PathSetting | None = Path("var/log/audit.jsonl")


class TrustSettings(_Strict):
    anchors: PathSetting | None = None
    intermediates: PathSetting | None = None
    crls: PathSetting | None = None


class AnalysisWorkerSettings(_Strict):
    """The analysis workers (MIME, documents, signatures run off the event loop).

    `workers` counts them all: each of the `server.workers` SMTP workers gets an equal
    share (rounded down, at least one); unset, one per SMTP worker. `time_limit` bounds a
    message's wait for a worker (at most half of it) and its analysis together; at most
    `max_queue` messages wait; each worker's address space is capped at `memory_limit_mb`
    (0: no cap).
    Messages that cannot be analysed are remembered by hash (`remember_entries`, for
    `remember_seconds`).
    """

    workers: int | None = Field(default=None, ge=1, le=64)
    time_limit: float = Field(default=60.0, gt=0)
    #: Reload on file change: off, so a half-saved edit never goes live (SIGHUP or
    #: `tth-gateway policy apply` after validation does it).
    watch: bool = False
    watch_interval: float = Field(default=2.0, gt=0)
    max_queue: int = Field(default=100, ge=0)
    memory_limit_mb: int = Field(default=1024, ge=0, le=1_048_576)  # at most 1 TiB
    remember_entries: int = Field(default=10000, ge=1)
    remember_seconds: float = Field(default=86400.0, gt=0)


Days = Annotated[float, Field(gt=0, strict=False)]


class RetentionSettings(_Strict):
    """Days a record stays in each state before `quarantine purge` destroys it."""

    held: Days = 90.0
    released: Days = 30.0
    deleted: Days = 365.0


def _database_url(value: str) -> str:
    """A `postgresql://` URL whose port, when given, is one (1–65535)."""
    try:
        port = urlsplit(value).port
    except ValueError as exc:
        raise ValueError(f"not a usable database URL: {exc}") from None
    if port == 0:
        raise ValueError("not a usable database URL: port 0")
    return value


class QuarantineSettings(_Strict):
    path: PathSetting = Path("var/quarantine")
    database: Annotated[str, Field(pattern=r"^postgres(ql)?://"),
                        AfterValidator(_database_url)] | None = None
    pool_size: Annotated[int, Field(ge=1, le=100)] = 5
    database_timeout: Annotated[float, Field(gt=0, strict=False)] = 5.0
    encryption_key_file: PathSetting | None = None
    retention: RetentionSettings = RetentionSettings()
    purge_interval: Annotated[float, Field(gt=0, strict=False)] = 3600.0
    officers: list[str] = []


class NoticeSettings(_Strict):
    """The notices about held messages: who they come from, and how they are retried.
    Who is told is the policy's business (rules' `notify`, the policy's
    `settings.security_officer`)."""

    MOVED_KEYS: ClassVar[dict[str, str]] = {
        "security_officer": "the security officer's address is the policy's "
                            "settings.security_officer (policies/settings.yaml); the rules' "
                            "`notify: [security_officer]` tell the officer of a hold",
    }

    from_address: Annotated[str, Field(pattern=r"^[^\s<>@]+@[^\s<>@]+$")] = (
        "postmaster@thuathienhue.gov.vn")
    retry_initial: Annotated[float, Field(gt=0, strict=False)] = 30.0
    retry_max: Annotated[float, Field(gt=0, strict=False)] = 3600.0
    expire_after: Annotated[float, Field(gt=0, strict=False)] = 5 * 86400.0
    poll_interval: Annotated[float, Field(gt=0, strict=False)] = 15.0


class DkimKeySettings(_Strict):
    """One signing key: `{domain, selector, key}` (the key file's path)."""

    domain: Hostname
    selector: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")]
    key: PathSetting


class DkimSettings(_Strict):
    signing: list[DkimKeySettings] = []


class DnsSettings(_Strict):
    """The resolvers sender authentication asks (`HOST:PORT`; empty: /etc/resolv.conf)."""

    resolvers: list[HostPort] = []
    timeout: Annotated[float, Field(gt=0)] = 3.0
    lifetime: Annotated[float, Field(gt=0)] = 8.0
    cache_size: Annotated[int, Field(ge=0)] = 10000

    @field_validator("resolvers")
    @classmethod
    def _resolvers(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_hostport(item, 53)
        return value


class AuthenticationSettings(_Strict):
    """Verification of mail from outside (SPF, DKIM, DMARC, ARC) and its result header."""

    verify: bool = True
    authserv_id: Hostname | None = None
    time_limit: Annotated[float, Field(gt=0)] = 30.0


class LoggingSettings(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "warning"
    format: Literal["text", "json"] = "text"
    #: `/dev/log`, or HOST:PORT (UDP); None: standard error only.
    syslog: str | None = None


class Settings(_Strict):
    server: ServerSettings = ServerSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    metrics: MetricsSettings = MetricsSettings()
    audit: AuditSettings = AuditSettings()
    policies: PathSetting = Path("policies")
    trust: TrustSettings = TrustSettings()
    analysis: AnalysisWorkerSettings = AnalysisWorkerSettings()
    quarantine: QuarantineSettings = QuarantineSettings()
    notices: NoticeSettings = NoticeSettings()
    dkim: DkimSettings = DkimSettings()
    dns: DnsSettings = DnsSettings()
    authentication: AuthenticationSettings = AuthenticationSettings()
    logging: LoggingSettings = LoggingSettings()

    @model_validator(mode="after")
    def _analysis_for_every_worker(self) -> Settings:
        total, smtp = self.analysis.workers, self.server.workers
        if total is not None and total < smtp:
            raise ValueError(
                f"analysis.workers is the total over the SMTP workers: {total} cannot give "
                f"each of the {smtp} server.workers an analysis worker (set it to {smtp} "
                "or more)")
        return self

    def analysis_per_worker(self) -> int:
        """The analysis workers of each SMTP worker: an equal share of `analysis.workers`,
        or one when it is unset."""
        if self.analysis.workers is None:
            return 1
        return self.analysis.workers // self.server.workers


class ConfigError(Exception):
    """The configuration cannot be used; `errors` are `file:line:column: message` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def load_settings(path: PathSetting | None) -> Settings:
    """The embedded defaults, overridden by `path` when given."""
    if path is None:
        return Settings()
    try:
        document = load_yaml(path)
    except YamlSourceError as exc:
        raise ConfigError(exc.errors) from exc
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError([document.error((), "the configuration must be a mapping")])
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(document.validation_errors(exc, model=Settings)) from exc
