"""One JSON line per mail transaction: who, what envelope, what happened. Never the body."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gateway.record import metrics

log = logging.getLogger("gateway.record.audit")


@dataclass(slots=True)
class AuditRecord:
    """What the auditor reads about one transaction (`own_headers`: fields of the
    gateway's namespace that arrived in the message and were removed or renamed)."""

    time: str
    session: str
    client_ip: str | None
    client_name: str | None
    helo: str | None
    tls: bool
    mail_from: str
    rcpt_accepted: list[str] = field(default_factory=list)
    rcpt_refused: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    outcome: str = "aborted"
    reply: str = ""
    upstream_reply: str | None = None
    queue_id: str | None = None
    duration_ms: float = 0.0
    direction: str | None = None
    action: str | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)
    classification: str | None = None
    reference: str | None = None
    redirected_to: list[str] | None = None
    own_headers: list[str] = field(default_factory=list)
    authentication: dict[str, Any] | None = None
    #: The command the transaction ended at: MAIL or RCPT (a refusal there) or DATA.
    stage: str = "DATA"


#: The record's keys in their order; its values are already JSON values (no copy needed).
_KEYS = tuple(item.name for item in fields(AuditRecord))


def _line(record: AuditRecord) -> str:
    """The record as one JSON line (UTF-8 text, not escaped)."""
    body = {key: getattr(record, key) for key in _KEYS}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"


class AuditLog:
    """Appends records to a file with one write() per line (O_APPEND: safe across workers)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def write(self, record: AuditRecord) -> None:
        line = _line(record)
        if self._fd is None:
            log.info("audit %s", line.rstrip())
            return
        try:
            os.write(self._fd, line.encode("utf-8"))
        except OSError as exc:  # the record is not lost: it goes to the log instead
            metrics.AUDIT_WRITE_ERRORS.inc()
            log.error("cannot write the audit log %s (%s); the record: %s", self._path,
                      exc.strerror or exc, line.rstrip())

    def reopen(self) -> None:
        """After logrotate moved the file away (its `create` mode): write to a new one."""
        if self._path is None:
            return
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        old, self._fd = self._fd, fd
        if old is not None:
            os.close(old)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
