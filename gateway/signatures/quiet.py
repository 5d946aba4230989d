"""pyHanko logs every certificate it cannot chain or validate as a WARNING with a full
traceback. For a gateway those are findings about a message (each becomes the reason on
the signature: "timestamp: no chain to a trusted anchor"), and senders control how many
arrive, so they are logged once, at DEBUG level, in one line, without the traceback.
Any other error pyHanko logs keeps its level and traceback."""

from __future__ import annotations

import logging

from pyhanko.sign.diff_analysis import SuspiciousModification
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator.errors import PathError, ValidationError

#: The pyHanko modules that log validation findings with `exc_info`.
LOGGERS = (
    "pyhanko.sign.validation.generic_cms",
    "pyhanko.sign.validation.pdf_embedded",
    "pyhanko.sign.validation.status",
    "pyhanko.sign.diff_analysis.policies",
)
FINDINGS = (PathError, ValidationError, SignatureValidationError, SuspiciousModification)
#: Warnings pyHanko gives for every document of a kind, not about a fault.
ROUTINE = ("StandardDiffPolicy was not designed to support DocMDP level 3",)


class FindingsInOneLine(logging.Filter):
    """A record whose exception is a validation finding: DEBUG, one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, FINDINGS) or str(record.msg).startswith(ROUTINE):
            found = f" ({type(error).__name__}: {error})" if error is not None else ""
            record.msg = f"{record.getMessage()}{found}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_FILTER = FindingsInOneLine()


def install() -> None:
    """Put the filter on pyHanko's validation loggers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
