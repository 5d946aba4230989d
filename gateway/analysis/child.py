"""An analysis child: framed pickled jobs in, framed pickled results out, on one socket.

Forked by `gateway.analysis.zygote` for the pool of one SMTP worker, which
holds the other end of the socket. A job of `None` is a ping; a job without a
context is judged under the context of the job before (`JobFrame`). Logs go to
stderr; the end of the socket (the SMTP worker is gone) ends the child.
"""

from __future__ import annotations

import logging
import pickle
import resource
import socket
from typing import BinaryIO

from gateway.analysis.extract.ocr import OcrEngine
from gateway.analysis.pool import FRAME, AnalysisJob, Context, JobFrame, analyse_job
from gateway.analysis.readings import ReadingCache
from gateway.signatures.setup import CheckerCache


def _read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


class _Jobs:
    """This child's caches and the context it was last sent, for the jobs it answers."""

    def __init__(self) -> None:
        self.checkers = CheckerCache()  # the one signature checker, kept between jobs
        self.readings = ReadingCache()  # the documents read, by the hash of their bytes
        self.ocr = OcrEngine()  # Tesseract and the scanned pages it read
        self.context: Context | None = None

    def job(self, frame: JobFrame) -> AnalysisJob:
        """The job of `frame`, under its own context or else the one sent before."""
        if frame.context is not None:
            self.context = frame.context
        if self.context is None:
            raise ValueError("job without a context, and none sent before")
        settings, signatures = self.context
        return AnalysisJob(settings, signatures, frame.message, frame.path)


def _answer(frame: bytes, jobs: _Jobs) -> tuple[str, object]:
    """("ok", result), ("error", text), or ("memory", text) when the job ran out of memory."""
    try:
        sent: JobFrame | None = pickle.loads(frame)
        if sent is None:
            return ("ok", None)
        job = jobs.job(sent)
        return ("ok", analyse_job(job, jobs.checkers, jobs.readings, ocr=jobs.ocr))
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
    jobs = _Jobs()
    source = channel.makefile("rb")
    while (frame := _read_frame(source)) is not None:
        answer = _answer(frame, jobs)
        result = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            channel.sendall(FRAME.pack(len(result)) + result)
        except OSError:  # the SMTP worker is gone: nobody wants the answer
            return
