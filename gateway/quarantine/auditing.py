"""Quarantine events (release, delete, purge) as JSON lines in the audit log: who and when."""

from __future__ import annotations

import json
import logging
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("gateway.record.audit")


def audit_event(path: Path | None, event: str, reference: str, by: str,
                **details: object) -> None:
    """Append one line (one O_APPEND write, safe beside the gateway's own records)."""
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event": f"quarantine.{event}",
        "reference": reference,
        "by": by,
        "host": socket.gethostname(),
        **details,
    }
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    if path is None:
        log.info("audit %s", line.rstrip())
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, line.encode("utf-8"))
    finally:
        os.close(descriptor)
