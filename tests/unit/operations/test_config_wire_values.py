"""Configuration values the gateway writes on the wire are checked when the file is read:
a greeting name that would inject a reply line, a notice sender with a space, a memory cap
no system can set, are each a `file:line:column` error, not a failure at run time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[3]

NOT_HOST = "Value error, not a host name"


@pytest.mark.parametrize(("yaml_text", "message"), [
    ('server:\n  hostname: "mx.example\\r\\n250 injected"\n', f"server.hostname: {NOT_HOST}"),
    ('server:\n  hostname: "a b"\n', f"server.hostname: {NOT_HOST}"),
    ('server:\n  hostname: "-bad.example"\n', f"server.hostname: {NOT_HOST}"),
    ("server:\n  hostname: " + "a" * 64 + ".example\n", f"server.hostname: {NOT_HOST}"),
    ('upstream:\n  helo: "x\\ny"\n', f"upstream.helo: {NOT_HOST}"),
    ("upstream:\n  helo: '[300.1.1.1]'\n", f"upstream.helo: {NOT_HOST}"),
    ("authentication:\n  authserv_id: '[192.0.2.1]'\n", "authentication.authserv_id: Value error"),
    ('authentication:\n  authserv_id: "gw; x=y"\n', "authentication.authserv_id: Value error"),
    ("dkim:\n  signing:\n    - {domain: ../../evil, selector: s1, key: k.pem}\n",
     f"dkim.signing.0.domain: {NOT_HOST}"),
    ('notices:\n  from_address: "a b@x.vn"\n', "notices.from_address: String should match"),
    ('quarantine:\n  database: "postgresql://u@127.0.0.1:99999/q"\n',
     "quarantine.database: Value error, not a usable database URL: Port out of range"),
    ("analysis:\n  memory_limit_mb: 100000000000000\n",
     "analysis.memory_limit_mb: Input should be"),
    ("upstream:\n  starttls: off\n",  # YAML 1.1 reads it as false
     'upstream.starttls: Input should be \'off\', \'opportunistic\' or \'require\' (YAML read '
     'the unquoted word as false; quote it: "off")'),
])
def test_a_value_that_cannot_go_on_the_wire_is_refused(
        tmp_path: Path, yaml_text: str, message: str) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml_text)
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert any(message in error for error in raised.value.errors), raised.value.errors


@pytest.mark.parametrize("name", ["gw.test", "mx.thuathienhue.gov.vn", "mx1.", "host_1.lan",
                                  "'[192.0.2.10]'", "'[IPv6:2001:db8::1]'"])
def test_host_names_are_taken(tmp_path: Path, name: str) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(f"server:\n  hostname: {name}\nupstream:\n  helo: {name}\n")
    assert load_settings(config).server.hostname == name.strip("'")


@pytest.mark.parametrize("folder", ["missing", "a-file"])
def test_a_metrics_folder_that_is_not_one_is_a_configuration_error(
        tmp_path: Path, folder: str) -> None:
    (tmp_path / "a-file").write_text("x")
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / folder)}
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "--version"], env=environment,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"tth-gateway: PROMETHEUS_MULTIPROC_DIR={tmp_path / folder} is "
                           "not a folder; create it or unset the variable\n")
