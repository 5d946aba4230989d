"""The JSON Schema of a policy file, generated from the models the loader validates with.

For editors (YAML language server: `# yaml-language-server: $schema=…`). The loader stays
the authority: names of lists, document types and rules are resolved only there.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import ConfigDict, Field, TypeAdapter, create_model

from gateway.analysis.settings import AnalysisSettings
from gateway.policy.conditions import default_registry
from gateway.policy.schema import ListSpec, NetworkListSpec, RuleSpec, SettingsSpec
from gateway.signatures.settings import SignatureSettings

SCHEMA_FILE = "policy.schema.json"
_FORBID = ConfigDict(extra="forbid")


def _conditions_model() -> Any:
    registry = default_registry()
    conditions: dict[str, Any] = {}
    for name in registry.names():
        condition = registry.get(name)
        assert condition is not None
        conditions[name] = (condition.spec | None,
                            Field(default=None, description=condition.summary))
    return create_model("Conditions", __config__=_FORBID, **conditions)


def _policy_file_model() -> Any:
    conditions = _conditions_model()
    rule = create_model(
        "Rule", __base__=RuleSpec,
        when=(conditions, Field(description="every condition must hold")),
        unless=(conditions | list[conditions] | None,  # type: ignore[valid-type]
                Field(default=None, description="exceptions: any group that holds wins")),
    )
    hints = get_type_hints(AnalysisSettings)
    keys: dict[str, Any] = {
        "lists": (dict[str, ListSpec] | None, None),
        "networks": (dict[str, NetworkListSpec] | None, None),
        "settings": (SettingsSpec | None, None),
        "rules": (list[rule] | None, None),  # type: ignore[valid-type]
        "signatures": (SignatureSettings | None, None),
    }
    for field in fields(AnalysisSettings):
        keys[field.name] = (hints[field.name] | None, None)
    return create_model("PolicyFile", __config__=_FORBID, **keys)


def policy_schemas() -> dict[str, Any]:
    """The schema of one policy file (any file may hold any of the top-level keys)."""
    schema = TypeAdapter(_policy_file_model()).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tth-gateway policy file"
    return schema


def render() -> str:
    return json.dumps(policy_schemas(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SCHEMA_FILE
    path.write_text(render(), "utf-8")
    return [path]
