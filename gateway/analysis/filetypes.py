"""The real type of a file, from its bytes (not from its Content-Type or name)."""

from __future__ import annotations

import io
import zipfile

import filetype

from gateway.analysis.archives import ZIP_ERRORS

PDF = "application/pdf"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
RFC822 = "message/rfc822"
TEXT = "text/plain"
HTML = "text/html"
OCTET = "application/octet-stream"
MSWORD = "application/msword"
OLE = "application/x-ole-storage"
PKCS7_SIGNATURE = "application/pkcs7-signature"
#: `multipart/signed` protocols that are S/MIME (the rest, e.g. PGP/MIME, are not checked).
SMIME_SIGNATURES = frozenset({PKCS7_SIGNATURE, "application/x-pkcs7-signature"})
SEVEN_ZIP = "application/x-7z-compressed"
RAR = frozenset({"application/x-rar-compressed", "application/vnd.rar"})
TAR = "application/x-tar"
GZIP = "application/gzip"
BZIP2 = "application/x-bzip2"
XZ = "application/x-xz"
ARCHIVES = frozenset({SEVEN_ZIP, *RAR, TAR, GZIP, BZIP2, XZ})  # besides ZIP
UNOPENED_ARCHIVES = frozenset({  # containers the gateway cannot open: uninspectable
    "application/zstd", "application/x-lz4", "application/x-lzip", "application/x-lzop",
    "application/x-compress", "application/x-brotli", "application/vnd.ms-cab-compressed",
    "application/x-unix-archive", "application/x-deb", "application/x-rpm",
})  # fmt: skip
DOCUMENT_TYPES = frozenset({
    PDF, DOCX, ODT, XLSX, PPTX, TEXT, HTML, "application/msword", "application/rtf",
    "application/vnd.ms-excel", "application/x-ole-storage",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})  # fmt: skip

_ARCHIVE_MATCHERS = tuple(kind for kind in filetype.types if kind.mime in ARCHIVES)
_MAGIC_SPAN = 512  # the archive signatures lie in the first 262 bytes (tar's "ustar" at 257)
_OOXML_MAIN = {"word/document.xml": DOCX, "xl/workbook.xml": XLSX, "ppt/presentation.xml": PPTX}
_SIGNATURE_EXTENSIONS = (".p7s", ".sig")
_EML_EXTENSIONS = (".eml",)
_TEXT_SAMPLE = 4096
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TEXT_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")


def detect_type(data: bytes, declared: str, filename: str | None) -> str:
    """MIME type from magic bytes; zip containers are opened to tell DOCX/ODT from ZIP."""
    if not data.startswith(b"%PDF-"):
        archive = filetype.match(data[:_MAGIC_SPAN], matchers=_ARCHIVE_MATCHERS)
        if archive is not None:
            return str(archive.mime)  # before the PDF search: a stored member may be a PDF
    if data[:1024].find(b"%PDF-") >= 0:
        return PDF
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_flavour(data)
    if data.startswith(_OLE_MAGIC):
        return MSWORD if (filename or "").lower().endswith(".doc") else OLE
    guess = filetype.guess(data[:8192]) if data else None
    if guess is not None:
        return _canonical(str(guess.mime))
    return _untyped(data, declared, filename)


def is_eml(declared: str, filename: str | None) -> bool:
    return declared == RFC822 or (filename or "").lower().endswith(_EML_EXTENSIONS)


def is_signature_file(filename: str | None) -> bool:
    return (filename or "").lower().endswith(_SIGNATURE_EXTENSIONS)


def _zip_flavour(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            for main_part, mime in _OOXML_MAIN.items():
                if main_part in names:
                    return mime
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    flavour = member.read(100).decode("ascii", "replace").strip()
                if flavour.startswith("application/vnd.oasis.opendocument"):
                    return flavour
    except (*ZIP_ERRORS, RuntimeError):
        return ZIP
    return ZIP


def _canonical(mime: str) -> str:
    return {"application/x-zip-compressed": ZIP}.get(mime, mime)


def _untyped(data: bytes, declared: str, filename: str | None) -> str:
    sample = data[:_TEXT_SAMPLE]
    if sample.startswith(_TEXT_BOMS):
        return declared if declared == HTML else TEXT
    if b"\x00" in sample:
        return OCTET
    if declared in (HTML, TEXT, RFC822) or declared.startswith("text/"):
        return declared
    if (filename or "").lower().endswith((".htm", ".html")):
        return HTML
    printable = sum(1 for byte in sample if byte >= 0x20 or byte in b"\t\r\n")
    return TEXT if sample and printable >= 0.95 * len(sample) else OCTET
