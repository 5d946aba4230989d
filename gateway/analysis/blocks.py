"""Long base64 blocks kept away from the email package's line-by-line parser.

The standard library's `FeedParser` reads a message one line at a time and
tries every line against the delimiters of every enclosing multipart: a 2 MB
attachment is 27 000 lines, and that reading is most of the cost of the
analysis. Yet a line made only of base64 characters (`A-Z a-z 0-9 + / =`) can
play no part in the MIME structure: it has no colon and no leading blank (it
is no header field and no continuation), it does not start with `--` (no
delimiter) or `From ` and it is not empty (it does not end a header block). In
every state of the parser (headers, body, preamble, epilogue, enclosed
message) a run of such lines is read as ordinary text that lands, whole and
unchanged, in one string of the tree (a body, a preamble or an epilogue),
except that the line break ending the run may be given to the delimiter that
follows it.

So `parse` cuts each long run out of the bytes, in whole blocks, and leaves in
its place one line of the same kind: a marker, unique in the message, ending
with the run's own last line break. The parser reads the small remainder as it
would read the whole (the structure, every header field, every defect are its
own); then each marker in the tree's strings becomes its run again. A marker
that is not found exactly once (a case this reasoning missed) sends the whole
message to the parser unchanged. Decoding the base64 is left to the email
package (`get_payload(decode=True)`, one `binascii` call per body).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import Message

#: Runs shorter than this are left to the parser (not worth a marker).
MIN_BYTES = 4096
#: Each run is matched once, whole (possessive: no backtracking into it), whatever its length.
_RUN = re.compile(rb"^(?:[A-Za-z0-9+/=]++\r?\n)++", re.MULTILINE)
_PREFIX = "TTHgatewayBLOCK"
_MARKER = re.compile(_PREFIX + r"([0-9]{8})x")


def parse_in_blocks(message: bytes, parse: Callable[[bytes], Message]) -> Message:
    """`parse(message)`, with the long base64 runs of `message` read in whole blocks."""
    if _PREFIX.encode() in message:
        return parse(message)
    runs: list[str] = []
    pieces: list[bytes] = []
    position = 0
    for run in _RUN.finditer(message):
        start, end = run.span()
        if end - start < MIN_BYTES:
            continue
        eol = b"\r\n" if message[end - 2 : end] == b"\r\n" else b"\n"
        pieces += [message[position:start], f"{_PREFIX}{len(runs):08d}x".encode(), eol]
        runs.append(message[start : end - len(eol)].decode("ascii"))  # one copy of the run
        position = end
    if not runs:
        return parse(message)
    pieces.append(message[position:])
    tree = parse(b"".join(pieces))
    if sorted(_restore(tree, runs)) != list(range(len(runs))):
        return parse(message)
    return tree


def _restore(tree: Message, runs: list[str]) -> list[int]:
    """Put each run back in place of its marker; the numbers of the markers replaced."""
    found: list[int] = []

    def run(marker: re.Match[str]) -> str:
        found.append(int(marker.group(1)))
        return runs[found[-1]] if found[-1] < len(runs) else marker.group()

    def back(text: str) -> str:
        return _MARKER.sub(run, text) if _PREFIX in text else text

    pending = [tree]
    while pending:
        entity = pending.pop()
        for name in ("preamble", "epilogue"):
            text = getattr(entity, name)
            if isinstance(text, str):
                setattr(entity, name, back(text))
        payload = vars(entity).get("_payload")
        if isinstance(payload, list):
            pending.extend(part for part in payload if isinstance(part, Message))
        elif isinstance(payload, str):
            entity.set_payload(back(payload))
    return found
