"""The gateway's version and the `tth_build_info` metric."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

from gateway.record import metrics


def gateway_version() -> str:
    """The installed package's version (`0+unknown` when run from an uninstalled tree)."""
    try:
        return version("tth-gateway")
    except PackageNotFoundError:
        return "0+unknown"


def version_line() -> str:
    return f"tth-gateway {gateway_version()} (Python {platform.python_version()})"


def publish_build_info() -> None:
    metrics.BUILD_INFO.labels(gateway_version(), platform.python_version()).set(1)
