"""Notices after crashes: hold a classified message, kill -9 the gateway at once, repeat.

    python bench/notice_crash.py [--count 60] [--source DIR]

Each round starts `tth-gateway serve` (the default policies, a real upstream
sink on loopback), sends one classified message from outside (held: 250 with a
reference) and kills the gateway's whole process group with SIGKILL the moment
the 250 arrives. After the last round the gateway is started once more for
`--settle` seconds. Printed: how many held messages got both their notices
(sender and security officer). `--source DIR` runs another copy of the code
(e.g. `git archive` of an older commit unpacked in DIR) for a before/after.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email import message_from_bytes
from email.policy import default
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.sink import Sink, free_port  # noqa: E402

SENDER = "nguoidan@example.org"
RECIPIENT = "vanthu@thuathienhue.gov.vn"
#: The default policy's security officer (policies/settings.yaml).
OFFICER = "baomat@thuathienhue.gov.vn"
MESSAGE = (
    f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: [TỐI MẬT] Kế hoạch\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nPhương án số 7731\r\n"
).encode()


def config(folder: Path, upstream: str, port: int, source: Path) -> Path:
    """The gateway's settings; quick notice retries when that code has them, and the
    officer in the settings when that code still reads it there (before issue 9 the
    config's notices.security_officer; now the policy's settings.security_officer)."""
    code = (source / "gateway" / "config.py").read_text()
    notices: dict[str, object] = {}
    if "security_officer: str" in code:
        notices["security_officer"] = OFFICER
    if "retry_initial" in code:
        notices |= {"retry_initial": 0.5, "retry_max": 2, "poll_interval": 0.5}
    path = folder / "gateway.json"
    path.write_text(json.dumps({
        "server": {"listen": [f"127.0.0.1:{port}"], "hostname": "gw.bench"},
        "upstream": {"address": upstream, "starttls": "off", "connect_timeout": 2},
        "metrics": {"listen": None},
        "audit": {"path": str(folder / "audit.jsonl")},
        "policies": str(ROOT / "policies"),
        "quarantine": {"path": str(folder / "q")},
        "notices": notices,
        "analysis": {"workers": 1},
    }))
    return path


def start(path: Path, port: int, source: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from gateway.cli.main import main; sys.exit(main())",
         "serve", "--config", str(path)],
        env=env, cwd=path.parent, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
            probe.noop()
            return process
        time.sleep(0.05)
    kill(process)
    raise RuntimeError("the gateway did not start")


def kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def hold_once(port: int) -> str | None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
        client.ehlo("client.bench")
        client.mail(SENDER, ["SMTPUTF8", "BODY=8BITMIME"])
        client.rcpt(RECIPIENT)
        code, text = client.data(MESSAGE)
    words = text.decode(errors="replace").split()
    return next((w.strip("().,;") for w in words if "Z-" in w), None) if code == 250 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--source", type=Path, default=ROOT)
    args = parser.parse_args()
    sink = Sink()
    sink.start()
    try:
        with tempfile.TemporaryDirectory(prefix="tth-crash-") as folder:
            port = free_port()
            path = config(Path(folder), sink.address, port, args.source)
            held: list[str] = []
            for _ in range(args.count):
                process = start(path, port, args.source)
                try:
                    reference = hold_once(port)
                finally:
                    kill(process)
                if reference:
                    held.append(reference)
            process = start(path, port, args.source)
            time.sleep(args.settle)
            kill(process)
    finally:
        sink.stop()
    notices = Counter(str(message_from_bytes(m.content, policy=default)["X-TTH-Notice"])
                      for m in sink.messages)
    complete = sum(1 for reference in held if notices[reference] >= 2)
    print(f"source {args.source}: {len(held)} held, {complete} with both notices, "
          f"{len(held) - complete} missing at least one; "
          f"{sum(notices.values())} notices for {2 * len(held)} expected")


if __name__ == "__main__":
    main()
