"""The JSON Schema of policy files: generated from the models, current, and it matches the
shipped policies while refusing a typo."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from gateway.policy.jsonschema import SCHEMA_FILE, render

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
SCHEMA = POLICIES / "schema" / SCHEMA_FILE


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA.read_text("utf-8") == render(), (
        "regenerate: tth-gateway policy schema --out policies/schema")


def test_every_shipped_policy_file_matches_the_schema() -> None:
    check = validator()
    files = sorted(POLICIES.glob("*.yaml"))
    assert len(files) >= 5
    for path in files:
        errors = [error.message for error in check.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path


def test_typos_and_wrong_values_are_flagged_for_the_editor() -> None:
    check = validator()
    rule = {"name": "x", "when": {"sender": {"in": ["freemail_domains"]}}, "action": "reject",
            "message_vi": "a", "message_en": "b"}
    assert list(check.iter_errors({"rules": [rule]})) == []
    for broken in (
        {"rules": [{**rule, "acton": "reject"}]},                    # unknown rule key
        {"rules": [{**rule, "action": "explode"}]},                  # unknown action
        {"rules": [{**rule, "when": {"sendr": {"in": ["x"]}}}]},      # unknown condition
        {"rulez": []},                                               # unknown top-level key
        {"limits": {"max_depht": 3}},                                # analysis settings
    ):
        assert list(check.iter_errors(broken)), broken
