"""`quarantine purge`, `quarantine migrate` and `quarantine digest`."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.config import Settings
from gateway.outbound.delivery import deliver_via
from gateway.outbound.upstreams import upstream_for
from gateway.policy.loader import PolicyError, load_policy
from gateway.quarantine.digest import build_digest
from gateway.quarantine.interface import Search, Store
from gateway.quarantine.lifecycle import purge
from gateway.quarantine.listing import moment
from gateway.quarantine.notices import outgoing

EXIT_TEMPFAIL = 75


def add_lifecycle_parsers(actions: Any, common: argparse.ArgumentParser) -> None:
    actions.add_parser("purge", parents=[common],
                       help="apply quarantine.retention now (the gateway also does it hourly)")
    actions.add_parser("migrate", parents=[common],
                       help="bring the PostgreSQL schema up to date (gateways also do at start)")
    digest = actions.add_parser("digest", parents=[common],
                                help="send the security officer the digest of recent holds")
    digest.add_argument("--since", type=moment, help="from (default: 24 hours before --until)")
    digest.add_argument("--until", type=moment, help="to (default: now)")
    digest.add_argument("--print", action="store_true", help="print it instead of sending it")


def _digest(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    until = args.until or datetime.now(UTC)
    since = args.since or until - timedelta(days=1)
    try:  # the officer's one place: the policy the gateway reads
        officer = load_policy(settings.policies).settings.security_officer
    except PolicyError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        print(f"tth-gateway quarantine: the policy in {settings.policies} does not load; "
              "its settings.security_officer is the digest's recipient", file=sys.stderr)
        return 2
    if officer is None and not args.print:
        print(f"tth-gateway quarantine: the policy in {settings.policies} names no security "
              "officer (settings.security_officer), to whom the digest goes", file=sys.stderr)
        return 2
    records = store.find(Search(since=since, until=until))
    message = build_digest(records, since, until, settings.notices, officer or "officer@invalid")
    if args.print:
        sys.stdout.write(message.as_string())
        return 0
    notice = outgoing(message)
    hostname = settings.server.hostname or socket.getfqdn()

    async def send() -> bool:
        upstream = upstream_for(settings.upstream, hostname)
        try:
            result = await deliver_via(upstream, "", notice.recipients, notice.data)
        finally:
            await upstream.close()
        return result.delivered

    if not asyncio.run(send()):
        print("tth-gateway quarantine: the upstream did not take the digest", file=sys.stderr)
        return EXIT_TEMPFAIL
    print(f"digest of {len(records)} hold(s) sent to {officer}")
    return 0


def run_lifecycle(store: Store, settings: Settings, args: argparse.Namespace) -> int:
    command = args.quarantine_command
    if command == "purge":
        done = purge(store, settings)
        print(f"purged {len(done)} record(s)")
        return 0
    if command == "migrate":
        migrate = getattr(store, "migrate", None)
        if migrate is None:
            print("the local folder store has no schema to migrate")
            return 0
        applied = migrate()
        print(f"applied migrations {applied}" if applied else "schema up to date")
        return 0
    return _digest(store, settings, args)
