"""`tth-gateway quarantine …` as a separate process, releasing to a real SMTP upstream."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.keygen import generate
from gateway.auth.results import Result
from gateway.auth.signing import public_record
from gateway.auth.verify import verify_dkim
from gateway.mail.envelope import Direction
from gateway.quarantine.heldmeta import HoldStatus, hold_request
from gateway.quarantine.local import QuarantineStore
from tests.support.dnsserver import DnsServer
from tests.support.samples import (
    ENVELOPE,
    MESSAGE,
    SECRET_TEXT,
    classified_analysis,
    quarantine_verdict,
)
from tests.support.sink import Sink, free_port

COMMAND = Path(sys.executable).parent / "tth-gateway"
KEY = bytes(range(32))


def write_config(tmp_path: Path, upstream: str) -> Path:
    key = tmp_path / "quarantine.key"
    key.write_text(base64.b64encode(KEY).decode())
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f'upstream:\n  address: "{upstream}"\n  starttls: "off"\n  connect_timeout: 2\n'
        f"quarantine:\n  path: {tmp_path / 'q'}\n  encryption_key_file: {key}\n",
        "utf-8",
    )
    return path


def held(tmp_path: Path) -> tuple[QuarantineStore, str]:
    store = QuarantineStore(tmp_path / "q", KEY)
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis())
    return store, store.hold(MESSAGE, request)


def quarantine(config: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(COMMAND), "quarantine", *argv, "--config", str(config)],
        capture_output=True, timeout=60, check=False, cwd=config.parent,
    )


def test_list_show_and_release_through_the_command(sink: Sink, tmp_path: Path) -> None:
    config = write_config(tmp_path, sink.address)
    store, held_id = held(tmp_path)

    listed = quarantine(config, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [held_id]

    shown = quarantine(config, "show", held_id)
    assert shown.returncode == 0, shown.stderr
    assert b"classification: toi_mat" in shown.stdout
    assert SECRET_TEXT.encode() not in shown.stdout

    body = quarantine(config, "show", held_id, "--body")
    assert (body.returncode, body.stdout) == (0, MESSAGE)
    assert b"warning" in body.stderr

    released = quarantine(config, "release", held_id, "--by", "alice")
    assert released.returncode == 0, released.stderr
    assert f"released {held_id}".encode() in released.stdout
    assert len(sink.messages) == 1
    got = sink.messages[0]
    assert (got.mail_from, got.rcpt_tos) == (ENVELOPE.mail_from, list(ENVELOPE.rcpt_tos))
    assert got.content.startswith(f"X-TTH-Released: {held_id}; by=alice; ".encode())
    assert got.content.endswith(b"\r\n" + MESSAGE)

    metadata = store.get(held_id)
    assert metadata.status is HoldStatus.RELEASED
    assert metadata.release is not None and metadata.release.by == "alice"
    assert metadata.release.upstream_reply.startswith("250 ")

    again = quarantine(config, "release", held_id)
    assert again.returncode == 2
    assert b"released, not held" in again.stderr
    assert len(sink.messages) == 1


def test_exit_codes_of_the_command(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"127.0.0.1:{free_port()}")
    store, held_id = held(tmp_path)
    down = quarantine(config, "release", held_id)
    assert down.returncode == 75, down.stderr
    assert store.get(held_id).status is HoldStatus.HELD
    missing = quarantine(config, "show", "20261125T090035Z-0123456789abcdef0123")
    assert missing.returncode == 1
    bad = quarantine(config, "delete", "../q/x")
    assert bad.returncode == 2
    assert b"not a quarantine id" in bad.stderr
    deleted = quarantine(config, "delete", held_id, "--by", "carol")
    assert deleted.returncode == 0
    assert store.get(held_id).status is HoldStatus.DELETED



def test_a_damaged_record_is_left_out_by_name_and_the_others_listed(
        sink: Sink, tmp_path: Path) -> None:
    config = write_config(tmp_path, sink.address)
    _, good = held(tmp_path)
    _, damaged = held(tmp_path)
    (tmp_path / "q" / f"{damaged}.json").write_bytes(b"\x00 not json")
    for command in (["list", "--json"], ["purge"]):
        done = quarantine(config, *command)
        assert done.returncode == 0, (command, done.stderr)
        assert f"{damaged}.json is not quarantine metadata".encode() in done.stderr
        assert b"; left out" in done.stderr and b"Traceback" not in done.stderr
    listed = quarantine(config, "list", "--json")
    assert [record["id"] for record in json.loads(listed.stdout)] == [good]


def test_a_quarantine_folder_that_cannot_be_listed_is_an_error_not_an_empty_quarantine(
        sink: Sink, tmp_path: Path) -> None:
    config = write_config(tmp_path, sink.address)
    (tmp_path / "q").write_text("a file, not a folder")
    for command in (["list"], ["purge"]):
        done = quarantine(config, *command)
        assert done.returncode != 0, (command, done.stdout)
        assert b"quarantine folder" in done.stderr and b"Traceback" not in done.stderr
    (tmp_path / "q").unlink()
    nothing = quarantine(config, "list", "--json")  # no folder yet: nothing was held
    assert (nothing.returncode, json.loads(nothing.stdout)) == (0, [])


def test_list_and_release_refuse_values_they_cannot_use(sink: Sink, tmp_path: Path) -> None:
    """An unknown degree would list nothing, silently; a blank name would be audited."""
    config = write_config(tmp_path, sink.address)
    _, held_id = held(tmp_path)
    listed = quarantine(config, "list", "--classification", "nope")
    assert listed.returncode == 2 and b"invalid choice: 'nope'" in listed.stderr
    for blank in ("", "  ", "a\nb"):
        released = quarantine(config, "release", held_id, "--by", blank)
        assert released.returncode == 2 and b"name the person who acts" in released.stderr
    nowhere = quarantine(config, "release", held_id, "--upstream", "")  # not the configured one
    assert nowhere.returncode == 2 and b"bad --upstream" in nowhere.stderr, nowhere.stderr
    assert sink.messages == []


@pytest.mark.parametrize("direction", [Direction.OUTBOUND, Direction.INBOUND])
def test_a_release_signs_mail_from_inside(sink: Sink, tmp_path: Path,
                                          direction: Direction) -> None:
    """A held message from inside leaves signed with the From domain's DKIM key, as on the
    relay path (partners enforce the official domains' DMARC p=reject); mail from outside
    is not signed in the official domain's name."""
    key = generate("thuathienhue.gov.vn", "s1", "rsa", tmp_path)
    config = write_config(tmp_path, sink.address)
    config.write_text(config.read_text("utf-8") + "dkim:\n  signing:\n    - {domain: "
                      f"thuathienhue.gov.vn, selector: s1, key: {key.path}}}\n", "utf-8")
    store = QuarantineStore(tmp_path / "q", KEY)
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis(),
                           direction=direction)
    held_id = store.hold(MESSAGE, request)
    released = quarantine(config, "release", held_id, "--by", "alice")
    assert released.returncode == 0, released.stderr
    got = sink.messages[-1].content
    assert got.endswith(b"\r\n" + MESSAGE)
    zone = DnsServer()
    name, _, value = public_record(key).partition(". IN TXT ")
    zone.add(name, "TXT", value)
    with zone.running():
        dns = DnsClient(DnsSettingsValue(((zone.host, zone.port),), 1.0, 3.0), DnsCache())
        results = [(r.domain, r.result) for r in verify_dkim(got, dns)]
    signed = direction is Direction.OUTBOUND
    assert got.startswith(b"DKIM-Signature: ") is signed
    if signed:
        assert results == [("thuathienhue.gov.vn", Result.PASS)]


