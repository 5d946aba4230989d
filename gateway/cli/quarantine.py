"""tth-gateway quarantine list | show ID | release ID | delete ID | purge | migrate | digest.

Who acts: the login user (from the operating system, as sudo or ssh
authenticated it); `--by NAME` may name someone else only when run as root
(e.g. from a tool acting for the officer). A classified hold is released only
by a name in `quarantine.officers` (when that list is empty, whoever may run
this command is trusted). Release and delete are written to the audit log.

Exit status: 0 done; 1 no such held message (or an unreadable record);
2 usage, configuration or key error, or the message is not in a state that
allows it (already released or deleted, or already released to that
recipient); 69 the upstream refused the message for good; 74 the message
was delivered but its record could not be updated (audited; do not release
it again); 75 temporary failure (upstream or database unavailable, record
busy); 77 not allowed (a classified hold, not an officer; you may not
change the quarantine's files): nothing was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gateway.actions.release import (
    DeliveredNotRecorded,
    NotAllowed,
    ReleaseFailed,
    release_held,
)
from gateway.auth.setup import signer_from_settings
from gateway.auth.stage import release_signature
from gateway.config import ConfigError, Settings, load_settings
from gateway.outbound.upstreams import upstream_for
from gateway.quarantine.auditing import audit_event
from gateway.quarantine.commands import add_lifecycle_parsers, run_lifecycle
from gateway.quarantine.errors import (
    HeldBusy,
    HeldNotFound,
    HeldStateError,
    InvalidHeldId,
    QuarantineError,
    StoreNotWritable,
    StoreUnavailable,
)
from gateway.quarantine.heldmeta import HeldMetadata
from gateway.quarantine.interface import Store
from gateway.quarantine.listing import add_listing_parsers, run_listing
from gateway.quarantine.opening import open_store
from gateway.quarantine.sealing import SealError

DEFAULT_CONFIG = Path("config/gateway.yaml")

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 69
EXIT_NOT_RECORDED = 74
EXIT_TEMPFAIL = 75
EXIT_NOPERM = 77


def login_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def acting_user(requested: str | None) -> str:
    """Who acts: the login user, or `--by` when root acts on someone's behalf."""
    user = login_user()
    if requested is None or requested == user:
        return user
    if os.geteuid() != 0:
        raise NotAllowed(f"--by {requested}: only root may act in another's name (you are {user})")
    return requested


def _person(value: str) -> str:
    """A `--by` name as the audit log will record it: not blank, no control characters."""
    if not value.strip() or not value.isprintable():
        raise argparse.ArgumentTypeError(f"{value!r}: name the person who acts")
    return value


def _upstream(value: str) -> str:
    """A `--upstream` that names one: a blank one is a mistake, not the configured upstream."""
    if not value.strip():
        raise argparse.ArgumentTypeError("bad --upstream: give HOST:PORT or maildir:FOLDER")
    return value


