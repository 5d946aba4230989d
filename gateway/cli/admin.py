"""tth-gateway config validate | policy validate | policy apply | policy schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.config import ConfigError, load_settings

DEFAULT_CONFIG = Path("config/gateway.yaml")


def add_admin_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser("policy", help="policy tools")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    validate = policy_commands.add_parser("validate", help="check a policy folder (exit 2 "
                                          "on errors)")
    validate.add_argument("directory", type=Path, nargs="?", default=Path("policies"))
    apply = policy_commands.add_parser(
        "apply", help="validate the policy folder, then tell the running gateway to reload")
    apply.add_argument("directory", type=Path, nargs="?",
                       help="policy folder (default: `policies` of the config file)")
    apply.add_argument("--config", type=Path, help="settings file (default config/gateway.yaml)")
    schema = policy_commands.add_parser("schema", help="print the JSON Schema of policy files")
    schema.add_argument("--out", type=Path, help="write one schema file per policy file here")

    config = commands.add_parser("config", help="settings tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    config_validate = config_commands.add_parser("validate", help="check a settings file "
                                                 "(exit 2 on errors)")
    config_validate.add_argument("file", type=Path, nargs="?", default=DEFAULT_CONFIG)


def _validate_policies(directory: Path) -> int:
    from gateway.policy.loader import PolicyError, load_policy, warnings

    try:
        policy = load_policy(directory)
    except PolicyError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        return 2
    for warning in warnings(directory, policy):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{directory}: policy is valid")
    return 0


def _apply(args: argparse.Namespace) -> int:
    from gateway.service.pidfile import signal_gateway

    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    settings = load_settings(config)
    directory = args.directory or settings.policies
    if directory.resolve() != settings.policies.resolve():
        print(f"tth-gateway: the gateway reads {settings.policies}, not {directory}",
              file=sys.stderr)
        return 2
    status = _validate_policies(directory)
    if status:
        print("tth-gateway: not applied; the running gateway keeps its policy", file=sys.stderr)
        return status
    pid_path = settings.server.pid_file
    if pid_path is None:
        print("tth-gateway: server.pid_file is not set; use `systemctl reload tth-gateway`",
              file=sys.stderr)
        return 2
    try:
        pid = signal_gateway(pid_path)
    except (OSError, ValueError) as exc:
        print(f"tth-gateway: no running gateway in {pid_path}: {exc}", file=sys.stderr)
        return 1
    print(f"{directory}: valid; reload signalled to process {pid}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from gateway.policy.jsonschema import policy_schemas, write_schemas

    if args.out is not None:
        for path in write_schemas(args.out):
            print(path)
    else:
        print(json.dumps(policy_schemas(), indent=2, ensure_ascii=False))
    return 0


def run_policy(args: argparse.Namespace) -> int:
    if args.policy_command == "apply":
        return _apply(args)
    if args.policy_command == "schema":
        return _schema(args)
    return _validate_policies(args.directory)


def run_config(args: argparse.Namespace) -> int:
    try:
        load_settings(args.file)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 2
    print(f"{args.file}: configuration is valid")
    return 0
