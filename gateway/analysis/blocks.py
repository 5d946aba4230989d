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

The runs are found on the message's shape (every base64 character made `A`, every
byte but CR and LF made `!`, by one `bytes.translate`): a stretch without `!` long
enough to hold a run is taken as one run when its lines are all of one width (the
way encoders write them: one comparison of bytes), else read by the regular
expression. Any run cut out is whole lines of base64, however it was found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from email.message import Message

#: Runs shorter than this are left to the parser (not worth a marker).
MIN_BYTES = 4096
_BLOCK = MIN_BYTES // 2
_LF = 10
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
#: Each run is matched once, whole (possessive: no backtracking into it), whatever its length.
_RUN = re.compile(rb"^(?:[A-Za-z0-9+/=]++\r?\n)++", re.MULTILINE)
#: Base64 characters to `A`, CR and LF kept, every other byte to `!`.
_SHAPE = bytes(b"A"[0] if byte in _BASE64 else byte if byte in b"\r\n" else b"!"[0]
               for byte in range(256))
_PREFIX = "TTHgatewayBLOCK"
_MARKER = re.compile(_PREFIX + r"([0-9]{8})x")


def parse_in_blocks(message: bytes, parse: Callable[[bytes], Message]) -> Message:
    """`parse(message)`, with the long base64 runs of `message` read in whole blocks."""
    if _PREFIX.encode() in message:
        return parse(message)
    runs: list[str] = []
    pieces: list[bytes] = []
    position = 0
    for start, end in _long_runs(message):
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


def _long_runs(message: bytes) -> Iterator[tuple[int, int]]:
    """The (start, end) of runs of whole base64 lines of at least MIN_BYTES, in order.

    A stretch of MIN_BYTES without `!` holds a whole aligned block of MIN_BYTES / 2:
    only the blocks are searched for `!`, so a message of short text lines costs a
    `find` per block, not per line."""
    shape = message.translate(_SHAPE)
    block = 0
    while block < len(shape):
        if shape.find(b"!", block, block + _BLOCK) != -1:
            block += _BLOCK
            continue
        left = shape.rfind(b"!", 0, block) + 1
        right = shape.find(b"!", block + _BLOCK)
        right = len(shape) if right == -1 else right
        newline = shape.find(b"\n", left, right)
        # The stretch's first whole line (the message's start is a line start), its last.
        start = left if left == 0 else newline + 1
        end = shape.rfind(b"\n", start, right) + 1
        if newline != -1 and end - start >= MIN_BYTES:
            yield from _runs_in(message, shape, start, end)
        block = (right // _BLOCK + 1) * _BLOCK


def _runs_in(message: bytes, shape: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The long runs in the whole lines from `start` to `end` (no `!` in their shape):
    all of them at once when they are lines of one width after the empty lines that may
    lead (a header block's end), else as the expression reads."""
    first = shape.find(b"A", start, end)
    if first > start and shape[first - 1] == _LF:
        start = first
    unit = shape[start : shape.index(b"\n", start) + 1]
    whole = (end - start) // len(unit) * len(unit)
    if _is_line(unit) and shape[start : start + whole] == unit * (whole // len(unit)):
        last = start + whole  # and a shorter last line, as encoders end
        tail = shape[last : shape.find(b"\n", last, end) + 1]
        stop = last + len(tail) if tail and _is_line(tail) else last
        if stop - start >= MIN_BYTES:
            yield start, stop
        return
    for run in _RUN.finditer(message, start, end):
        if run.end() - run.start() >= MIN_BYTES:
            yield run.span()


def _is_line(shape: bytes) -> bool:
    """The shape of one base64 line: `A` at least once, then LF or CR LF."""
    width = len(shape.rstrip(b"\r\n"))
    return width > 0 and shape[:width] == b"A" * width and shape[width:] in (b"\n", b"\r\n")


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
