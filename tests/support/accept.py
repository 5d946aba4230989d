"""A policy folder that accepts everything (for `serve` in tests about SMTP, not policy)."""

from __future__ import annotations

from pathlib import Path

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def accept_all_policies(directory: Path) -> Path:
    """A policy folder with the shipped lists and settings and no rules (for `serve`)."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in POLICIES.glob("*.yaml"):
        if source.name != "rules.yaml":
            (directory / source.name).write_bytes(source.read_bytes())
    (directory / "rules.yaml").write_text("rules: []\n")
    return directory