def test_a_held_message_that_cannot_be_signed_is_not_released(sink: Sink,
                                                              tmp_path: Path) -> None:
    """A header line the DKIM signer cannot read (holding does not sign, so such a message
    can be held): the release says why and exits 69, nothing is sent, it stays held; it
    was a traceback."""
    key = generate("thuathienhue.gov.vn", "s1", "rsa", tmp_path)
    config = write_config(tmp_path, sink.address)
    config.write_text(config.read_text("utf-8") + "dkim:\n  signing:\n    - {domain: "
                      f"thuathienhue.gov.vn, selector: s1, key: {key.path}}}\n", "utf-8")
    store = QuarantineStore(tmp_path / "q", KEY)
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis(),
                           direction=Direction.OUTBOUND)
    broken = MESSAGE.replace(b"\r\n\r\n", b"\r\nThis line has no colon\r\n\r\n", 1)
    held_id = store.hold(broken, request)
    released = quarantine(config, "release", held_id, "--by", "alice")
    assert released.returncode == 69, released.stderr
    assert b"cannot be DKIM-signed" in released.stderr and b"Traceback" not in released.stderr
    assert sink.messages == []
    listed = quarantine(config, "list", "--json")
    assert [item["id"] for item in json.loads(listed.stdout)] == [held_id]
