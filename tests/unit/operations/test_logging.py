"""Logging as configured: the level on every line, JSON lines, syslog."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

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
