"""`check --json` gives the whole verdict whichever stage decided (issue 10, item 9): a
refusal at MAIL or RCPT still reports direction, classification, documents and rules, with
the same keys as a refusal or an acceptance after DATA, and names the stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.checking import CHECK_KEYS
from gateway.deciding.report import VERDICT_KEYS
from tests.fixtures.documents import Attachment, message, official_pdf, to_bytes

ROOT = Path(__file__).resolve().parents[2]
INSIDE = "10.1.2.3"
OUTSIDE = "203.0.113.5"
OFFICIAL = "vanthu@sotttt.thuathienhue.gov.vn"
INVITATION = Attachment("giay-moi.pdf", official_pdf())


def check(tmp_path: Path, raw: bytes, *flags: str) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "message.eml"
    path.write_bytes(raw)
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check", str(path),
         "--policies", str(ROOT / "policies"), "--json", *flags],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode != 2, result.stderr
    return result.returncode, json.loads(result.stdout)


CASES = {
    # a freemail envelope sender from an agency network: refused at MAIL
    "mail": (to_bytes(message(sender="canbo@gmail.com", to="b@hue.gov.vn",
                              attachments=[INVITATION])),
             ("--client-ip", INSIDE, "--mail-from", "canbo@gmail.com"), "reject", 6),
    # the only recipient imitates the official domain: refused at RCPT
    "rcpt": (to_bytes(message(sender=OFFICIAL, to="b@thuathlenhue.gov.vn",
                              attachments=[INVITATION])),
             ("--client-ip", INSIDE), "reject", 6),
    # an official document to a public mailbox: refused after DATA
    "data": (to_bytes(message(sender=OFFICIAL, to="canhan@gmail.com",
                              attachments=[INVITATION])),
             ("--client-ip", INSIDE), "reject", 6),
    # classified: held after DATA
    "held": (to_bytes(message(sender=OFFICIAL, to="b@hue.gov.vn", subject="MẬT: kế hoạch")),
             ("--client-ip", INSIDE), "quarantine", 4),
    # a citizen's letter: accepted
    "accept": (to_bytes(message(sender="dan@gmail.com", to=OFFICIAL)),
               ("--client-ip", OUTSIDE), "accept", 0),
    # a line over 998 characters: refused by the DATA reader before any policy
    "data-problem": (b"From: dan@gmail.com\nTo: " + OFFICIAL.encode() + b"\nSubject: x\n\n"
                     + b"x" * 2000 + b"\n", ("--client-ip", OUTSIDE), "reject", 6),
}
STAGES = {"mail": "mail", "rcpt": "rcpt", "data": "data", "held": "data", "accept": "data",
          "data-problem": "data"}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, Any]]]:
    return {name: check(tmp_path_factory.mktemp(name), raw, *flags)
            for name, (raw, flags, _, _) in CASES.items()}


def test_every_verdict_has_exactly_the_same_keys(
    verdicts: dict[str, tuple[int, dict[str, Any]]]
) -> None:
    expected = [*VERDICT_KEYS, *CHECK_KEYS]
    for name, (_, body) in verdicts.items():
        assert list(body) == expected, name
        assert body["stage"] == STAGES[name], name


@pytest.mark.parametrize("name", list(CASES))
def test_action_and_exit_code(verdicts: dict[str, tuple[int, dict[str, Any]]],
                              name: str) -> None:
    code, body = verdicts[name]
    _, _, action, exit_code = CASES[name]
    assert (body["action"], code) == (action, exit_code)


@pytest.mark.parametrize("name", ["mail", "rcpt"])
def test_an_envelope_refusal_still_reports_the_analysis(
    verdicts: dict[str, tuple[int, dict[str, Any]]], name: str
) -> None:
    _, body = verdicts[name]
    assert body["direction"] == ("internal" if name == "mail" else "outbound")
    assert body["classification"] is None
    named = [(d["filename"], d["doc_type"], d["official_number"]) for d in body["documents"]
             if d["filename"]]
    assert named == [("giay-moi.pdf", "giay_moi", "12/GM-UBND")]
    assert body["documents"][1]["signature"]["status"] == "missing"
    deciding = "inside-sender-not-official" if name == "mail" else "lookalike-recipient"
    assert [rule["name"] for rule in body["rules"]] == [deciding]


def test_a_refusal_before_data_still_reports_a_classification(tmp_path: Path) -> None:
    raw = to_bytes(message(sender="canbo@gmail.com", to="b@hue.gov.vn", subject="MẬT"))
    code, body = check(tmp_path, raw, "--client-ip", INSIDE)
    assert (code, body["stage"], body["classification"]) == (6, "mail", "mat")
    assert body["markings"] and body["markings"][0]["where"] == "subject"


def test_a_data_problem_reports_no_analysis_but_every_key(
    verdicts: dict[str, tuple[int, dict[str, Any]]]
) -> None:
    _, body = verdicts["data-problem"]
    assert body["data_problem"] == "line_too_long"
    assert (body["direction"], body["documents"], body["failure"]) == (None, [], None)
