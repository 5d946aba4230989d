"""Logging as the operator configured it: level, text or JSON lines, optional syslog."""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
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


class _Syslog(logging.handlers.SysLogHandler):
    """Syslog that, while the daemon cannot be reached (no socket at the path, syslog
    restarting), says so once on standard error, where every record still goes, instead of
    a traceback per record; once a record gets through it would say so again."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._failing = False
        self._sent = True
        try:
            super().__init__(address=target if target.startswith("/")
                             else parse_hostport(target, 514))
        except OSError as exc:  # a host name that does not resolve
            raise OSError(exc.errno, f"logging.syslog: cannot use {target}: "
                                     f"{exc.strerror or exc}") from exc

    def emit(self, record: logging.LogRecord) -> None:
        self._sent = True
        super().emit(record)  # calls handleError when the record is not sent
        if self._sent:
            self._failing = False

    def handleError(self, record: logging.LogRecord) -> None:
        self._sent = False
        if not self._failing:
            self._failing = True
            sys.stderr.write(f"tth-gateway: cannot write to syslog {self.target}: "
                             f"{sys.exception()}; records go to standard error only\n")


def _syslog_handler(target: str) -> logging.Handler:
    handler = _Syslog(target)
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
