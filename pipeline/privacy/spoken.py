"""Italian number words as digits, with a map back to the original characters.

ASR writes identifiers the way people say them: "tre quattro sette, due uno otto..." or
"trecentoquarantasette". Recognizers look for digits, so the redactor runs them on a normalised
copy of the text and maps every match back to the original offsets, which is what gets replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "zero": 0,
    "uno": 1,
    "un": 1,
    "una": 1,
    "due": 2,
    "tre": 3,
    "tré": 3,
    "quattro": 4,
    "cinque": 5,
    "sei": 6,
    "sette": 7,
    "otto": 8,
    "nove": 9,
    "dieci": 10,
    "undici": 11,
    "dodici": 12,
    "tredici": 13,
    "quattordici": 14,
    "quindici": 15,
    "sedici": 16,
    "diciassette": 17,
    "diciotto": 18,
    "diciannove": 19,
}
_TENS = {
    "venti": 20,
    "trenta": 30,
    "quaranta": 40,
    "cinquanta": 50,
    "sessanta": 60,
    "settanta": 70,
    "ottanta": 80,
    "novanta": 90,
}
# "un", "una" and "sei" are also an article and a verb: alone they stay words.
_AMBIGUOUS_ALONE = {"un", "una", "sei"}
_WORD = re.compile(r"[a-zàèéìòù]+", re.IGNORECASE)


def _below_hundred(word: str) -> int | None:
    if word in _UNITS and word not in {"un", "una"}:
        return _UNITS[word]
    for tens_word, tens in _TENS.items():
        stem = tens_word[:-1]  # "venti" -> "vent" before a vowel: "ventuno", "ventotto"
        for prefix in (tens_word, stem):
            if word.startswith(prefix):
                rest = word[len(prefix) :]
                if rest == "" and prefix == tens_word:
                    return tens
                if rest in _UNITS and 0 < _UNITS[rest] < 10:
                    elided = rest[0] in "uo"
                    if elided == (prefix == stem):
                        return tens + _UNITS[rest]
                if rest == "tré":
                    return tens + 3
    return None


def _below_thousand(word: str) -> int | None:
    if word == "":
        return 0
    if "cento" in word:
        head, _, tail = word.partition("cento")
        hundreds = 1 if head == "" else _UNITS.get(head)
        if hundreds is None or not 1 <= hundreds <= 9 or head in {"uno", "un", "una"}:
            return None
        rest = _below_thousand(tail) if tail else 0
        if rest is None and tail[:1] == "t":  # "centottanta", "novecentotto": "cento" + "otto"
            rest = _below_thousand("o" + tail)
        return None if rest is None else hundreds * 100 + rest
    return _below_hundred(word)


def parse_number_word(word: str) -> int | None:
    """The value of one Italian number word, up to 999 999 ("duemilaventisei" -> 2026)."""
    word = word.lower()
    if word in {"mille"}:
        return 1000
    if word.startswith("mille"):
        rest = _below_thousand(word[5:])
        return None if rest is None else 1000 + rest
    if "mila" in word:
        head, _, tail = word.partition("mila")
        thousands = _below_thousand(head)
        rest = _below_thousand(tail)
        if thousands is None or thousands < 2 or rest is None:
            return None
        return thousands * 1000 + rest
    return _below_thousand(word)


@dataclass(frozen=True)
class Normalised:
    """Text with number words written as digits, and where each character came from."""

    text: str
    starts: list[int]  # original start offset of the character at each position
    ends: list[int]  # original end offset of the character at each position

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text back to the original text."""
        return self.starts[start], self.ends[end - 1]


def _number_tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, digits) for each word read as a number.

    "sei", "un" and "una" are also a verb and articles: they count only inside a run of numbers
    ("zero sei quattro"). A capitalised word inside a sentence is a name ("via dei Mille").
    """
    words = list(_WORD.finditer(text))
    values = [parse_number_word(m.group(0)) for m in words]
    tokens = []
    for i, (m, value) in enumerate(zip(words, values, strict=True)):
        word = m.group(0)
        if value is None:
            continue
        if word[0].isupper() and re.search(r"[^\s.!?]\s*$", text[: m.start()]):
            continue
        if word.lower() == "mille" and re.search(r"\bdei\s+$", text[: m.start()], re.IGNORECASE):
            continue  # "via dei mille": the street, not a thousand
        if word.lower() in _AMBIGUOUS_ALONE and not _next_to_number(words, values, i, text):
            continue
        tokens.append((m.start(), m.end(), str(value)))
    return tokens


def _next_to_number(
    words: list[re.Match[str]], values: list[int | None], i: int, text: str
) -> bool:
    for j in (i - 1, i + 1):
        if 0 <= j < len(words) and values[j] is not None:
            between = text[
                min(words[i].end(), words[j].end()) : max(words[i].start(), words[j].start())
            ]
            if (
                re.fullmatch(r"[\s,]*", between)
                and words[j].group(0).lower() not in _AMBIGUOUS_ALONE
            ):
                return True
    return False


def normalise_numbers(text: str) -> Normalised:
    """Replace number words by digits ("tre quattro sette" -> "3 4 7"); other text is unchanged."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    for start, end, digits in _number_tokens(text):
        for i in range(cursor, start):
            out.append(text[i])
            starts.append(i)
            ends.append(i + 1)
        out.append(digits)
        starts.extend([start] * len(digits))
        ends.extend([end] * len(digits))
        cursor = end
    for i in range(cursor, len(text)):
        out.append(text[i])
        starts.append(i)
        ends.append(i + 1)
    return Normalised("".join(out), starts, ends)
