"""tth-gateway serve | check | policy validate|apply|schema | config validate | quarantine …"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.cli.admin import DEFAULT_CONFIG, add_admin_parsers, run_config, run_policy
from gateway.cli.quarantine import add_quarantine_parser, run_quarantine
from gateway.config import ConfigError, Settings, host_name, load_settings, parse_hostport
from gateway.policy.loader import PolicyError
from gateway.record.identity import version_line
from gateway.reload import LoadError
from gateway.yamlsource import read_regular


def _hostport(value: str) -> str:
    try:
        parse_hostport(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


def _envelope_address(*, empty: bool) -> Callable[[str], str]:
    """An argparse type for an envelope address as a client could send it: no white space
    or control characters; empty only for the sender (the null sender)."""

    def address(value: str) -> str:
        if (not value and not empty) or any(ch.isspace() or not ch.isprintable()
                                            for ch in value):
            raise argparse.ArgumentTypeError(f"{value!r} is not an envelope address")
        return value

    return address


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not an IPv4 or IPv6 address") from exc


def _add_trust_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust-anchors", type=Path, help="PEM/DER file or folder of roots")
    parser.add_argument("--intermediates", type=Path, help="folder of CA certificates")
    parser.add_argument("--crls", type=Path, help="folder of CRLs (PEM or DER)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tth-gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, help="settings file (default config/gateway.yaml)")
    serve.add_argument("--policies", type=Path, help="policy folder")
    serve.add_argument("--listen", type=_hostport, action="append", help="HOST:PORT, repeatable")
    serve.add_argument("--upstream", help="HOST:PORT of the mail system, or maildir:FOLDER")
    serve.add_argument("--metrics", type=_hostport, help="HOST:PORT for /metrics")
    serve.add_argument("--workers", type=int, help="processes sharing the port")
    _add_trust_flags(serve)

    check = commands.add_parser("check", help="the verdict the gateway would give a message")
    check.add_argument("message", type=Path, help="the message (.eml; - reads standard input)")
    check.add_argument("--config", type=Path, help="settings file (default config/gateway.yaml)")
    check.add_argument("--policies", type=Path, help="policy folder")
    _add_trust_flags(check)
    check.add_argument("--mail-from", type=_envelope_address(empty=True),
                       help="envelope sender (default: Sender/From header; '' the null sender)")
    check.add_argument("--rcpt", action="append", default=[], type=_envelope_address(empty=False),
                       help="envelope recipient, repeatable (default: To/Cc/Bcc)")
    check.add_argument("--client-ip", type=_ip_address,
                       help="client address (default: last Received hop)")
    check.add_argument("--json", action="store_true", help="print the verdict as JSON")
    check.add_argument("--dns", type=_hostport, help="HOST:PORT of the resolver to ask")

    dkim = commands.add_parser("dkim", help="DKIM keys")
    dkim_commands = dkim.add_subparsers(dest="dkim_command", required=True)
    keygen = dkim_commands.add_parser("keygen", help="a new signing key and its DNS record")
    keygen.add_argument("domain")
    keygen.add_argument("selector")
    keygen.add_argument("--algorithm", choices=("rsa", "ed25519"), default="rsa")
    keygen.add_argument("--out", type=Path, required=True, help="folder for the key file")

    add_admin_parsers(commands)
    add_quarantine_parser(commands)
    return parser


def _settings_for(args: argparse.Namespace) -> Settings:
    """The config file (explicit, or config/gateway.yaml when present), then the flags."""
    path = args.config
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    settings = load_settings(path)
    server: dict[str, Any] = {}
    if getattr(args, "listen", None):
        server["listen"] = args.listen
    if getattr(args, "workers", None) is not None:
        server["workers"] = args.workers
    update: dict[str, Any] = {}
    if server:
        update["server"] = settings.server.model_copy(update=server)
    if getattr(args, "upstream", None):
        update["upstream"] = settings.upstream.model_copy(update={"address": args.upstream})
    if getattr(args, "metrics", None):
        update["metrics"] = settings.metrics.model_copy(update={"listen": args.metrics})
    if getattr(args, "policies", None):
        update["policies"] = args.policies
    trust = {
        key: getattr(args, flag)
        for key, flag in (
            ("anchors", "trust_anchors"),
            ("intermediates", "intermediates"),
            ("crls", "crls"),
        )
        if getattr(args, flag, None) is not None
    }
    if trust:
        update["trust"] = settings.trust.model_copy(update=trust)
    merged = settings.model_copy(update=update)
    try:
        return Settings.model_validate(merged.model_dump(), strict=False)
    except ValidationError as exc:  # the flags with the file's settings (say, --workers)
        raise ConfigError([f"{'.'.join(map(str, error['loc'])) or 'settings'}: {error['msg']}"
                           for error in exc.errors()]) from exc


def _serve(args: argparse.Namespace) -> int:
    from gateway.auth.setup import signer_from_settings
    from gateway.service.serve import serve

    settings = _settings_for(args)
    signer_from_settings(settings)  # a missing or unusable DKIM key stops here (exit 2)
    return serve(settings)


def _check(args: argparse.Namespace) -> int:
    from gateway.auth.setup import authenticator_from_settings
    from gateway.cli.checking import check_message, envelope_from_headers, result_json, result_table
    from gateway.deciding.decider import InlineRunner, PolicyTransaction
    from gateway.policy.loader import load_policy
    from gateway.signatures.setup import CheckerCache, signature_setup
    from gateway.signatures.trust import TrustLoadError

    settings = _settings_for(args)
    policy = load_policy(settings.policies)
    raw = sys.stdin.buffer.read() if str(args.message) == "-" else read_regular(args.message)
    envelope = envelope_from_headers(raw, args.mail_from, args.rcpt, args.client_ip)
    checkers = CheckerCache()
    setup = signature_setup(settings, policy.signature_settings)
    try:
        checkers.checker(setup)  # the trust store is read now: a bad one exits 2, as serve
    except TrustLoadError as exc:
        raise LoadError([f"tth-gateway: trust store: {exc}"]) from exc
    transaction = PolicyTransaction(
        policy, setup, InlineRunner(checkers), checkers,
        authenticator=authenticator_from_settings(settings, args.dns),
    )
    result = check_message(transaction, envelope, raw, settings.server)
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        print(result_table(result))
    return result.exit_code


def _dkim(args: argparse.Namespace) -> int:
    from gateway.auth.keygen import key_path, keygen

    domain, selector = args.domain.lower().rstrip("."), args.selector
    for what, name in (("domain", domain), ("selector", selector)):
        try:
            host_name(name)
        except ValueError as exc:
            print(f"tth-gateway: {what} {name!r}: {exc}; an internationalised domain is "
                  "written in its xn-- form", file=sys.stderr)
            return 2
    print(keygen(domain, selector, args.algorithm, args.out))
    print(f"; private key: {key_path(args.out, domain, selector)} (mode 0600)", file=sys.stderr)
    return 0


COMMANDS = {
    "serve": _serve,
    "check": _check,
    "policy": run_policy,
    "config": run_config,
    "quarantine": run_quarantine,
    "dkim": _dkim,
}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, PolicyError, LoadError) as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tth-gateway: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
