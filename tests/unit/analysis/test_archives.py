"""Archives other than ZIP (7z, RAR, tar, gzip, bzip2, xz), built by the libraries at test
time: stamps and document types inside them are found, bombs and encrypted ones refused."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.analysis.archives import read_bound, read_capped
from gateway.analysis.model import Analysis, Classification, Document
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from gateway.analysis.unpack import open_archive
from gateway.analysis.unpack.streams import inner_name
from tests.fixtures.archives import (
    compressed,
    rar5_header_encrypted,
    rar5_stored,
    seven_zip_of,
    tar_of,
)
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    message,
    official_docx,
    official_pdf,
    zip_of,
)
from tests.support.analysing import Analyser

GIAY_MOI = official_pdf()
STAMPED = official_pdf(OfficialPaper(stamp="MẬT"))
ZEROS = bytes(20 * 1024 * 1024)


def _attached(analysed: Analyser, name: str, data: bytes,
              settings: AnalysisSettings | None = None) -> Analysis:
    attachment = Attachment(name, data, "application/octet-stream")
    return analysed(message(attachments=[attachment]), with_settings=settings)


def _paths(analysis: Analysis) -> dict[str, Document]:
    return {document.path: document for document in analysis.documents}


ARCHIVED_STAMP = [
    ("Hồ sơ.7z", lambda: seven_zip_of({"Giấy mời/Giấy mời họp.pdf": STAMPED}),
     "2!Giấy mời/Giấy mời họp.pdf"),
    ("Hồ sơ.tar.gz", lambda: tar_of({"Giấy mời họp.pdf": STAMPED}, "gz"),
     "2!Hồ sơ.tar!Giấy mời họp.pdf"),
    ("Hồ sơ.tgz", lambda: tar_of({"Giấy mời họp.pdf": STAMPED}, "gz"),
     "2!Hồ sơ.tar!Giấy mời họp.pdf"),
    ("Hồ sơ.tar.bz2", lambda: tar_of({"Giấy mời họp.pdf": STAMPED}, "bz2"),
     "2!Hồ sơ.tar!Giấy mời họp.pdf"),
    ("Hồ sơ.tar.xz", lambda: tar_of({"Giấy mời họp.pdf": STAMPED}, "xz"),
     "2!Hồ sơ.tar!Giấy mời họp.pdf"),
    ("Hồ sơ.tar", lambda: tar_of({"Giấy mời họp.pdf": STAMPED}), "2!Giấy mời họp.pdf"),
    ("ustar.tar", lambda: tar_of({"giaymoi.pdf": STAMPED}, tar_format=tarfile.USTAR_FORMAT),
     "2!giaymoi.pdf"),  # the PDF starts at byte 512: still a tar, not a PDF
    ("Giấy mời họp.pdf.gz", lambda: compressed(STAMPED, "gz"), "2!Giấy mời họp.pdf"),
    ("Giấy mời họp.pdf.bz2", lambda: compressed(STAMPED, "bz2"), "2!Giấy mời họp.pdf"),
    ("Giấy mời họp.pdf.xz", lambda: compressed(STAMPED, "xz"), "2!Giấy mời họp.pdf"),
    ("Hồ sơ.rar", lambda: rar5_stored({"Giấy mời họp.pdf": STAMPED}), "2!Giấy mời họp.pdf"),
]


@pytest.mark.parametrize(("name", "build", "path"), ARCHIVED_STAMP,
                         ids=[case[0] for case in ARCHIVED_STAMP])
def test_stamp_and_type_inside_each_archive_format_are_found(
    analysed: Analyser, name: str, build: object, path: str
) -> None:
    assert callable(build)
    analysis = _attached(analysed, name, build())
    inner = _paths(analysis)[path]
    assert (inner.doc_type, inner.classification) == ("giay_moi", Classification.MAT)
    assert inner.uninspectable is None
    assert analysis.classification == Classification.MAT
    assert analysis.uninspectable == ()


def test_stamped_docx_inside_zip_inside_7z_inside_tar_gz(analysed: Analyser) -> None:
    docx = official_docx(["MẬT", "BÁO CÁO", "Tình hình thực hiện nhiệm vụ"])
    inner_7z = seven_zip_of({"Báo cáo.docx": docx})
    outer = tar_of({"lồng/hồ sơ.zip": zip_of({"a.7z": inner_7z})}, "gz")
    analysis = _attached(analysed, "Hồ sơ.tar.gz", outer)
    deepest = _paths(analysis)["2!Hồ sơ.tar!lồng/hồ sơ.zip!a.7z!Báo cáo.docx"]
    assert deepest.classification == Classification.MAT and deepest.doc_type == "bao_cao"
    assert analysis.classification == Classification.MAT


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63f8cf00000301010018dd8db00000000049454e44ae426082")


@pytest.mark.parametrize(("name", "build"), [
    ("Hồ sơ.zip", lambda members: zip_of(members)),
    ("Hồ sơ.7z", lambda members: seven_zip_of(members)),
    ("Hồ sơ.tar", lambda members: tar_of(members)),
])
def test_a_stamp_on_a_folder_inside_an_archive_is_found(
    analysed: Analyser, name: str, build: object
) -> None:
    """A folder zipped whole ("TỐI MẬT/…", "Hồ sơ/[MẬT] Kế hoạch/…") names its files too;
    a folder of ordinary words ("Mật khẩu") does not classify them."""
    assert callable(build)
    stamped = _attached(analysed, name, build({
        "TỐI MẬT/sơ đồ.png": PNG, "Hồ sơ/[MẬT] Kế hoạch/ảnh.png": PNG}))
    assert stamped.classification == Classification.TOI_MAT
    by_name = {document.filename: document.classification for document in stamped.documents}
    assert by_name["sơ đồ.png"] == Classification.TOI_MAT
    assert by_name["ảnh.png"] == Classification.MAT
    ordinary = _attached(analysed, name, build({"Mật khẩu/sơ đồ.png": PNG}))
    assert ordinary.classification is None


@pytest.mark.parametrize("name", ["bomb.pdf.gz", "bomb.tar.gz", "bomb.7z", "bomb.pdf.xz"])
def test_bombs_are_refused_not_unpacked(analysed: Analyser, name: str) -> None:
    data = {
        "bomb.pdf.gz": lambda: compressed(ZEROS, "gz"),
        "bomb.tar.gz": lambda: tar_of({"bomb.pdf": ZEROS}, "gz"),
        "bomb.7z": lambda: seven_zip_of({"bomb.pdf": ZEROS}),
        "bomb.pdf.xz": lambda: compressed(ZEROS, "xz"),
    }[name]()
    assert len(data) * 100 < len(ZEROS)
    analysis = _attached(analysed, name, data)
    assert any("zip bomb" in reason for reason in analysis.uninspectable), analysis.uninspectable
    assert all(document.size < len(ZEROS) // 2 for document in analysis.documents)


def test_encrypted_archives_are_uninspectable(analysed: Analyser) -> None:
    cases = {
        "khoa.7z": seven_zip_of({"a.pdf": GIAY_MOI}, password="mat-khau"),
        "khoa-ten.7z": seven_zip_of({"a.pdf": GIAY_MOI}, password="mat-khau",
                                    header_encryption=True),
        "khoa.rar": rar5_stored({"b.pdf": GIAY_MOI, "c.txt": b"x"}, encrypted=["b.pdf"]),
        "khoa-ten.rar": rar5_header_encrypted(),
    }
    msg = message(attachments=[Attachment(n, d, "application/octet-stream")
                               for n, d in cases.items()])
    analysis = analysed(msg)
    reasons = {d.filename: d.uninspectable for d in analysis.documents}
    assert "encrypted 7z archive" in (reasons["khoa.7z"] or "")
    assert "encrypted 7z archive" in (reasons["khoa-ten.7z"] or "")
    assert "encrypted archive member" in (reasons["b.pdf"] or "")
    assert "encrypted RAR archive" in (reasons["khoa-ten.rar"] or "")
    assert reasons["c.txt"] is None
    assert len(analysis.uninspectable) == 4


def test_rar_broken_after_its_first_members_keeps_them_and_flags_the_rest() -> None:
    data = bytearray(rar5_stored({"a.txt": b"first", "b.txt": b"second"}))
    second = data.index(b"b.txt") - 12  # inside the second file header: its CRC fails
    data[second] ^= 0xFF
    limits = AnalysisLimits()
    opened = open_archive(bytes(data), "application/x-rar-compressed", "a.rar",
                          limits.max_decompressed_bytes, limits)
    assert (opened.members[0].name, opened.members[0].data) == ("a.txt", b"first")
    assert "broken RAR archive" in (opened.members[-1].refused or "")


def test_decompression_budget_and_member_limit_apply_to_tar_and_7z(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    small = replace(settings, limits=AnalysisLimits(max_decompressed_bytes=150_000,
                                                    max_archive_members=3))
    members = {f"{i}.pdf": GIAY_MOI for i in range(6)}
    for name, data in (("a.tar", tar_of(members)), ("a.7z", seven_zip_of(members))):
        analysis = _attached(analysed, name, data, small)
        refused = [d.uninspectable or "" for d in analysis.documents if d.uninspectable]
        assert refused, name
        assert all("decompression limit" in r or "not inspected" in r for r in refused), refused
        assert len(analysis.documents) <= 1 + 1 + 3 + 1


def test_member_limit_counts_members_not_headers() -> None:
    limits = AnalysisLimits(max_archive_members=5)
    opened = open_archive(tar_of({f"{i}.txt": b"x" for i in range(50)}), "application/x-tar",
                          "a.tar", limits.max_decompressed_bytes, limits)
    assert len(opened.members) == 6
    assert "not inspected" in (opened.members[-1].refused or "")


def test_nesting_past_the_depth_limit_is_uninspectable(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    data = STAMPED
    for _ in range(4):
        data = compressed(data, "gz")
    shallow = replace(settings, limits=AnalysisLimits(max_depth=3))
    analysis = _attached(analysed, "a.pdf.gz.gz.gz.gz", data, shallow)
    assert any("nested deeper" in reason for reason in analysis.uninspectable)
    assert analysis.classification is None
    deep = _attached(analysed, "a.pdf.gz.gz.gz.gz", data)
    assert deep.classification == Classification.MAT


@pytest.mark.parametrize(("name", "data"), [
    ("cut.7z", seven_zip_of({"a.pdf": GIAY_MOI})[:200]),
    ("cut.rar", rar5_stored({"a.pdf": GIAY_MOI})[:100]),
    ("cut.pdf.gz", compressed(GIAY_MOI, "gz")[:300]),
    ("cut.pdf.bz2", compressed(GIAY_MOI, "bz2")[:300]),
    ("cut.tar.xz", tar_of({"a.pdf": GIAY_MOI}, "xz")[:300]),
])
def test_broken_archives_are_uninspectable_not_errors(
    analysed: Analyser, name: str, data: bytes
) -> None:
    analysis = _attached(analysed, name, data)
    assert analysis.uninspectable, name
    assert analysis.classification is None


class _CountingStream:
    def __init__(self) -> None:
        self.given = 0

    def read(self, size: int = -1, /) -> bytes:
        assert size > 0, "an unbounded read"
        self.given += size
        return bytes(size)


def test_streams_are_read_no_further_than_one_byte_past_the_limit() -> None:
    limits = AnalysisLimits(max_decompressed_bytes=3_000_000, ratio_floor_bytes=1_000_000,
                            max_compression_ratio=100)
    stream = _CountingStream()
    bound = read_bound(20_000, 50_000_000, limits)
    assert bound == 2_000_001
    assert len(read_capped(stream, bound)) == bound and stream.given == bound
    gz = gzip.compress(bytes(50_000_000))
    roomy = replace(limits, max_decompressed_bytes=40_000_000)
    assert len(gz) * 100 < roomy.max_decompressed_bytes
    opened = open_archive(gz, "application/gzip", "x.gz", 50_000_000, roomy)
    assert opened.expanded == 0 and "zip bomb" in (opened.members[0].refused or "")
    assert io.BytesIO(gz).read(2) == b"\x1f\x8b"


def test_inner_names_of_compressed_streams() -> None:
    assert inner_name("Hồ sơ.tar.gz") == "Hồ sơ.tar"
    assert inner_name("a.TGZ") == "a.tar"
    assert inner_name("a.pdf.xz") == "a.pdf"
    assert inner_name(None) == "decompressed"
    assert inner_name(".gz") == ".gz"


def test_mail_without_archives_loads_no_archive_library() -> None:
    """The archive readers are imported only when an archive arrives."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from tests.support.builders import POLICIES\n"
        "from gateway.analysis.analyse import analyse\n"
        "from gateway.policy.loader import load_policy\n"
        "from tests.fixtures.documents import Attachment, message, official_pdf, to_bytes\n"
        "settings = load_policy(POLICIES).analysis_settings\n"
        "mail = to_bytes(message(attachments=[Attachment('a.pdf', official_pdf())]))\n"
        "analyse(mail, settings, None)\n"
        "print(sorted(m for m in ('py7zr', 'rarfile', 'tarfile') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True, cwd=str(Path(__file__).resolve().parents[3]))
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.parametrize(("name", "magic"), [
    ("a.tar.zst", b"\x28\xb5\x2f\xfd"), ("a.lz4", b"\x04\x22\x4d\x18"), ("a.Z", b"\x1f\x9d"),
    ("a.cab", b"MSCF\x00\x00\x00\x00"), ("a.lz", b"LZIP\x01"),
])
def test_archives_that_cannot_be_opened_are_uninspectable(
    analysed: Analyser, name: str, magic: bytes
) -> None:
    analysis = _attached(analysed, name, magic + bytes(range(256)) * 4)
    assert any("archive format not supported" in r for r in analysis.uninspectable), name


def test_a_zip_member_with_an_empty_name_is_read_not_a_crash() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"MAT noi dung")
        archive.writestr("thu muc/", b"")
        archive.writestr("thu muc/a.txt", b"a")
    limits = AnalysisLimits()
    opened = open_archive(buffer.getvalue(), "application/zip", "a.zip",
                          limits.max_decompressed_bytes, limits)
    assert [(member.data, member.refused) for member in opened.members] == [
        (b"MAT noi dung", None), (b"a", None)]
