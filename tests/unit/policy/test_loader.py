"""The loader: every error with its exact `file:line:column`, and what a good policy holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.policy.loader import PolicyError, load_policy, load_sources
from gateway.policy.verdict import Action, Mode
from tests.support.builders import LISTS, copy_default, errors_of, rules_errors

GOOD_RULE = """\
rules:
  - name: ok
    when: {direction: inbound}
    action: tag
"""


def test_good_policy_loads() -> None:
    policy = load_sources([("lists.yaml", LISTS), ("rules.yaml", GOOD_RULE)])
    assert [rule.name for rule in policy.rules] == ["ok"]
    assert policy.rules[0].origin == "rules.yaml:2:5"
    assert policy.settings.security_officer == "baomat@thuathienhue.gov.vn"
    assert {spec.id for spec in policy.analysis_settings.document_types} == {
        "giay_moi",
        "bao_cao",
        "cong_van",
    }
    assert policy.official.has_domain("sotttt.thuathienhue.gov.vn")
    assert len(policy.generation.sha256) == 64


def test_unknown_condition() -> None:
    errors = rules_errors(
        "rules:\n  - name: a\n    when:\n      sendr: {in: freemail_domains}\n    action: tag\n"
    )
    assert len(errors) == 1
    assert errors[0].startswith(
        "rules.yaml:4:7: unknown condition 'sendr' (did you mean 'sender'?) (known: ")


def test_unknown_list_in_rule() -> None:
    errors = rules_errors(
        "rules:\n  - name: a\n    when:\n      sender: {in: freemial}\n    action: tag\n"
    )
    assert errors == [
        "rules.yaml:4:16: unknown list 'freemial' (defined: freemail_domains, "
        "official_domains, partners)"
    ]


def test_a_list_with_an_error_is_reported_once_not_again_where_it_is_used() -> None:
    lists = LISTS.replace("freemail_domains: {domains: [gmail.com, yahoo.com]}",
                          "freemail_domains: {domains: [gmail.com, 7]}")
    rules = ("rules:\n  - name: a\n    when:\n      sender: {in: freemail_domains}\n"
             "    action: tag\n")
    errors = errors_of(("lists.yaml", lists), ("rules.yaml", rules))
    assert len(errors) == 1 and errors[0].startswith("lists.yaml:3:"), errors


def test_unknown_list_in_a_list_of_names_points_at_the_item() -> None:
    rules = (
        "rules:\n  - name: a\n    when:\n      sender:\n        in:\n"
        "          - freemail_domains\n          - nope\n    action: tag\n"
    )
    assert rules_errors(rules)[0].startswith("rules.yaml:7:13: unknown list 'nope'")


def test_unknown_document_type() -> None:
    rules = "rules:\n  - name: a\n    when:\n      doc_type: [giay_moi, giaymoi]\n    action: tag\n"
    errors = rules_errors(rules)
    assert errors == [
        "rules.yaml:4:28: unknown document type 'giaymoi' (defined: bao_cao, cong_van, giay_moi)"
    ]


def test_unknown_key_and_wrong_type_in_rule() -> None:
    rules = (
        "rules:\n  - name: a\n    when: {direction: inbound}\n    action: tag\n    stopp: true\n"
    )
    assert rules_errors(rules) == [
        "rules.yaml:5:5: rule 'a': unknown key 'stopp' (did you mean 'stop'?)"]
    rules = (
        "rules:\n  - name: a\n    when: {direction: inbound}\n    action: tag\n    stop: 'yes'\n"
    )
    assert rules_errors(rules) == [
        "rules.yaml:5:5: rule 'a': stop: Input should be a valid boolean"]


def test_invalid_regex() -> None:
    rules = (
        "rules:\n  - name: a\n    when:\n      display_name: {matches: '(unclosed'}\n"
        "    action: tag\n"
    )
    errors = rules_errors(rules)
    assert len(errors) == 1
    assert errors[0].startswith(
        "rules.yaml:4:22: rule 'a': when.display_name.matches: Value error, invalid regular "
        "expression: missing ), unterminated subpattern"
    )


def test_invalid_cidr_and_domain() -> None:
    lists = (
        "networks:\n  internal_networks:\n    networks:\n      - 10.0.0.1/8\n      - 300.1.1.0/24\n"
        "lists:\n  official_domains:\n    domains: [thuathienhue.gov.vn, 'bad_domain..vn']\n"
    )
    errors = errors_of(("lists.yaml", lists))
    assert errors[:3] == [
        "lists.yaml:4:9: invalid CIDR: 10.0.0.1/8 has host bits set",
        "lists.yaml:5:9: invalid CIDR: '300.1.1.0/24' does not appear to be an IPv4 or IPv6 "
        "network",
        "lists.yaml:8:36: invalid domain 'bad_domain..vn'",
    ]


def test_duplicate_rule_names_across_files() -> None:
    errors = errors_of(("a.yaml", LISTS + GOOD_RULE), ("b.yaml", GOOD_RULE))
    assert errors == ["b.yaml:2:5: duplicate rule name 'ok' (first at a.yaml:19:5)"]


def test_trusted_relays_are_no_policy_setting() -> None:
    """Relays are `server.trusted_relays` of gateway.yaml, the one list the listener reads."""
    text = LISTS.replace("  security_officer:",
                         "  trusted_relays: trusted_relays\n  security_officer:")
    assert errors_of(("a.yaml", text)) == ["a.yaml:13:3: settings: unknown key 'trusted_relays'"]


def test_duplicate_section_and_duplicate_key() -> None:
    errors = errors_of(("a.yaml", LISTS), ("b.yaml", "settings: {}\n"))
    assert errors == ["b.yaml:1:1: 'settings' already defined at a.yaml:12:1"]
    errors = errors_of(("a.yaml", "rules: []\nrules: []\n"))
    assert errors == ["a.yaml:2:1: duplicate key 'rules'"]


def test_unknown_section_and_unknown_settings_list() -> None:
    errors = errors_of(("a.yaml", LISTS + "rulez: []\n"))
    assert errors[0].startswith("a.yaml:18:1: unknown section 'rulez' (known: ")
    text = LISTS.replace("  security_officer:", "  freemail_list: free\n  security_officer:")
    errors = errors_of(("a.yaml", text))
    assert errors == [
        "a.yaml:13:3: settings.freemail_list: unknown list 'free' "
        "(defined: freemail_domains, official_domains, partners)"
    ]


def test_analysis_and_signature_sections_are_checked() -> None:
    text = LISTS.replace("designated: true}", "designated: true, colour: red}", 1)
    text = text.replace("  agency_organisations:", "  allow_sha2: true\n  agency_organisations:")
    errors = errors_of(("a.yaml", text))
    assert errors[0] == (
        "a.yaml:9:75: unknown key 'colour' (known: abbreviations, designated, id, name, "
        "title_keywords)"
    )
    assert errors[1].startswith("a.yaml:16:3: signatures: unknown key 'allow_sha2'")
    assert "allow_sha2" in errors[1]


def test_refusal_needs_bilingual_message_and_matching_code() -> None:
    rules = "rules:\n  - name: a\n    when: {direction: inbound}\n    action: reject\n"
    assert rules_errors(rules) == [
        "rules.yaml:2:5: rule 'a': Value error, a reject needs message_vi and message_en "
        "(bilingual)"
    ]
    rules = (
        "rules:\n  - name: a\n    when: {direction: inbound}\n    action: reject\n"
        "    status_code: 451\n    message_vi: x\n    message_en: y\n"
    )
    assert rules_errors(rules) == [
        "rules.yaml:2:5: rule 'a': Value error, a reject needs a 5xx status_code"
    ]


def test_unknown_placeholder_and_notify_target() -> None:
    rules = (
        "rules:\n  - name: a\n    when: {direction: inbound}\n    action: tag\n"
        "    message_en: 'see {recipient}'\n    notify: [sender, boss]\n"
    )
    errors = rules_errors(rules)
    assert errors[0].startswith(
        "rules.yaml:5:5: rule 'a': message_en: Value error, unknown placeholder '{recipient}'"
    )
    assert len(errors) == 1  # notify is only checked once the rule itself is valid
    rules = (
        "rules:\n  - name: a\n    when: {direction: inbound}\n    action: tag\n    notify: [boss]\n"
    )
    assert rules_errors(rules)[0].startswith("rules.yaml:5:14: notify 'boss': not an address")


def test_a_placeholder_with_a_format_spec_is_refused_at_load() -> None:
    rules = (
        "rules:\n  - name: a\n    when: {direction: inbound}\n    action: tag\n"
        "    message_en: 'rule {rule:d}'\n"
    )
    assert rules_errors(rules) == [
        "rules.yaml:5:5: rule 'a': message_en: Value error, placeholder '{rule}' takes no format"
        " or conversion"
    ]


def test_every_error_is_reported_at_once() -> None:
    rules = (
        "rules:\n"
        "  - name: a\n    when: {sender: {in: nope}}\n    action: tag\n"
        "  - name: b\n    when: {direction: sideways}\n    action: tag\n"
        "  - name: c\n    when: {direction: inbound}\n    action: explode\n"
    )
    errors = rules_errors(rules)
    assert [error.split(": ")[0] for error in errors] == [
        "rules.yaml:3:21",
        "rules.yaml:6:12",
        "rules.yaml:6:12",
        "rules.yaml:10:5",
    ]


def test_yaml_syntax_error_position() -> None:
    errors = errors_of(("a.yaml", "rules:\n  - name: [unclosed\n"))
    assert errors[0].startswith("a.yaml:3:1: ")


def load_errors(directory: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    return caught.value.errors


def test_directory_loading_and_its_errors(tmp_path: Path) -> None:
    copy_default(tmp_path)
    policy = load_policy(tmp_path)
    assert policy.generation.files == tuple(str(p) for p in sorted(tmp_path.glob("*.yaml")))
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        rules.read_text().replace("sender: {not_in: official_domains}", "sender: {not_in: oficial}")
    )
    problems = load_errors(tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{rules}:")
    assert "unknown list 'oficial'" in problems[0]
    assert load_errors(tmp_path / "missing") == [f"{tmp_path / 'missing'}:1:1: not a directory"]


def test_default_policy_rules_are_well_formed() -> None:
    policy = load_policy(copy_default_dir())
    names = [rule.name for rule in policy.rules]
    assert names[0] == "classified-never-relayed"
    assert policy.rules[0].stop
    monitored = {rule.name for rule in policy.rules if rule.mode is Mode.MONITOR}
    assert monitored == {"signer-not-sending-agency", "from-not-aligned-from-inside"}
    assert {rule.name for rule in policy.sender_rules} == {
        "inside-sender-not-official",
        "lookalike-sender",
    }
    assert [rule.name for rule in policy.recipient_rules] == ["lookalike-recipient"]
    envelope_rules = {rule.name for rule in policy.rules if rule.at_envelope}
    assert envelope_rules == {
        "inside-sender-not-official",
        "lookalike-sender",
        "lookalike-recipient",
    }
    assert all(rule.action is not Action.ACCEPT for rule in policy.rules)


def copy_default_dir() -> Path:
    from tests.support.builders import POLICIES

    return POLICIES


def test_empty_exception_is_an_error() -> None:
    rules = "rules:\n  - name: a\n    when: {direction: inbound}\n    unless: {}\n    action: tag\n"
    assert rules_errors(rules) == ["rules.yaml:4:5: an exception needs at least one condition"]


def test_hidden_yaml_files_are_not_policy(tmp_path: Path) -> None:
    """An editor's lock (Emacs `.#rules.yaml`, a dangling link) or a copy's `._x.yaml` is
    not read: with `analysis.watch` on, it would refuse every reload while it exists."""
    directory = copy_default(tmp_path)
    (directory / ".#rules.yaml").symlink_to("root@host.123:1700000000")
    (directory / "._lists.yaml").write_bytes(b"\x00\x05\x16\x07 not yaml")
    assert load_policy(directory).rules
