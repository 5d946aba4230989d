"""`tth-gateway check` refuses at DATA what the live gateway refuses there, before any policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.documents import cp1258
from tests.support.dnsserver import shared_dns

ROOT = Path(__file__).resolve().parents[2]


def check(message: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check", str(message),
         "--policies", str(ROOT / "policies"), "--json", "--dns", shared_dns(), *flags],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )


def test_raw_8bit_header_is_refused_at_data_as_live_when_configured(tmp_path: Path) -> None:
    message = tmp_path / "raw.eml"
    message.write_bytes("From: a@gmail.com\nTo: b@hue.gov.vn\nSubject: Giấy mời\n\nx\n"
                        .encode())
    config = tmp_path / "gateway.yaml"
    config.write_text("server:\n  eight_bit_headers: reject\n")
    result = check(message, "--config", str(config))
    assert result.returncode == 6, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["action"], verdict["data_problem"]) == ("reject", "eight_bit_header")


def test_raw_8bit_classified_subject_is_analysed_by_default(tmp_path: Path) -> None:
    message = tmp_path / "raw.eml"
    message.write_bytes(b"From: a@gmail.com\nTo: vanthu@thuathienhue.gov.vn\nSubject: "
                        + cp1258("[TỐI MẬT] Kế hoạch") + b"\n\nx\n")
    result = check(message, "--client-ip", "203.0.113.5")
    verdict = json.loads(result.stdout)
    assert verdict["data_problem"] is None, verdict
    assert (verdict["action"], verdict["classification"]) == ("quarantine", "toi_mat")


def test_a_file_without_final_newline_is_checked(tmp_path: Path) -> None:
    message = tmp_path / "plain.eml"
    message.write_bytes(b"From: a@gmail.com\nTo: b@hue.gov.vn\nSubject: hi\n\nno newline")
    result = check(message, "--client-ip", "203.0.113.5")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["action"], verdict["direction"]) == ("accept", "inbound")
    assert verdict["data_problem"] is None


def _deep(depth: int) -> bytes:
    body = "".join(f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n'
                   for n in range(depth))
    body += "Content-Type: text/plain\r\n\r\nx\r\n"
    body += "".join(f"--b{n}--\r\n" for n in reversed(range(depth)))
    return (f"From: a@x.vn\r\nTo: b@thuathienhue.gov.vn\r\nSubject: deep\r\n"
            f"MIME-Version: 1.0\r\n{body}").encode()


def test_a_mime_tree_too_deep_to_parse_is_a_verdict_not_a_crash(tmp_path: Path) -> None:
    """The envelope comes from the header section alone; the analysis calls the tree
    uninspectable (2000 nested multiparts went past the parser's recursion before)."""
    message = tmp_path / "deep.eml"
    message.write_bytes(_deep(2000))
    done = check(message, "--json")
    assert "Traceback" not in done.stderr, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["envelope"]["mail_from"] == "a@x.vn"
    assert any("nested too deeply" in (document.get("uninspectable") or "")
               for document in verdict["documents"]), verdict["documents"]


def test_a_client_ip_that_is_no_address_is_a_usage_error(tmp_path: Path) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(b"From: a@x.vn\r\nTo: b@thuathienhue.gov.vn\r\n\r\nbody\r\n")
    for wrong in ("999.1.1.1", "::zz", "10.0.0.1/8", "abc", ""):
        done = check(message, "--client-ip", wrong)
        assert done.returncode == 2, (wrong, done.stderr)
        assert "is not an IPv4 or IPv6 address" in done.stderr
    assert check(message, "--client-ip", "2001:db8::1").returncode != 2


def test_a_trust_store_that_cannot_be_read_exits_2_as_serve_does(tmp_path: Path) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(b"From: a@x.vn\r\nTo: b@thuathienhue.gov.vn\r\n\r\nbody\r\n")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate\n")
    for flags in (["--trust-anchors", str(tmp_path / "nope.pem")],
                  ["--trust-anchors", str(garbage)], ["--crls", str(garbage)]):
        done = check(message, *flags)
        assert done.returncode == 2, (flags, done.stdout, done.stderr)
        assert "tth-gateway: trust store:" in done.stderr and "Traceback" not in done.stderr


def test_envelope_addresses_a_client_could_not_send_are_usage_errors(tmp_path: Path) -> None:
    message = tmp_path / "m.eml"
    message.write_bytes(b"From: a@x.vn\r\nTo: b@thuathienhue.gov.vn\r\n\r\nbody\r\n")
    for flags in (["--mail-from", "a@x.vn\r\nRCPT TO:<c@x.vn>"], ["--mail-from", "a b@x.vn"],
                  ["--rcpt", ""], ["--rcpt", "b@x.vn\x07"]):
        done = check(message, *flags)
        assert done.returncode == 2, (flags, done.stderr)
        assert "is not an envelope address" in done.stderr
    assert check(message, "--mail-from", "").returncode != 2  # the null sender


def test_the_message_may_come_on_standard_input(tmp_path: Path) -> None:
    message = b"From: a@x.vn\r\nTo: b@thuathienhue.gov.vn\r\nSubject: t\r\n\r\nbody\r\n"
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check", "-", "--policies", str(ROOT / "policies"),
         "--json", "--dns", shared_dns()],
        input=message.decode(), capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode in (0, 1, 3, 4, 5, 6), done.stderr
    assert json.loads(done.stdout)["envelope"]["mail_from"] == "a@x.vn"
