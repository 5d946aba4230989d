"""Stamps in the descriptive header fields of MIME parts (issue 10 item 15)."""

from __future__ import annotations

import pytest

from gateway.analysis.model import Classification
from tests.fixtures.documents import Attachment, forwarded, message, to_bytes
from tests.support.analysing import Analyser

MAT, TOI, TUYET = Classification.MAT, Classification.TOI_MAT, Classification.TUYET_MAT


def with_part_header(name: str, value: str) -> bytes:
    msg = message(attachments=[Attachment("bao_cao.txt", "Nội dung báo cáo".encode(),
                                          "text/plain")])
    attachment = next(part for part in msg.iter_attachments())
    attachment[name] = value
    return to_bytes(msg)


@pytest.mark.parametrize(
    ("name", "value", "level"),
    [
        ("Content-Description", "[MẬT] Báo cáo an ninh", MAT),
        ("Content-Description", "Tối mật", TOI),
        ("Content-Description", "=?utf-8?q?TUY=E1=BB=86T_M=E1=BA=ACT?=", TUYET),
        ("Content-Description", "=?utf-8?b?W03huqw=?= =?utf-8?b?VF0gQsOhbyBjw6Fv?=", MAT),
        ("Comments", "(TỐI MẬT) Bản số 2", TOI),
        ("Keywords", "MẬT, an ninh, báo cáo", MAT),
        ("Content-Description", "M\u200bẬT", MAT),
        ("Content-Description", "Mật khẩu wifi phòng họp", None),
        ("Content-Description", "Báo cáo mật độ dân số", None),
        ("Keywords", "bảo mật, an toàn thông tin", None),
    ],
)
def test_part_descriptions_are_searched(
    analysed: Analyser, name: str, value: str, level: Classification | None
) -> None:
    analysis = analysed(with_part_header(name, value))
    assert analysis.classification == level, analysis.markings
    if level is not None:
        assert any(name.lower() in m.where for m in analysis.markings)


def test_message_keywords_and_nested_subject(analysed: Analyser) -> None:
    top = message(headers={"Keywords": "TUYỆT MẬT"})
    assert analysed(to_bytes(top)).classification == TUYET
    inner = message(subject="(Tối mật) Phương án")
    assert analysed(to_bytes(forwarded(inner))).classification == TOI
