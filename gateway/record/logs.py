"""Logging as the operator configured it: level, text or JSON lines, optional syslog."""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime

from gateway.config import LoggingSettings, parse_hostport

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def _syslog_handler(target: str) -> logging.Handler:
    if target.startswith("/"):
        handler = logging.handlers.SysLogHandler(address=target)
    else:
        handler = logging.handlers.SysLogHandler(address=parse_hostport(target, 514))
    handler.setFormatter(logging.Formatter("tth-gateway[%(process)d]: %(levelname)s "
                                           "%(name)s %(message)s"))
    return handler


def configure_logging(settings: LoggingSettings) -> None:
    """Replace the root logger's handlers: standard error, plus syslog when asked."""
    stream = logging.StreamHandler()
    formatter = JsonFormatter() if settings.format == "json" else logging.Formatter(TEXT_FORMAT)
    stream.setFormatter(formatter)
    handlers: list[logging.Handler] = [stream]
    if settings.syslog:
        handlers.append(_syslog_handler(settings.syslog))
    logging.basicConfig(level=settings.level.upper(), handlers=handlers, force=True)
