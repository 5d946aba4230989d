"""`quarantine list` (search by sender, recipient, rule, classification, date) and `show`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from gateway.analysis.model import Classification
from gateway.quarantine.heldmeta import HeldMetadata, HoldStatus, metadata_dict
from gateway.quarantine.interface import Search, Store


def moment(text: str) -> datetime:
    """A date (`2026-12-01`, UTC midnight) or an ISO 8601 time (UTC when no offset)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD[THH:MM])") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_listing_parsers(actions: Any, common: argparse.ArgumentParser) -> None:
    listing = actions.add_parser("list", parents=[common], help="search held messages")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    listing.add_argument("--status", choices=[s.value for s in HoldStatus],
                         help="only records in this state")
    listing.add_argument("--sender", help="envelope sender (any case)")
    listing.add_argument("--rcpt", help="one of the envelope recipients (any case)")
    listing.add_argument("--rule", help="a rule that fired")
    listing.add_argument("--classification", choices=[level.value for level in Classification],
                         help="mat | toi_mat | tuyet_mat")
    listing.add_argument("--since", type=moment, help="received at or after (UTC)")
    listing.add_argument("--until", type=moment, help="received before (UTC)")
    show = actions.add_parser("show", parents=[common], help="what is known about one message")
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="the metadata as JSON")
    show.add_argument("--body", action="store_true",
                      help="print the held message itself (raw), even when classified")


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


def search_of(args: argparse.Namespace) -> Search:
    return Search(
        status=HoldStatus(args.status) if args.status else None,
        sender=args.sender, recipient=args.rcpt, rule=args.rule,
        classification=args.classification, since=args.since, until=args.until,
    )


def _list(store: Store, args: argparse.Namespace) -> int:
    records = store.find(search_of(args))
    if args.json:
        _print_json([metadata_dict(m) for m in records])
        return 0
    print("\t".join(["ID", "STATUS", "RECEIVED", "CLASSIFICATION", "FROM", "RULES"]))
    for metadata in records:
        print(_summary_line(metadata))
    return 0


def describe(metadata: HeldMetadata) -> list[str]:
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
    for release in metadata.releases or ((metadata.release,) if metadata.release else ()):
        why = f" ({release.reason})" if release.reason else ""
        lines.append(f"released:       {release.at} by {release.by}{why} to "
                     f"{', '.join(release.recipients) or '-'}: {release.upstream_reply}")
        lines += [f"  not accepted: {item}" for item in release.refused]
    if metadata.deletion is not None:
        why = f" ({metadata.deletion.reason})" if metadata.deletion.reason else ""
        lines.append(f"deleted:        {metadata.deletion.at} by {metadata.deletion.by}{why}")
    return lines


def _show(store: Store, args: argparse.Namespace) -> int:
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
        return 0
    if args.json:
        _print_json(metadata_dict(metadata))
    else:
        print("\n".join(describe(metadata)))
    return 0


def run_listing(store: Store, args: argparse.Namespace) -> int:
    return _list(store, args) if args.quarantine_command == "list" else _show(store, args)
