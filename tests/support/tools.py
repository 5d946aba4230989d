"""System tools some tests need (promtool from Debian's `prometheus`; .ci/run installs it)."""

from __future__ import annotations

import os
import shutil

import pytest


def tool(name: str) -> str:
    """The tool's path; a skip on a developer's machine without it, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("TTH_REQUIRE_TOOLS"):
            pytest.fail(f"{name} is not installed (.ci/run installs it)")
        pytest.skip(f"{name} is not installed")
    return path
