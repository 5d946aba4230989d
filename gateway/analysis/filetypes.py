"""The real type of a file, from its bytes (not from its Content-Type or name)."""

from __future__ import annotations

import codecs
import io
import re
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
RTF = "application/rtf"
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
    PDF, DOCX, ODT, XLSX, PPTX, TEXT, HTML, RTF, "application/msword",
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
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
#: Byte-order marks, the UTF-32 ones before the UTF-16 ones they begin with.
_CODEC_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
    (codecs.BOM_UTF8, "utf-8-sig"),
)
#: Where a part is what its first bytes say, whatever it declares: a PDF, zip (and Office
#: or OpenDocument), OLE, RTF, and the archives the walk opens.
_STRONG_MAGIC = (
    b"%PDF-", b"PK\x03\x04", b"PK\x05\x06", _OLE_MAGIC, b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07", b"\xfd7zXZ\x00", b"BZh", b"{\\rtf",
)


def detect_type(data: bytes, declared: str, filename: str | None,
                charset: str | None = None) -> str:
    """MIME type from magic bytes; zip containers are opened to tell DOCX/ODT from ZIP.

    A part declared text that reads as text in its charset stays text unless it starts
    with a container's or document's signature (or is a whole PDF behind some text):
    the looser signatures ("BM" for a bitmap, "MZ", "ID3") and the words "%PDF-" are
    the first characters of many a letter ("BM-01/BC" is a form's code).
    """
    if declared.startswith("text/") and not data.startswith(_STRONG_MAGIC) \
            and reads_as_text(data[:_TEXT_SAMPLE], charset) and not _whole_pdf(data):
        return TEXT if data.startswith(_TEXT_BOMS) and declared != HTML else declared
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


def reads_as_text(sample: bytes, charset: str | None) -> bool:
    """Whether `sample` decodes in `charset` (UTF-8 when none or unknown; a cut character
    at its end allowed) into printable text: at most 5 % other control characters."""
    codec = text_codec(sample, charset)
    try:
        text = codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except (UnicodeDecodeError, LookupError):
        return False
    return bool(text) and "\x00" not in text \
        and len(_CONTROLS.findall(text)) <= 0.05 * len(text)


def text_codec(sample: bytes, charset: str | None) -> str:
    """The codec a text part is read with: its byte-order mark's, else its charset's (a
    UTF-16 or UTF-32 without one in the byte order its text reads best in), else UTF-8."""
    for bom, name in _CODEC_BOMS:
        if sample.startswith(bom):
            return name
    name = codec_name(charset) or "utf-8"
    if name in ("utf-16", "utf-32"):
        return max((f"{name}-be", f"{name}-le"), key=lambda each: _printable_share(sample, each))
    return name


def codec_name(charset: str | None) -> str | None:
    """Python's name of the text encoding `charset` names; None when it names none."""
    if not charset:
        return None
    try:
        codec = codecs.lookup(charset.strip())
    except LookupError:
        return None
    # "base64", "hex", "rot13", "zip" are codecs too, but not text encodings.
    return codec.name if getattr(codec, "_is_text_encoding", True) else None


def _printable_share(sample: bytes, codec: str) -> float:
    text = sample[:512].decode(codec, "replace")
    return sum(1 for ch in text if ch.isprintable() or ch in "\t\r\n") / max(len(text), 1)


def _whole_pdf(data: bytes) -> bool:
    """A PDF behind some text (readers skip up to 1 KB before its header): a header in the
    first 1 KB, and the cross-reference pointer and end marker at the end."""
    return data[:1024].find(b"%PDF-") >= 0 and b"startxref" in data[-2048:] \
        and b"%%EOF" in data[-1024:]


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
