"""Messages whose MIME is hard to read right: the analysis must read each of them exactly as
the standard library's parser does (encoded words, RFC 2231, nesting, broken boundaries,
base64 with junk, odd line breaks, large blocks)."""

from __future__ import annotations

import base64

from tests.fixtures.documents import zip_of

B64 = base64.encodebytes
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
BIG = bytes((i * 7919) % 251 for i in range(300_000))  # incompressible-looking, 300 KB


def _head(extra: str = "", ctype: str = 'multipart/mixed; boundary="B"') -> str:
    return ("From: =?utf-8?b?Tmd1eeG7hW4gVGjhu4sgTGFu?= <lan@gmail.com>\n"
            "To: vanthu@thuathienhue.gov.vn\n"
            "Subject: =?utf-8?q?C=C3=B4ng_v=C4=83n_M=E1=BA?= =?utf-8?q?=ACT?= ok\n"
            f"MIME-Version: 1.0\nContent-Type: {ctype}\n{extra}\n")


def _b64(data: bytes) -> str:
    return B64(data).decode()


RFC2047_2231 = (_head() + (
    "--B\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n"
    "Content-Description: =?utf-8?b?VMOATSBN4bqsVA==?=\n\n"
    f"{_b64('Văn bản MẬT'.encode())}"
    "--B\nContent-Type: application/pdf;\n name*0*=utf-8''Gi%E1%BA%A5y%20m;\n"
    " name*1*=%E1%BB%9Di.pdf\n"
    "Content-Disposition: attachment;\n filename*0*=utf-8''Gi%E1%BA%A5y%20m;\n"
    " filename*1*=%E1%BB%9Di.pdf\nContent-Transfer-Encoding: base64\n\n"
    f"{_b64(PDF)}"
    "--B\nContent-Type: application/octet-stream; name=\"=?utf-8?b?dMOgaSBsaeG7h3UuemlwAA==?=\"\n"
    "Content-Transfer-Encoding: base64\n\n"
    f"{_b64(zip_of({'a.txt': 'TỐI MẬT'.encode()}))}"
    "--B--\n")).encode()

NESTED = (_head() + (
    "preamble line\n--B\nContent-Type: multipart/alternative; boundary=\"C\"\n\n"
    "--C\nContent-Type: text/plain; charset=utf-8\n\nxin chào\n"
    "--C\nContent-Type: multipart/related; boundary=D\n\n--D\nContent-Type: text/html\n\n"
    "<p>MẬT</p>\n--D\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n"
    f"{_b64(BIG[:9000])}--D--\n--C--\nepilogue C\n"
    "--B\nContent-Type: message/rfc822\n\nFrom: a@b.vn\n"
    "Subject: =?utf-8?q?T=E1=BB=90I_M=E1=BA=ACT?=\n"
    "Content-Type: multipart/mixed; boundary=E\n\n--E\nContent-Type: text/plain\n\ninner\n"
    "--E\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
    f"{_b64(PDF)}--E--\n"
    "--B\nContent-Type: multipart/digest; boundary=F\n\n--F\n\nFrom: d@e.vn\nSubject: digest\n\nx\n"
    "--F--\n--B--\nthe epilogue\n")).encode()

BROKEN_BOUNDARIES = [
    (_head() + "--B\nContent-Type: text/plain\n\nno closing delimiter\n"
     f"--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n{_b64(PDF)}"
     ).encode(),
    (_head() + "--Bnot-a-delimiter\n--B \t\nContent-Type: text/plain\n\nbody\n--B--  \n").encode(),
    (_head(ctype="multipart/mixed") + "--B\nContent-Type: text/plain\n\nno boundary param\n"
     "--B--\n").encode(),
    (_head(ctype='multipart/mixed; boundary="never"') + "--B\n\nthe boundary never comes\n"
     f"{_b64(BIG[:5000])}").encode(),
    (_head() + "--B\nContent-Type: text/plain\n--B\n\nheaders end at a delimiter\n--B--\n"
     ).encode(),
    (_head(extra="Content-Transfer-Encoding: base64\n") + "--B\n\nmultipart with a CTE\n"
     "--B--\n").encode(),
    (_head() + "--B\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
     f"\n{_b64(BIG[:60_000])}--B\n--B\n--B\nContent-Type: text/plain\n\ndoubled delimiters\n"
     "--B--\n").encode(),
]

