"""Domains that imitate an official domain, and domains that merely carry its name.

A domain is compared in its canonical Unicode form (punycode decoded), after
reduction to a *skeleton*: diacritics removed, casefolded, confusable
characters mapped to one Latin letter (Cyrillic `а` → `a`, `1`/`i` → `l`,
`rn` → `m`, ...). The map is compact on purpose: it covers the characters
that render like Latin letters in mail clients, not the whole Unicode
confusables table (the PyPI packages that carry it do not compute skeletons).

Two kinds of finding, against each official domain `D` with registrable label
`L` (`thuathienhue` for `thuathienhue.gov.vn`), once `D` itself, its real
subdomains and the exempt domains are set aside:

*Imitations* (`Kind.IMITATION`, refused by the default policy) copy `D`:
- the domain (or its last labels) has the skeleton of `D` (homograph, punycode);
- with dots and hyphens removed it contains `D`: the official domain as a
  prefix (`thuathienhue.gov.vn.example.com`) or with hyphens for dots
  (`thuathienhue-gov.vn`, `thua-thien-hue.gov.vn`);
- its last labels are within edit distance 2 of `D` (1 when `D` is shorter
  than 12 characters): `thuathlenhue.gov.vn`, `hue.gov.vm`;
- its registrable label is a homograph of `L` under any suffix
  (`thuаthienhue.com` with a Cyrillic `а`): confusable letters have no honest use.

*Namesakes* (`Kind.NAME`, at most tagged) only carry the province's name, for
labels of 6 characters or more: `L` (or `L` one edit away) under another
public suffix (`thuathienhue.edu.vn`, the education department), or `L`
inside a longer registrable label (`baothuathienhue.vn`, the provincial
newspaper). Real neighbours of the province are many; they are not
imitations, and the ones named in `lookalike_exempt` are not even namesakes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from gateway.mail.addresses import canonical_domain, in_domain, public_suffix, registrable_domain

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
_NAME_RANK = 3
_REASONS_VI = {
    "homograph of the official domain": "ký tự trông giống tên miền công vụ",
    "contains the official domain": "chứa tên miền công vụ",
    "one or two characters away from the official domain":
        "sai khác một, hai ký tự so với tên miền công vụ",
    "homograph of the official name": "ký tự trông giống tên tỉnh",
    "official name under another suffix": "tên tỉnh dưới đuôi tên miền khác",
    "contains the official name": "chứa tên tỉnh",
}


class Kind(StrEnum):
    """An imitation of the official domain, or a domain that only carries its name."""

    IMITATION = "imitation"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class Lookalike:
    """Why `domain` resembles the official domain `imitates`, and how (`kind`)."""

    domain: str
    imitates: str
    reason: str
    kind: Kind = Kind.IMITATION
    reason_vi: str = ""


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


def flat(text: str) -> str:
    """The skeleton of `text` without dots and hyphens (folded before and after, so that
    neither a fold across a removed dot nor a full-width dot escapes)."""
    return squash(skeleton(squash(text)))


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
    plain_label: str

    @classmethod
    def of(cls, domain: str) -> _Target:
        suffix = public_suffix(domain)
        label = registrable_domain(domain).removesuffix("." + suffix)
        shape = skeleton(domain)
        return cls(domain, shape, flat(domain), domain.count(".") + 1,
                   skeleton(label), suffix,
                   label.casefold())


class LookalikeDetector:
    """Tells whether a domain imitates one of the official domains."""

    def __init__(self, official: Iterable[str], exempt: Iterable[str] = ()) -> None:
        self._official = tuple(sorted({canonical_domain(d)[0] for d in official}))
        self._exempt = tuple(sorted({canonical_domain(d)[0] for d in exempt}))
        self._targets = tuple(_Target.of(domain) for domain in self._official)
        self.check = lru_cache(maxsize=8192)(self._check)

    def is_lookalike(self, domain: str) -> bool:
        """True for an imitation; a domain that only carries the name is not one."""
        return self.imitation(domain) is not None

    def imitation(self, domain: str) -> Lookalike | None:
        """The finding when `domain` imitates an official domain (never a namesake)."""
        found = self.check(domain)
        return found if found is not None and found.kind is Kind.IMITATION else None

    def _check(self, domain: str) -> Lookalike | None:
        """The resembled official domain, why and how, or None.

        Every official domain is tried; an imitation beats a namesake, then the
        longest official domain wins (the most specific explanation), then the
        strongest evidence (homograph, then prefix/hyphen forms, then typos,
        then the name elsewhere), so the answer never depends on the order of
        the list.
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
                rank, reason = imitation
                kind = Kind.NAME if rank >= _NAME_RANK else Kind.IMITATION
                found.append((kind is Kind.NAME, -len(target.domain), rank, target.domain,
                              reason, kind))
        if not found:
            return None
        *_order, imitated, reason, kind = min(found)
        key, _, detail = reason.partition(" (")
        reason_vi = _REASONS_VI[key] + (f" ({detail}" if detail else "")
        return Lookalike(canonical, imitated, reason, kind, reason_vi)

    def _legitimate(self, domain: str) -> bool:
        return any(in_domain(domain, d) for d in (*self._official, *self._exempt))


def _imitation(domain: str, target: _Target) -> tuple[int, str] | None:
    """How strongly `domain` imitates `target` (0 strongest) and why, or None."""
    shape = skeleton(domain)
    tail = ".".join(shape.split(".")[-target.labels :])
    if tail == target.skeleton:
        return 0, "homograph of the official domain"
    if target.squashed in flat(domain):
        return 1, "contains the official domain"
    limit = 2 if len(target.domain) >= _LONG_DOMAIN else 1
    if edit_distance(tail, target.skeleton, limit) <= limit:
        return 2, "one or two characters away from the official domain"
    return _label_imitation(domain, target) if len(target.label) >= _LONG_LABEL else None


def _label_imitation(domain: str, target: _Target) -> tuple[int, str] | None:
    suffix = public_suffix(domain)
    written = registrable_domain(domain).removesuffix("." + suffix)
    label = skeleton(written)
    if label == target.label and written.casefold() != target.plain_label:
        return 2, "homograph of the official name"
    if suffix != target.suffix and edit_distance(label, target.label, 1) <= 1:
        return _NAME_RANK, f"official name under another suffix (.{suffix})"
    if squash(target.label) in squash(label):
        return _NAME_RANK, "contains the official name"
    return None
