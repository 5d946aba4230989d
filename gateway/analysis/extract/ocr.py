"""OCR of PDF pages that carry no text layer (scans): poppler's `pdftoppm` renders each
page (grey, uncompressed TIFF, at most `long_side` pixels on its long side), and one
Tesseract process per document reads the rendered pages with its Vietnamese data.

What Tesseract read is remembered (`ocrcache`), keyed by the SHA-256 of the PDF, the page
number and the engine's identity (version, language data, languages, segmentation,
resolution), so the same scan sent again is neither rendered nor read again. Every process
is stopped at the document's deadline; Tesseract runs one thread (`OMP_THREAD_LIMIT=1`),
since the machine's cores belong to the worker pool; the pages a message may have read,
and the time, are bounded by its budget (`ocrbudget`). The engine and its cache belong to
whoever analyses (an analysis child keeps one between messages, as it keeps its readings);
each message reads through `MessageOcr`, the engine with that message's budget. Running
outside the analysis process keeps a hostile page's parser and the OCR engine's memory
away from the worker (they inherit its address-space cap).

Taking a scanner's picture straight from the PDF instead of rendering it was measured and
left out: Tesseract missed stamps it finds on the rendered page (most likely because those
pictures carried no resolution), and an uncompressed render costs little.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gateway.analysis.extract.ocrbudget import OcrBudget
from gateway.analysis.extract.ocrcache import OcrCache, cache_key
from gateway.analysis.timelimit import Deadline

LANGUAGES = "vie"
_LONG_SIDE = 2400  # pixels: about 200 dpi on A4, enough for 10-point text
_SEGMENTATION = "3"  # Tesseract's automatic page segmentation (its default)
#: Uncompressed TIFF: the same pixels and resolution as PNG, which took 9/10 of pdftoppm's
#: time to compress. The resolution matters: without it Tesseract assumes 70 dpi and
#: misses stamps it otherwise reads (measured with PGM).
_FORMAT = ("-tiff", "-tiffcompression", "none")
_TOOLS = ("pdftoppm", "tesseract")


@dataclass(frozen=True, slots=True)
class OcrResult:
    """Text per page number, or why OCR could not be done."""

    pages: dict[int, str]
    failure: str | None = None


class _Failed(Exception):
    pass


class OcrEngine:
    """Tesseract with fixed settings, and what it has read (`cache`)."""

    def __init__(self, cache: OcrCache | None = None, *, languages: str = LANGUAGES,
                 long_side: int = _LONG_SIDE) -> None:
        self.cache = cache if cache is not None else OcrCache()
        self.languages = languages
        self.long_side = long_side
        self._identity: bytes | None = None

    def read(self, data: bytes, numbers: Sequence[int], deadline: Deadline,
             budget: OcrBudget | None = None) -> OcrResult:
        """The text Tesseract reads on pages `numbers` (1-based) of the PDF `data`; the pages
        not in the cache are paid from `budget` (no limit but `deadline` without one)."""
        missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
        if missing:
            return OcrResult({}, f"OCR is not installed ({', '.join(missing)} missing)")
        pages: dict[int, str] = {}
        try:
            document = hashlib.sha256(data).digest()
            identity = self.identity(deadline)
            todo: dict[int, str] = {}
            for number in numbers:
                key = cache_key(identity, b"page", str(number).encode(), document)
                cached = self.cache.get(key)
                if cached is None:
                    todo[number] = key
                else:
                    pages[number] = cached
            if todo:
                pages.update(self._read(data, todo, _budgeted(deadline, budget, len(todo))))
        except _Failed as failure:
            return OcrResult(pages, str(failure))
        return OcrResult(dict(sorted(pages.items())))

    def identity(self, deadline: Deadline) -> bytes:
        """Everything besides the image that changes what is read: Tesseract's version,
        its language data (path, size, time), languages, segmentation, rendering."""
        if self._identity is None:
            version = _run(["tesseract", "--version"], deadline)
            listing = _run(["tesseract", "--list-langs"], deadline)
            data = [_stat(listing, language) for language in self.languages.split("+")]
            self._identity = "\n".join([version, *data, self.languages, _SEGMENTATION,
                                        str(self.long_side), *_FORMAT]).encode()
        return self._identity

    def _read(self, data: bytes, todo: dict[int, str], deadline: Deadline) -> dict[int, str]:
        """Render the pages `todo` (number: cache key) and read them with one Tesseract."""
        with tempfile.TemporaryDirectory(prefix="tth-ocr-") as work:
            source = Path(work, "scan.pdf")
            source.write_bytes(data)
            images = []
            for number in todo:
                image = Path(work, f"page{number}")
                _run(["pdftoppm", "-f", str(number), "-l", str(number), "-singlefile", "-gray",
                      *_FORMAT, "-scale-to", str(self.long_side), str(source), str(image)],
                     deadline)
                images.append(image.with_suffix(".tif"))
            texts = _tesseract(images, self.languages, Path(work), deadline)
        for key, text in zip(todo.values(), texts, strict=True):
            self.cache.put(key, text)
        return dict(zip(todo, texts, strict=True))


@dataclass(frozen=True, slots=True)
class MessageOcr:
    """The OCR of one message: `engine` (and its cache), the pages paid from `budget`."""

    engine: OcrEngine
    budget: OcrBudget | None = None

    def read(self, data: bytes, numbers: Sequence[int], deadline: Deadline) -> OcrResult:
        """The text Tesseract reads on pages `numbers` (1-based) of the PDF `data`."""
        return self.engine.read(data, numbers, deadline, self.budget)


def _budgeted(deadline: Deadline, budget: OcrBudget | None, pages: int) -> Deadline:
    """The document's deadline, brought forward to the message's OCR `budget`, whose
    `pages` are taken; `_Failed` when the budget cannot pay for them."""
    if budget is None:
        return deadline
    refused = budget.take(pages)
    if refused is not None:
        raise _Failed(refused)
    return Deadline(min(deadline.at, budget.until))


def _stat(listing: str, language: str) -> str:
    """Where `--list-langs` says the language data are, and their size and time."""
    first = listing.splitlines()[0] if listing else ""
    folder = first.split('"')[1] if first.count('"') >= 2 else ""
    try:
        found = os.stat(Path(folder, f"{language}.traineddata"))
    except OSError:
        return f"{language}: unknown"
    return f"{language}: {folder} {found.st_size} {found.st_mtime_ns}"


def _tesseract(images: list[Path], languages: str, work: Path, deadline: Deadline) -> list[str]:
    """One Tesseract process reads `images` in order; the text of each."""
    listing = Path(work, "pages.txt")
    listing.write_text("".join(f"{image}\n" for image in images))
    output = _run(["tesseract", str(listing), "stdout", "-l", languages, "--psm", _SEGMENTATION],
                  deadline)
    texts = output.split("\f")
    if len(texts) == len(images) + 1 and not texts[-1].strip():
        texts.pop()
    if len(texts) != len(images):
        raise _Failed(f"OCR output does not split into {len(images)} pages")
    return texts


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
