"""tth-gateway serve | check | policy validate | quarantine …"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from gateway.config import ConfigError, Settings, load_settings, parse_hostport

DEFAULT_CONFIG = Path("config/gateway.yaml")


def _hostport(value: str) -> str:
    try:
        parse_hostport(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


def _add_trust_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust-anchors", type=Path, help="PEM/DER file or folder of roots")
    parser.add_argument("--intermediates", type=Path, help="folder of CA certificates")
    parser.add_argument("--crls", type=Path, help="folder of CRLs (PEM or DER)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tth-gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, help="settings file (default config/gateway.yaml)")
    serve.add_argument("--policies", type=Path, help="policy folder")
    serve.add_argument("--listen", type=_hostport, action="append", help="HOST:PORT, repeatable")
    serve.add_argument("--upstream", help="HOST:PORT of the mail system, or maildir:FOLDER")
    serve.add_argument("--metrics", type=_hostport, help="HOST:PORT for /metrics")
    serve.add_argument("--workers", type=int, help="processes sharing the port")
    _add_trust_flags(serve)
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
    return Settings.model_validate(merged.model_dump(), strict=False)


def _serve(args: argparse.Namespace) -> int:
    from gateway.service import serve

    return serve(_settings_for(args))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"tth-gateway: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
