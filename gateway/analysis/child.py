"""An analysis worker process: framed pickled jobs on stdin, framed pickled results on stdout.

Started by `gateway.analysis.pool`; only the gateway writes to its stdin. A
job of `None` is a ping (answered once the libraries are imported). Logs go
to stderr, never to stdout, which carries the results.
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
import signal
import sys
from typing import BinaryIO

from gateway.analysis.extract.cache import TextCache
from gateway.analysis.extract.ocr import OcrEngine
from gateway.analysis.pool import FRAME, analyse_job
from gateway.processes import die_with_parent
from gateway.signatures.setup import CheckerCache


def _read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def _answer(frame: bytes, checkers: CheckerCache, texts: TextCache,
            ocr: OcrEngine) -> tuple[str, object]:
    """("ok", result), ("error", text), or ("memory", text) when the job ran out of memory."""
    try:
        job = pickle.loads(frame)
        if job is None:
            return ("ok", None)
        return ("ok", analyse_job(job, checkers, texts, ocr=ocr))
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


def main() -> None:
    die_with_parent(signal.SIGKILL)  # stdin's end of file also stops it, between jobs
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s analysis-worker %(name)s %(message)s")
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    cap_memory(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    source = sys.stdin.buffer
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print() cannot break a frame
    checkers = CheckerCache()  # this worker's one signature checker, kept between jobs
    texts = TextCache()  # the documents this worker read, by the hash of their bytes
    ocr = OcrEngine()  # Tesseract and the scanned pages it read, by document, page, settings
    while (frame := _read_frame(source)) is not None:
        answer = _answer(frame, checkers, texts, ocr)
        result = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            sink.write(FRAME.pack(len(result)) + result)
            sink.flush()
        except BrokenPipeError:  # the gateway worker is gone: nobody wants the answer
            os._exit(0)  # not sys.exit: flushing the dead pipe again at exit would fail too


if __name__ == "__main__":
    main()
