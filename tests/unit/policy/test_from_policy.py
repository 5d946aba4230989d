"""The default policy on From fields as parsed from real header bytes (issue 10 item 1,
issue 8 item 4): the display-name rule sees what the mail client shows."""

from __future__ import annotations

from email import base64mime

import pytest

from gateway.analysis.headers import read_headers
from gateway.analysis.parsing import parse
from gateway.policy.engine import direction_of, evaluate_transaction
from gateway.policy.loader import Policy, load_policy
from tests.support.builders import OUTSIDE_IP, POLICIES, analysis, envelope

NAME = "UBND tỉnh Thừa Thiên Huế".encode()
CUT = len("UBND tỉnh Thừa Thiên Hu".encode()) + 1  # inside the UTF-8 bytes of "ế"


def split_name(separator: str) -> str:
    return separator.join(base64mime.header_encode(chunk, "utf-8")
                          for chunk in (NAME[:CUT], NAME[CUT:]))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICIES)


@pytest.mark.parametrize(
    "from_field",
    [f"{split_name(' ')} <ubnd.tinh.tth@gmail.com>",
     f"{split_name(chr(13) + chr(10) + ' ')} <ubnd.tinh.tth@gmail.com>",
     "=?utf-8?q?UBND_t=E1=BB=89nh_Th=E1=BB=ABa_Thi=C3=AAn_Hu?= =?utf-8?q?=E1=BA=BF?= "
     "<ubnd.tinh.tth@gmail.com>",
     "vanthu@thuathienhue.gov.vn <ubnd.tinh.tth@gmail.com>"],
    ids=["split-inside-character", "split-folded", "split-q", "unquoted-address-name"],
)
def test_display_name_spoofing_is_refused_however_the_name_is_encoded(
    policy: Policy, from_field: str
) -> None:
    raw = f"From: {from_field}\r\nTo: vanthu@sotttt.thuathienhue.gov.vn\r\nSubject: x\r\n\r\nb"
    headers = read_headers(parse(raw.encode()))
    env = envelope("ubnd.tinh.tth@gmail.com", ("vanthu@sotttt.thuathienhue.gov.vn",), OUTSIDE_IP)
    value = analysis(env, direction_of(policy, env)).with_headers(headers)
    verdict = evaluate_transaction(policy, *value)
    assert verdict.deciding_rule is not None
    assert verdict.deciding_rule.name == "display-name-spoofing"
