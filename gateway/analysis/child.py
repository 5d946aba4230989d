"""An analysis child: framed pickled jobs in, framed pickled results out, on one socket.

Forked by `gateway.analysis.zygote` for the pool of one SMTP worker, which
holds the other end of the socket. A job of `None` is a ping. Logs go to
stderr; the end of the socket (the SMTP worker is gone) ends the child.
"""

from __future__ import annotations

import logging
import pickle
import resource
import socket
from typing import BinaryIO

from gateway.analysis.extract.ocr import OcrEngine
from gateway.analysis.pool import FRAME, analyse_job
from gateway.analysis.readings import ReadingCache
from gateway.signatures.setup import CheckerCache


def _read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def _answer(frame: bytes, checkers: CheckerCache, readings: ReadingCache,
            ocr: OcrEngine) -> tuple[str, object]:
    """("ok", result), ("error", text), or ("memory", text) when the job ran out of memory."""
    try:
        job = pickle.loads(frame)
        if job is None:
            return ("ok", None)
        return ("ok", analyse_job(job, checkers, readings, ocr=ocr))
    except MemoryError as exc:
        return ("memory", f"MemoryError: {exc}")
    except Exception as exc:
        logging.getLogger("gateway.analysis.child").exception("analysis failed")
        return ("error", f"{type(exc).__name__}: {exc}")


def cap_memory(megabytes: int) -> None:
    """Cap this process's address space (RLIMIT_AS): an allocation beyond it raises
    MemoryError in the job instead of growing the worker without bound. 0: no cap."""
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def serve_jobs(channel: socket.socket) -> None:
    """Answer jobs on `channel` until its other end closes."""
    checkers = CheckerCache()  # this child's one signature checker, kept between jobs
    readings = ReadingCache()  # the documents this child read, by the hash of their bytes
    ocr = OcrEngine()  # Tesseract and the scanned pages it read, by document, page, settings
    source = channel.makefile("rb")
    while (frame := _read_frame(source)) is not None:
        answer = _answer(frame, checkers, readings, ocr)
        result = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            channel.sendall(FRAME.pack(len(result)) + result)
        except OSError:  # the SMTP worker is gone: nobody wants the answer
            return
