"""Errors an administrator can act on: the rule by its name, one line per typo, and a
"did you mean" for misspelt keys, conditions and values (policies and settings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from tests.support.builders import LISTS, errors_of, rules_errors

TWO_RULES = """\
rules:
  - name: first-rule
    when: {direction: inbound}
    action: tag
  - name: refuse-freemail
    when: {direction: inbound}
    acton: reject
    message_vi: a
    message_en: b
"""


def test_a_misspelt_required_key_is_one_error_naming_the_rule() -> None:
    assert rules_errors(TWO_RULES) == [
        "rules.yaml:7:5: rule 'refuse-freemail': unknown key 'acton' (did you mean 'action'?)"]


def test_a_misspelt_optional_key_is_suggested() -> None:
    rules = TWO_RULES.replace("acton: reject", "action: tag\n    descripton: x")
    rules = rules.replace("    message_vi: a\n    message_en: b\n", "")
    assert rules_errors(rules) == [
        "rules.yaml:8:5: rule 'refuse-freemail': unknown key 'descripton' "
        "(did you mean 'description'?)"]


def test_a_misspelt_value_and_condition_key_are_suggested() -> None:
    errors = rules_errors(TWO_RULES.replace("acton: reject", "action: rejct"))
    assert errors == [
        "rules.yaml:7:5: rule 'refuse-freemail': action: Input should be 'accept', 'tag', "
        "'redirect', 'quarantine', 'reject' or 'tempfail' (did you mean 'reject'?)"]
    errors = rules_errors(TWO_RULES.replace("{direction: inbound}\n    acton",
                                            "{sender: {inn: [freemail_domains]}}\n    action"))
    assert errors == ["rules.yaml:6:21: rule 'refuse-freemail': when.sender: unknown key 'inn' "
                      "(did you mean 'in'?)"]


def test_an_unnamed_rule_is_still_placed() -> None:
    errors = rules_errors("rules:\n  - when: {direction: inbound}\n    action: tag\n")
    assert errors == ["rules.yaml:2:5: rules.0.name: Field required"]


def test_settings_typos_are_one_error_each(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("server:\n  listn: ['127.0.0.1:25']\n  max_conections: 3\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert error.value.errors == [
        f"{path}:2:3: server: unknown key 'listn' (did you mean 'listen'?)",
        f"{path}:3:3: server: unknown key 'max_conections' (did you mean 'max_connections'?)",
    ]


def test_the_moved_security_officer_setting_names_its_new_place(tmp_path: Path) -> None:
    """The security officer's address is the policy's (settings.security_officer), the one
    place it is written: a configuration that still sets notices.security_officer is
    refused, and told where the address lives now."""
    path = tmp_path / "gateway.yaml"
    path.write_text("notices:\n  from_address: postmaster@hue.gov.vn\n"
                    "  security_officer: baomat@hue.gov.vn\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    [message] = error.value.errors
    assert message.startswith(f"{path}:3:3: notices: 'security_officer' is no longer read here")
    assert "the policy's settings.security_officer (policies/settings.yaml)" in message


@pytest.mark.parametrize(("condition", "message"), [
    ('{sender: {lookalike_of: ""}}', "when.sender.lookalike_of: String should have at least 1"),
    ('{from: {namesake_of: ""}}', "when.from.namesake_of: String should have at least 1"),
    ("{sender: {not_in: []}}", "List should have at least 1 item"),
    ("{reply_to: {in: []}}", "List should have at least 1 item"),
    ('{sender: {in: ""}}', "String should have at least 1 character"),
])
def test_an_empty_list_name_is_refused_not_matched_by_every_address(
        condition: str, message: str) -> None:
    """`lookalike_of: ""` compiled to no test at all, so the rule held for every sender."""
    errors = rules_errors(f"rules:\n  - name: empty\n    when: {condition}\n    action: tag\n")
    assert any(message in error for error in errors), errors
    assert all(error.startswith("rules.yaml:3:") for error in errors), errors


def test_an_invalid_security_officer_is_one_error_not_one_more_per_rule() -> None:
    """An address that is written but invalid was reported, then every rule notifying the
    officer was told that settings.security_officer 'is not set'."""
    rules = ("rules:\n"
             "  - name: one\n    when: {direction: inbound}\n    action: tag\n"
             "    notify: [security_officer]\n"
             "  - name: two\n    when: {direction: inbound}\n    action: tag\n"
             "    notify: [security_officer]\n")
    invalid = LISTS.replace("security_officer: baomat@thuathienhue.gov.vn",
                            "security_officer: not an address")
    assert errors_of(("lists.yaml", invalid), ("rules.yaml", rules)) == [
        "lists.yaml:13:3: invalid address 'not an address'"]
    unset = LISTS.replace("  security_officer: baomat@thuathienhue.gov.vn\n", "")
    assert errors_of(("lists.yaml", unset), ("rules.yaml", rules)) == [
        "rules.yaml:5:14: notify security_officer: settings.security_officer is not set",
        "rules.yaml:9:14: notify security_officer: settings.security_officer is not set"]