def add_quarantine_parser(commands: Any) -> argparse.ArgumentParser:
    """Register `quarantine` on the `tth-gateway` sub-command set (`add_subparsers()`)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="settings file (default config/gateway.yaml)")
    quarantine: argparse.ArgumentParser = commands.add_parser(
        "quarantine", help="held messages: list, show, release, delete, purge, migrate, digest",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = quarantine.add_subparsers(dest="quarantine_command", required=True)
    add_listing_parsers(actions, common)
    release = actions.add_parser("release", parents=[common],
                                 help="relay the message to its recipients (or some of them)")
    release.add_argument("id")
    release.add_argument("--by", type=_person,
                         help="who releases (default: you; another name: root only)")
    release.add_argument("--reason", default="", help="why (recorded and audited)")
    release.add_argument("--rcpt", action="append", default=[],
                         help="release only to this recipient (repeat; not for classified)")
    release.add_argument("--upstream", type=_upstream,
                         help="HOST:PORT or maildir:FOLDER instead of the config")
    delete = actions.add_parser("delete", parents=[common], help="destroy the held message")
    delete.add_argument("id")
    delete.add_argument("--by", type=_person,
                        help="who deletes (default: you; another name: root only)")
    delete.add_argument("--reason", default="", help="why (recorded and audited)")
    add_lifecycle_parsers(actions, common)
    quarantine.set_defaults(handler=run_quarantine)
    return quarantine


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    return load_settings(path)


def _release(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    upstream_settings = settings.upstream
    if args.upstream is not None:
        upstream_settings = upstream_settings.with_address(args.upstream)
    hostname = settings.server.hostname or socket.getfqdn()
    by = acting_user(args.by)
    officers = settings.quarantine.officers
    officer = not officers or by in officers
    signer = signer_from_settings(settings)
    sign = partial(release_signature, signer) if signer is not None else None

    async def run() -> HeldMetadata:
        upstream = upstream_for(upstream_settings, hostname)
        try:
            return await release_held(store, args.id, upstream, by=by, officer=officer,
                                      reason=args.reason, recipients=tuple(args.rcpt),
                                      namespace=settings.server.own_headers.namespace(),
                                      sign=sign)
        finally:
            await upstream.close()

    try:
        metadata = asyncio.run(run())
    except DeliveredNotRecorded as exc:
        return _not_recorded(settings, exc, by, args.reason)
    release = metadata.release
    assert release is not None
    audit_event(settings.audit.path, "release", metadata.id, by, reason=args.reason,
                recipients=list(release.recipients), refused=list(release.refused),
                upstream_reply=release.upstream_reply, status=metadata.status.value,
                classification=metadata.decision.classification)
    print(f"released {metadata.id} to {', '.join(release.recipients)}: "
          f"{release.upstream_reply}")
    for item in release.refused:
        print(f"not accepted: {item}", file=sys.stderr)
    return EXIT_OK


def _not_recorded(settings: Settings, failure: DeliveredNotRecorded, by: str,
                  reason: str) -> int:
    """Say that the message went out though its record still says held (first: the one
    acting learns it even if the audit log fails), and audit the release all the same."""
    _fail(EXIT_NOT_RECORDED, str(failure))
    metadata, result = failure.metadata, failure.result
    audit_event(settings.audit.path, "release", metadata.id, by, reason=reason,
                recipients=list(result.accepted), refused=list(result.refused),
                upstream_reply=result.reply.render(), status=metadata.status.value,
                classification=metadata.decision.classification, recorded=False,
                error=str(failure.__cause__))
    return EXIT_NOT_RECORDED


def _delete(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    by = acting_user(args.by)
    with store.locked(args.id) as handle:
        metadata = handle.delete(by, datetime.now(UTC), reason=args.reason)
    audit_event(settings.audit.path, "delete", metadata.id, by, reason=args.reason,
                classification=metadata.decision.classification)
    print(f"deleted {metadata.id}")
    return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = open_store(settings.quarantine)
    try:
        command = args.quarantine_command
        if command == "release":
            return _release(store, settings, args)
        if command == "delete":
            return _delete(store, settings, args)
        if command in ("list", "show"):
            return run_listing(store, args)
        return run_lifecycle(store, settings, args)
    finally:
        store.close()


def _fail(code: int, message: str) -> int:
    print(f"tth-gateway quarantine: {message}", file=sys.stderr)
    return code


_FAILURES: tuple[tuple[type[Exception], int], ...] = (
    (InvalidHeldId, EXIT_USAGE),
    (SealError, EXIT_USAGE),
    (HeldNotFound, EXIT_NOT_FOUND),
    (HeldBusy, EXIT_TEMPFAIL),
    (NotAllowed, EXIT_NOPERM),
    (StoreNotWritable, EXIT_NOPERM),
    (HeldStateError, EXIT_USAGE),
    (StoreUnavailable, EXIT_TEMPFAIL),
    (QuarantineError, EXIT_NOT_FOUND),
    (OSError, EXIT_USAGE),
)


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
    except ReleaseFailed as exc:
        return _fail(EXIT_TEMPFAIL if exc.temporary else EXIT_UNAVAILABLE, str(exc))
    except Exception as exc:
        for kind, code in _FAILURES:
            if isinstance(exc, kind):
                return _fail(code, str(exc))
        raise