BASE64_WITH_JUNK = [
    (_head() + "--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(PDF)[:-3] + "!!\n*junk* line\n" + _b64(BIG[:20_000]) + "--B--\n").encode(),
    (_head() + "--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(PDF).replace("\n", "") + "=\n--B--\n").encode(),  # one long line, bad padding
    (_head() + "--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(BIG[:30_000]).replace("\n", "\n\n", 3) + "--B--\n").encode(),  # blank lines inside
    (_head() + "--B\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n"
     "M=E1=BA=ACT =\nso=\n--B\nContent-Type: application/pdf\n"
     "Content-Transfer-Encoding: base64\n\n" + _b64(BIG[:40_000]) + "--B--").encode(),
]

LINE_BREAKS = [
    RFC2047_2231.replace(b"\n", b"\r\n"),
    NESTED.replace(b"\n", b"\r\n"),
    NESTED.replace(b"\n", b"\r"),  # old Mac line ends: the parser splits on a lone CR too
    RFC2047_2231.replace(b"\n", b"\r\n", 40),  # mixed
    (_head() + "--B\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
     "\n" + _b64(BIG[:50_000]).replace("\n", "\r", 5).replace("\n", "\r\n", 50) + "--B--\n"
     ).encode(),
]

EDGE = [
    # A single-part message whose base64 body starts at once, a body ending without a newline,
    # raw 8-bit header bytes, repeated identical fields, a missing header/body separator.
    ("From: a@b.vn\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(BIG[:100_000]).rstrip("\n")).encode(),
    ("From: a@b.vn\nSubject: x\n" + _b64(BIG[:20_000])).encode(),  # no blank line
    (_head() + "--B\nContent-Type: application/pdf; name=\"Gi\xe1y m\xf2i.pdf\"\n"
     "Content-Transfer-Encoding: base64\n\n").encode("latin-1") + B64(PDF) + b"--B--\n",
    (_head() + "".join("--B\nContent-Type: text/plain; charset=utf-8\nContent-Type: text/html\n"
                       f"\nphần {n}\n" for n in range(30)) + "--B--\n").encode(),
    (_head() + "--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(BIG[:20_000]) + "From the start of a line\n" + _b64(BIG[:2000]) + "--B--\n"
     ).encode(),
    (_head() + "--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(BIG[:20_000]) + " indented line\n:colon\n--B--\n").encode(),
    b"",
    b"\n\n",
    _b64(BIG[:10_000]).encode(),  # no header at all
]

BLOCKS = [  # long base64 runs where the parser reads them as a preamble, an epilogue, headers
    (_head() + _b64(BIG[:30_000]) + "--B\nContent-Type: text/plain\n\nx\n--B--\n"
     + _b64(BIG[:30_000]) + "--B\n" + _b64(BIG[:6000])).encode(),
    (_head(ctype="multipart/report; boundary=B") + "--B\nContent-Type: message/delivery-status\n"
     "\nReporting-MTA: dns; mx.hue.gov.vn\n\n" + _b64(BIG[:8000]) + "\nAction: failed\n"
     "--B\nContent-Type: message/rfc822\n\n" + _b64(BIG[:8000])
     + "--B\nContent-Type: text/rfc822-headers\n\nFrom: x@y.vn\n" + _b64(BIG[:8000])
     + "--B--\n").encode(),
    (_head() + "--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(BIG[:20_000]) + "--B--\n" + _b64(BIG[:20_000])).encode().replace(b"\n", b"\r\n"),
    (_head() + "--B\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n"
     + _b64(BIG[:20_000]) + "TTHgatewayBLOCK00000000x\n--B--\n").encode(),  # a marker-like line
]

TRICKY = [*BLOCKS, RFC2047_2231, NESTED, *BROKEN_BOUNDARIES, *BASE64_WITH_JUNK, *LINE_BREAKS, *EDGE]
