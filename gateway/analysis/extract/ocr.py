"""OCR of PDF pages that carry no text layer (scans): poppler's `pdftoppm` renders the page,
Tesseract reads it with its Vietnamese data, each a separate process stopped at the
document's deadline.

Running outside the analysis process keeps a hostile page's parser and the OCR engine's
memory away from the worker; the rendered image is bounded (`_LONG_SIDE` pixels), and
Tesseract runs one thread, since the machine's cores belong to the worker pool.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.analysis.timelimit import Deadline

LANGUAGES = "vie"
_LONG_SIDE = 2400  # pixels: about 200 dpi on A4, enough for 10-point text
_TOOLS = ("pdftoppm", "tesseract")


@dataclass(frozen=True, slots=True)
class OcrResult:
    """Text per page number, or why OCR could not be done."""

    pages: dict[int, str]
    failure: str | None = None


class _Failed(Exception):
    pass


def ocr_pdf_pages(data: bytes, numbers: Sequence[int], deadline: Deadline) -> OcrResult:
    """The text Tesseract reads on pages `numbers` (1-based) of the PDF `data`."""
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        return OcrResult({}, f"OCR is not installed ({', '.join(missing)} missing)")
    pages: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="tth-ocr-") as work:
        source = Path(work, "scan.pdf")
        source.write_bytes(data)
        try:
            for number in numbers:
                image = Path(work, f"page{number}")
                _run(["pdftoppm", "-f", str(number), "-l", str(number), "-singlefile", "-gray",
                      "-png", "-scale-to", str(_LONG_SIDE), str(source), str(image)], deadline)
                pages[number] = _run(["tesseract", f"{image}.png", "stdout", "-l", LANGUAGES],
                                     deadline)
        except _Failed as failure:
            return OcrResult(pages, str(failure))
    return OcrResult(pages)


def _run(command: list[str], deadline: Deadline) -> str:
    """A tool's standard output; `_Failed` when it fails or would pass the deadline."""
    remaining = deadline.at - time.monotonic()
    if remaining <= 0:
        raise _Failed("OCR ran out of time")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_THREAD_LIMIT": "1",
                   "LC_ALL": "C.UTF-8"}
    try:
        done = subprocess.run(command, capture_output=True, timeout=remaining, check=False,
                              env=environment, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise _Failed("OCR ran out of time") from None
    except OSError as exc:
        raise _Failed(f"OCR could not start {command[0]} ({exc.__class__.__name__})") from None
    if done.returncode != 0:
        raise _Failed(f"OCR failed ({command[0]} exit status {done.returncode})")
    return done.stdout.decode("utf-8", "replace")
