"""Spans, finders and the small helpers every recognizer shares."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from stdnum import luhn

Span = tuple[int, int]
Finder = Callable[[str], Iterable[Span]]


def _spans(pattern: re.Pattern[str], text: str, group: int = 0) -> Iterable[Span]:
    for m in pattern.finditer(text):
        if m.group(group):
            yield m.start(group), m.end(group)


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-/,]", "", value).upper()


def _validated(pattern: re.Pattern[str], valid: Callable[[str], bool]) -> Finder:
    def find(text: str) -> Iterable[Span]:
        for m in pattern.finditer(text):
            if valid(_compact(m.group(0))):
                yield m.start(), m.end()

    return find


def luhn_valid(value: str) -> bool:
    """Payment-card Luhn checksum of the digits in `value` (of any script, as `_CARD` finds them)."""
    return luhn.checksum("".join(str(int(c)) for c in re.findall(r"\d", value))) == 0


_OMO = r"[\dLMNPQRSTUV]"  # digits or their omocodia letters
_CF_SHAPE = re.compile(
    rf"\b[A-Z]{{6}}{_OMO}{{2}}[A-EHLMPRST]{_OMO}{{2}}[A-Z]{_OMO}{{3}}[A-Z]\b", re.IGNORECASE
)
