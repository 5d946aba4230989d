"""Logging as configured: the level on every line, JSON lines, syslog."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import LoggingSettings
from gateway.record.logs import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_text_lines_carry_the_level(restore_logging: None,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(level="info"))
    logging.getLogger("gateway.test").info("hello %s", "there")
    logging.getLogger("gateway.test").debug("not shown")
    err = capsys.readouterr().err
    assert " INFO gateway.test hello there" in err
    assert "not shown" not in err


def test_json_lines(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LoggingSettings(format="json", level="warning"))
    logging.getLogger("gateway.test").warning("upstream %s", "down")
    line = json.loads(capsys.readouterr().err.strip())
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "gateway.test",
                                                                "upstream down")
    assert line["time"].endswith("+00:00")


def test_syslog_over_udp(restore_logging: None) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as collector:
        collector.bind(("127.0.0.1", 0))
        collector.settimeout(10)
        port = collector.getsockname()[1]
        configure_logging(LoggingSettings(syslog=f"127.0.0.1:{port}"))
        logging.getLogger("gateway.test").error("quarantine full")
        datagram = collector.recv(4096).decode()
    assert "tth-gateway[" in datagram and "ERROR gateway.test quarantine full" in datagram


def test_a_syslog_that_cannot_be_reached_is_said_once_not_a_traceback_per_record(
        restore_logging: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No socket at the path: every record is still on standard error, and one line (not
    a traceback per record) says why syslog has none; once syslog answers, it gets them."""
    path = tmp_path / "log"
    configure_logging(LoggingSettings(syslog=str(path)))
    logging.getLogger("gateway.test").error("first")
    logging.getLogger("gateway.test").error("second")
    err = capsys.readouterr().err
    assert " ERROR gateway.test first" in err and " ERROR gateway.test second" in err
    assert err.count(f"cannot write to syslog {path}") == 1, err
    assert "Traceback" not in err and "Logging error" not in err, err
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as daemon:
        daemon.bind(str(path))
        daemon.settimeout(10)
        logging.getLogger("gateway.test").error("third")
        assert "ERROR gateway.test third" in daemon.recv(4096).decode()
    assert "cannot write to syslog" not in capsys.readouterr().err


def test_a_syslog_host_that_does_not_resolve_names_the_setting(restore_logging: None) -> None:
    with pytest.raises(OSError, match=r"logging\.syslog: cannot use nowhere\.invalid:514"):
        configure_logging(LoggingSettings(syslog="nowhere.invalid:514"))
