"""Domains that imitate an official domain: homographs, typos, prefixes, hyphen/dot variants.

A domain is compared in its canonical Unicode form (punycode decoded), after
reduction to a *skeleton*: diacritics removed, casefolded, confusable
characters mapped to one Latin letter (Cyrillic `а` → `a`, `1`/`i` → `l`,
`rn` → `m`, ...). The map is compact on purpose: it covers the characters
that render like Latin letters in mail clients, not the whole Unicode
confusables table (the PyPI packages that carry it do not compute skeletons).

Checks, in order, against each official domain `D` with registrable label `L`
(`thuathienhue` for `thuathienhue.gov.vn`):
- `D` itself, its real subdomains and the exempt domains are never look-alikes;
- the domain (or its last labels) has the skeleton of `D` (homograph, punycode);
- with dots and hyphens removed it contains `D` (`thuathienhue-gov.vn`,
  `thuathienhue.gov.vn.example.com`);
- its last labels are within edit distance 2 of `D` (1 when `D` is shorter
  than 12 characters): `thuathlenhue.gov.vn`, `hue.gov.vm`;
- for labels of 6 characters or more: `L` under another public suffix, or
  within one edit of it (`thuathienhue.com`), or contained in the registrable
  label (`mail-thuathienhue.vn`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from gateway.analysis.addresses import (
    canonical_domain,
    in_domain,
    public_suffix,
    registrable_domain,
)

_CONFUSABLES = str.maketrans(
    {
        "а": "a", "ɑ": "a", "α": "a", "ä": "a",
        "ь": "b", "в": "b", "ƅ": "b",
        "с": "c", "ϲ": "c", "ⅽ": "c",
        "ԁ": "d", "ɗ": "d", "đ": "d", "ⅾ": "d",
        "е": "e", "ё": "e", "ε": "e", "ҽ": "e",
        "ɡ": "g", "ց": "g",
        "һ": "h", "н": "h", "ʜ": "h",
        "і": "l", "ı": "l", "ɩ": "l", "ι": "l", "i": "l", "1": "l", "|": "l", "ӏ": "l",
        "ℓ": "l", "ł": "l", "ⅼ": "l", "!": "l", "ј": "j", "ϳ": "j",
        "к": "k", "κ": "k",
        "м": "m", "ⅿ": "m",
        "п": "n", "η": "n", "ո": "n",
        "о": "o", "ο": "o", "σ": "o", "0": "o", "ө": "o", "օ": "o",
        "р": "p", "ρ": "p",
        "ԛ": "q",
        "г": "r",
        "ѕ": "s", "5": "s", "$": "s",
        "т": "t", "τ": "t",
        "υ": "u", "ս": "u", "ц": "u",
        "ν": "v", "ѵ": "v",
        "ԝ": "w", "ѡ": "w", "ω": "w",
        "х": "x", "χ": "x",
        "у": "y", "ү": "y", "γ": "y",
        "ᴢ": "z",
        "_": "-", "‐": "-", "‑": "-", "–": "-", "—": "-", "。": ".", "．": ".", "｡": ".",
    }
)  # fmt: skip
_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_LONG_LABEL = 6
_LONG_DOMAIN = 12


@dataclass(frozen=True, slots=True)
class Lookalike:
    """Why `domain` imitates the official domain `imitates`."""

    domain: str
    imitates: str
    reason: str


@lru_cache(maxsize=8192)
def skeleton(text: str) -> str:
    """`text` without diacritics, casefolded, confusable characters folded together."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    folded = plain.translate(_CONFUSABLES)
    for sequence, replacement in _SEQUENCES:
        folded = folded.replace(sequence, replacement)
    return folded


def squash(text: str) -> str:
    """`text` without dots and hyphens."""
    return text.replace(".", "").replace("-", "")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a transposition counts once), capped at `limit + 1`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


@dataclass(frozen=True, slots=True)
class _Target:
    domain: str
    skeleton: str
    squashed: str
    labels: int
    label: str
    suffix: str

    @classmethod
    def of(cls, domain: str) -> _Target:
        suffix = public_suffix(domain)
        label = registrable_domain(domain).removesuffix("." + suffix)
        shape = skeleton(domain)
        return cls(domain, shape, squash(shape), domain.count(".") + 1, skeleton(label), suffix)


class LookalikeDetector:
    """Tells whether a domain imitates one of the official domains."""

    def __init__(self, official: Iterable[str], exempt: Iterable[str] = ()) -> None:
        self._official = tuple(sorted({canonical_domain(d)[0] for d in official}))
        self._exempt = tuple(sorted({canonical_domain(d)[0] for d in exempt}))
        self._targets = tuple(_Target.of(domain) for domain in self._official)
        self.check = lru_cache(maxsize=8192)(self._check)

    def is_lookalike(self, domain: str) -> bool:
        return self.check(domain) is not None

    def _check(self, domain: str) -> Lookalike | None:
        """The imitated official domain and why, or None.

        Every official domain is tried; the longest one imitated wins (the most
        specific explanation), then the strongest evidence (homograph, then
        prefix/hyphen forms, then typos, then the name elsewhere), so the answer
        never depends on the order of the list.
        """
        canonical, valid = canonical_domain(domain)
        if not canonical or canonical.startswith("["):
            return None
        if valid and self._legitimate(canonical):
            return None
        found = []
        for target in self._targets:
            imitation = _imitation(canonical, target)
            if imitation is not None:
                found.append((-len(target.domain), imitation[0], target.domain, imitation[1]))
        if not found:
            return None
        _length, _rank, imitated, reason = min(found)
        return Lookalike(canonical, imitated, reason)

    def _legitimate(self, domain: str) -> bool:
        return any(in_domain(domain, d) for d in (*self._official, *self._exempt))


def _imitation(domain: str, target: _Target) -> tuple[int, str] | None:
    """How strongly `domain` imitates `target` (0 strongest) and why, or None."""
    shape = skeleton(domain)
    tail = ".".join(shape.split(".")[-target.labels :])
    if tail == target.skeleton:
        return 0, "homograph of the official domain"
    if target.squashed in squash(shape):
        return 1, "contains the official domain"
    limit = 2 if len(target.domain) >= _LONG_DOMAIN else 1
    if edit_distance(tail, target.skeleton, limit) <= limit:
        return 2, "one or two characters away from the official domain"
    return _label_imitation(domain, target) if len(target.label) >= _LONG_LABEL else None


def _label_imitation(domain: str, target: _Target) -> tuple[int, str] | None:
    suffix = public_suffix(domain)
    label = skeleton(registrable_domain(domain).removesuffix("." + suffix))
    if suffix != target.suffix and edit_distance(label, target.label, 1) <= 1:
        return 3, f"official name under another suffix (.{suffix})"
    if squash(target.label) in squash(label):
        return 3, "contains the official name"
    return None
