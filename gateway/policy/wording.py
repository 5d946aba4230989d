"""How conditions say what they found, in Vietnamese and in English.

Every condition reports its evidence as an `Evidence` value with both
languages: the Vietnamese refusal and notice templates get the Vietnamese
text, the English ones the English text. Values that come from the message
(addresses, file names, stamps, numbers, header fields) are quoted as they
are; what the gateway itself says (levels, statuses, places, the kind of a
problem) is worded in each language here, never passed through in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.analysis.model import Document


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a condition found, in Vietnamese (`vi`) and English (`en`)."""

    vi: str = ""
    en: str = ""

    def __bool__(self) -> bool:
        return bool(self.vi or self.en)


def joined(parts: Iterable[Evidence], separator: str = "; ") -> Evidence:
    """The parts joined, language by language."""
    items = [part for part in parts if part]
    return Evidence(separator.join(p.vi for p in items), separator.join(p.en for p in items))


LEVEL_VI = {"mat": "Mật", "toi_mat": "Tối mật", "tuyet_mat": "Tuyệt mật"}
DIRECTION_VI = {
    "inbound": "thư từ bên ngoài gửi vào",
    "outbound": "thư của cơ quan gửi ra ngoài",
    "internal": "thư nội bộ giữa các cơ quan",
}
STATUS_VI = {
    "valid": "chữ ký số hợp lệ",
    "missing": "chưa ký số",
    "invalid": "chữ ký số không hợp lệ (nội dung đã bị thay đổi)",
    "modified": "văn bản bị sửa sau khi ký",
    "untrusted": "chứng thư số không được tin cậy",
    "expired": "chứng thư số đã hết hạn",
    "revoked": "chứng thư số đã bị thu hồi",
    "unknown": "không kiểm tra được chữ ký số",
}
SELECTION_VI = {
    "any": "tài liệu",
    "designated": "văn bản bắt buộc ký số",
    "official": "văn bản công vụ",
}
EVIDENCE_VI = {
    "filename": "kể cả chỉ theo tên tệp",
    "content": "theo nội dung văn bản",
    "number": "có số, ký hiệu in trên văn bản",
}
OTHER_TYPE_VI = "loại khác"

#: The kind of a reason the analysis gives in English, recognised by its words, most
#: specific first; anything else is "could not be inspected".
_UNINSPECTABLE_VI = (
    (re.compile(r"encrypt|password", re.I), "được mã hoá, cần mật khẩu"),
    (re.compile(r"out of time|time limit|timed? out", re.I), "phân tích quá thời gian cho phép"),
    (re.compile(r"bomb|ratio|more than|deeper|limit|too (?:big|large|deep)", re.I),
     "vượt giới hạn kiểm tra"),
    (re.compile(r"not supported|unsupported", re.I), "định dạng không được hỗ trợ"),
)
_UNREADABLE_VI = "không đọc được nội dung"

_PLACE = re.compile(
    r"^(?P<prefix>.*?)(?:(?P<subject>subject)|header (?P<header>\S+)"
    r"|body \((?P<body>[^)]*)\)(?: (?P<body_what>text|filename))?"
    r"|attachment (?P<name>'.*'|\".*\") \((?P<path>[^)]*)\)(?: (?P<what>text|filename))?"
    r"|part (?P<part>\S+)(?: (?P<part_what>text|filename))?)$"
)


def level_vi(level: str) -> str:
    return LEVEL_VI.get(level, level)


def status_vi(status: str) -> str:
    return STATUS_VI.get(status, "không kiểm tra được chữ ký số")


def uninspectable_vi(reason: str) -> str:
    """A reason the analysis gave for not reading something, as a Vietnamese phrase."""
    for pattern, phrase in _UNINSPECTABLE_VI:
        if pattern.search(reason):
            return phrase
    return _UNREADABLE_VI


def place_vi(where: str) -> str:
    """Where a stamp was found ("subject", "attachment 'a.pdf' (2) text"), in Vietnamese."""
    found = _PLACE.match(where)
    if found is None:
        return "trong thư"
    nested = " của thư đính kèm" if found["prefix"].strip() else ""
    if found["subject"]:
        return f"tiêu đề thư{nested}"
    if found["header"]:
        return f"trường {found['header']}{nested}"
    if found["body"] is not None:
        return f"nội dung thư{nested}"
    if found["name"]:
        what = "tên tệp" if found["what"] == "filename" else "nội dung tệp"
        return f"{what} {found['name']}{nested}"
    return f"phần {found['part']} của thư{nested}"


def problem_vi(problem: str) -> str:
    """A malformed-header problem ("from: several From fields") as a Vietnamese phrase."""
    field = problem.split(":", 1)[0].strip() if ":" in problem else ""
    if field and " " not in field:
        return f"trường {field} không hợp lệ"
    return "tiêu đề thư không hợp lệ"


def describe(document: Document, type_names: Mapping[str, str]) -> Evidence:
    """A document as named in reasons: `"file.pdf" (Giấy mời)` / `"file.pdf" (giay_moi)`."""
    name = f'"{document.filename}"' if document.filename else None
    kind_vi = type_names.get(document.doc_type, OTHER_TYPE_VI)
    return Evidence(
        f"{name or f'phần {document.path} của thư'} ({kind_vi})",
        f"{name or f'part {document.path}'} ({document.doc_type})",
    )
