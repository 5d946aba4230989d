"""tth-gateway quarantine list | show ID | release ID | delete ID.

Exit status: 0 done; 1 no such held message (or an unreadable record);
2 usage, configuration or key error, or the message is not in a state that
allows it (already released or deleted); 69 the upstream refused the
message for good; 75 temporary failure (upstream unavailable or record busy).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.actions.heldmeta import HeldMetadata, HoldStatus, metadata_dict
from gateway.actions.quarantine import (
    HeldBusy,
    HeldNotFound,
    HeldStateError,
    InvalidHeldId,
    QuarantineError,
    QuarantineStore,
)
from gateway.actions.release import ReleaseFailed, release_held
from gateway.actions.sealing import SealError
from gateway.actions.upstreams import upstream_for
from gateway.config import ConfigError, Settings, load_settings

DEFAULT_CONFIG = Path("config/gateway.yaml")

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 69
EXIT_TEMPFAIL = 75


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def add_quarantine_parser(commands: Any) -> argparse.ArgumentParser:
    """Register `quarantine` on the `tth-gateway` sub-command set (`add_subparsers()`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="settings file (default config/gateway.yaml)")
    quarantine: argparse.ArgumentParser = commands.add_parser(
        "quarantine", help="held messages: list, show, release, delete", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = actions.add_parser("list", parents=[common], help="every held message")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.add_argument("--status", choices=[s.value for s in HoldStatus],
                         help="only records in this state")
    show = actions.add_parser("show", parents=[common], help="what is known about one message")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="the metadata as JSON")
    show.add_argument("--body", action="store_true",
                      help="print the held message itself (raw), even when classified")
    release = actions.add_parser("release", parents=[common],
                                 help="relay the message to its original recipients")
    release.add_argument("id")
    release.add_argument("--by", default=_default_user(), help="who releases (default: you)")
    release.add_argument("--upstream", help="HOST:PORT or maildir:FOLDER instead of the config")
    delete = actions.add_parser("delete", parents=[common], help="destroy the held message")
    delete.add_argument("id")
    delete.add_argument("--by", default=_default_user(), help="who deletes (default: you)")
    quarantine.set_defaults(handler=run_quarantine)
    return quarantine


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    return load_settings(path)


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _summary_line(metadata: HeldMetadata) -> str:
    rules = ",".join(rule.name for rule in metadata.decision.rules) or "-"
    return "\t".join([
        metadata.id,
        metadata.status.value,
        metadata.received,
        metadata.decision.classification or "-",
        metadata.envelope.mail_from or "<>",
        rules,
    ])


def _list(store: QuarantineStore, args: argparse.Namespace) -> int:
    records = [m for m in store.list() if args.status in (None, m.status.value)]
    if args.json:
        _print_json([metadata_dict(m) for m in records])
        return EXIT_OK
    print("\t".join(["ID", "STATUS", "RECEIVED", "CLASSIFICATION", "FROM", "RULES"]))
    for metadata in records:
        print(_summary_line(metadata))
    return EXIT_OK


def _describe(metadata: HeldMetadata) -> list[str]:
    envelope, decision = metadata.envelope, metadata.decision
    lines = [
        f"id:             {metadata.id}",
        f"status:         {metadata.status.value}",
        f"received:       {metadata.received}",
        f"from:           {envelope.mail_from or '<>'}",
        f"to:             {', '.join(envelope.rcpt_tos)}",
        f"client:         {envelope.client_ip or '-'} ({envelope.client_name or '-'})",
        f"message-id:     {metadata.message_id or '-'}",
        f"size:           {metadata.size} bytes, sha256 {metadata.sha256}",
        f"encrypted:      {('key ' + metadata.encryption) if metadata.encryption else 'no'}",
        f"action:         {decision.action}",
        f"classification: {decision.classification or '-'}",
        "rules:",
        *(f"  - {rule.name} ({rule.action}): {rule.reason}" for rule in decision.rules),
        "markings:",
        *(f"  - {m.level or '-'} {m.stamp!r} in {m.where}" for m in decision.markings),
        "documents:",
        *(
            f"  - {d.filename or '(body)'}: {d.doc_type}, {d.classification or 'unclassified'}, "
            f"signature {d.signature}"
            for d in decision.documents
        ),
    ]
    if metadata.release is not None:
        release = metadata.release
        lines.append(f"released:       {release.at} by {release.by}: {release.upstream_reply}")
        lines += [f"  not accepted: {item}" for item in release.refused]
    if metadata.deletion is not None:
        lines.append(f"deleted:        {metadata.deletion.at} by {metadata.deletion.by}")
    return lines


def _show(store: QuarantineStore, args: argparse.Namespace) -> int:
    metadata = store.get(args.id)
    if args.body:
        message = store.read_message(args.id)
        if metadata.decision.classification:
            print(
                f"warning: printing the body of a classified message "
                f"({metadata.decision.classification}); handle it as such",
                file=sys.stderr,
            )
        sys.stdout.flush()
        sys.stdout.buffer.write(message)
        sys.stdout.buffer.flush()
        return EXIT_OK
    if args.json:
        _print_json(metadata_dict(metadata))
    else:
        print("\n".join(_describe(metadata)))
    return EXIT_OK


def _release(store: QuarantineStore, settings: Settings, args: argparse.Namespace) -> int:
    upstream_settings = settings.upstream
    if args.upstream:
        upstream_settings = upstream_settings.with_address(args.upstream)
    hostname = settings.server.hostname or socket.getfqdn()

    async def run() -> HeldMetadata:
        upstream = upstream_for(upstream_settings, hostname)
        try:
            return await release_held(store, args.id, upstream, by=args.by,
                                      namespace=settings.server.own_headers.namespace())
        finally:
            await upstream.close()

    metadata = asyncio.run(run())
    assert metadata.release is not None
    print(f"released {metadata.id} to {', '.join(metadata.release.recipients)}: "
          f"{metadata.release.upstream_reply}")
    for item in metadata.release.refused:
        print(f"not accepted: {item}", file=sys.stderr)
    return EXIT_OK


def _delete(store: QuarantineStore, args: argparse.Namespace) -> int:
    with store.locked(args.id):
        metadata = store.delete(args.id, args.by, datetime.now(UTC))
    print(f"deleted {metadata.id}")
    return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = QuarantineStore.from_settings(settings.quarantine)
    command = args.quarantine_command
    if command == "list":
        return _list(store, args)
    if command == "show":
        return _show(store, args)
    if command == "release":
        return _release(store, settings, args)
    return _delete(store, args)


def _fail(code: int, message: str) -> int:
    print(f"tth-gateway quarantine: {message}", file=sys.stderr)
    return code


def run_quarantine(args: argparse.Namespace) -> int:
    """Run one `quarantine` sub-command; returns the exit status."""
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:
        return _fail(EXIT_USAGE, f"bad --upstream: {exc.errors()[0]['msg']}")
    except (InvalidHeldId, SealError) as exc:
        return _fail(EXIT_USAGE, str(exc))
    except HeldNotFound as exc:
        return _fail(EXIT_NOT_FOUND, str(exc))
    except HeldBusy as exc:
        return _fail(EXIT_TEMPFAIL, str(exc))
    except HeldStateError as exc:
        return _fail(EXIT_USAGE, str(exc))
    except ReleaseFailed as exc:
        return _fail(EXIT_TEMPFAIL if exc.temporary else EXIT_UNAVAILABLE, str(exc))
    except QuarantineError as exc:
        return _fail(EXIT_NOT_FOUND, str(exc))
    except OSError as exc:
        return _fail(EXIT_USAGE, str(exc))
