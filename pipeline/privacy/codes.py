"""Identifiers read aloud: spelled letters, the city alphabet, digit chunks across pauses, cue-typed codes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from stdnum import iban
from stdnum.it import codicefiscale, iva

from pipeline.privacy.spans import _CF_SHAPE, Span, luhn_valid

# -- spelled and chunked identifiers ------------------------------------------------------------
# Whisper writes an identifier read aloud as words: letter names ("erre esse esse"), the city
# alphabet ("a come ancona"), digits in chunks with pauses ("339 poi 456 ... 7812"). A "code run"
# is a sequence of such tokens; checksummed identifiers are looked for inside it (CF, IBAN,
# partita IVA, card) and a cue before it ("codice cliente", "targa") types the whole run.
_LETTER_NAMES = {
    "a": "A", "bi": "B", "ci": "C", "di": "D", "e": "E", "effe": "F", "gi": "G", "acca": "H",
    "i": "I", "elle": "L", "emme": "M", "enne": "N", "o": "O", "pi": "P", "cu": "Q", "qu": "Q",
    "erre": "R", "esse": "S", "ti": "T", "u": "U", "vu": "V", "vi": "V", "zeta": "Z", "kappa": "K",
    "cappa": "K", "ics": "X", "ipsilon": "Y", "ypsilon": "Y", "i lunga": "J", "doppia vu": "W",
    "doppia v": "W", "doppio vu": "W",
}  # fmt: skip
_CITY = re.compile(
    r"\b([a-z]|"
    + "|".join(sorted((n for n in _LETTER_NAMES if " " not in n), key=len, reverse=True))
    + r")\s+come\s+[a-zà-ù']+",
    re.IGNORECASE,
)
_CODE_TOKEN = re.compile(
    r"doppi[ao]\s+vu?\b|i\s+lunga\b"  # two-word letter names
    r"|\b[a-z]\s+come\s+[a-zà-ù']+|\b(?:"
    + "|".join(n for n in _LETTER_NAMES if " " not in n)
    + r")\s+come\s+[a-zà-ù']+"  # city alphabet
    r"|\b[a-z]{0,6}\d[a-z\d]*\b"  # digits, or letters and digits ("d07", "it60", "b354")
    r"|\b(?:ipsilon|ypsilon)\b"
    r"|\b[a-z]{1,6}\b",  # a letter name, a single letter, or a short chunk ("rssmra")
    re.IGNORECASE,
)
_CODE_GAP = re.compile(r"\s*(?:,|\.\.\.|…|-|/|\.)\s*|\s+(?:poi|\.\.\.)\s+|\s*", re.IGNORECASE)


@dataclass(frozen=True)
class CodeToken:
    """One spoken piece of an identifier and the characters it stands for."""

    start: int
    end: int
    chars: str
    kind: str  # "digits", "mixed" (letters and digits), "letter" (a spoken letter), "chunk"


def _code_token(m: re.Match[str]) -> CodeToken | None:
    word = m.group(0).lower()
    city = _CITY.fullmatch(word)
    if city:
        letter = city.group(1)
        return CodeToken(m.start(), m.end(), _LETTER_NAMES.get(letter, letter).upper(), "letter")
    word = re.sub(r"\s+", " ", word)
    if word == "poi":  # "339 poi 456": a pause word, part of the gap
        return None
    if word == "sei":  # "i t sei sei": a digit inside a spelled run, the verb elsewhere
        return CodeToken(m.start(), m.end(), "6", "digits")
    if word in _LETTER_NAMES:
        return CodeToken(m.start(), m.end(), _LETTER_NAMES[word], "letter")
    if word.isdigit():
        return CodeToken(m.start(), m.end(), word, "digits")
    if any(c.isdigit() for c in word):
        return CodeToken(m.start(), m.end(), word.upper(), "mixed")
    if len(word) == 1:
        return CodeToken(m.start(), m.end(), word.upper(), "letter")
    return CodeToken(m.start(), m.end(), word.upper(), "chunk")


@lru_cache(maxsize=64)
def code_runs(text: str) -> tuple[tuple[CodeToken, ...], ...]:
    """Maximal runs of identifier tokens separated by spaces, commas, pauses or "poi"."""
    runs: list[list[CodeToken]] = []
    current: list[CodeToken] = []
    for m in _CODE_TOKEN.finditer(text):
        token = _code_token(m)
        if token is None:
            continue
        if current and not _CODE_GAP.fullmatch(text[current[-1].end : token.start]):
            runs.append(current)
            current = []
        current.append(token)
    if current:
        runs.append(current)
    return tuple(tuple(r) for r in runs if any(t.kind != "chunk" for t in r))


def _windows(run: tuple[CodeToken, ...], length: int) -> Iterable[tuple[int, int, str]]:
    """(first, last, chars) for every token window of `run` spelling exactly `length` chars."""
    for i in range(len(run)):
        chars = ""
        for j in range(i, len(run)):
            chars += run[j].chars
            if len(chars) >= length:
                if len(chars) == length:
                    yield i, j, chars
                break


def _checksummed(text: str, length: int, valid: Callable[[str], bool]) -> Iterable[Span]:
    for run in code_runs(text):
        for i, j, chars in _windows(run, length):
            if valid(chars):
                yield run[i].start, run[j].end


def _iban_valid(chars: str) -> bool:
    return chars.startswith("IT") and iban.is_valid(chars)


def _cf_valid(chars: str) -> bool:
    return bool(_CF_SHAPE.fullmatch(chars)) and codicefiscale.is_valid(chars)


def find_spelled_cf(text: str) -> Iterable[Span]:
    """A codice fiscale spelled or read in chunks, found by its checksum."""
    yield from _checksummed(text, 16, _cf_valid)


def find_spelled_iban(text: str) -> Iterable[Span]:
    """An Italian IBAN read in chunks or letter by letter, found by its checksum."""
    yield from _checksummed(text, 27, _iban_valid)


def find_spelled_piva(text: str) -> Iterable[Span]:
    """A partita IVA read in chunks, found by its checksum."""
    yield from _checksummed(text, 11, lambda c: c.isdigit() and iva.is_valid(c))


def find_spelled_card(text: str) -> Iterable[Span]:
    """A payment card read in chunks ("5555 5555 poi 5555 4444"), Luhn-checked."""
    for length in (16, 15, 14, 13):
        yield from _checksummed(text, length, lambda c: c.isdigit() and luhn_valid(c))


def _after_cue(
    text: str,
    cue: re.Pattern[str],
    min_chars: int,
    max_chars: int,
    need_digit: bool = True,
    only_digits: bool = False,
) -> Iterable[Span]:
    """The code run right after `cue` (fillers like "è", "il numero" between), as a span.

    Only spoken letters, digits and short letter chunks next to digits are taken, up to
    `max_chars` characters; ordinary words end the run.
    """
    for m in cue.finditer(text):
        rest = text[m.end() : m.end() + 160]
        lead = re.match(
            r"(?:\s*(?:è|e'|:|il|la|lo|numero|n\.|nr\.?|n°|di|del|della|mio|mia)\b)*\s*", rest
        )
        offset = m.end() + (lead.end() if lead else 0)
        for whole in code_runs(text):
            firsts = [k for k, t in enumerate(whole) if t.start == offset]
            if not firsts:
                continue
            run = whole[firsts[0] :]
            taken: list[CodeToken] = []
            for k, token in enumerate(run):
                if only_digits and token.kind != "digits":
                    break
                neighbours = run[max(0, k - 1) : k + 2]
                if token.kind == "chunk" and (
                    len(token.chars) > 3
                    or not any(t.kind in ("digits", "mixed") for t in neighbours)
                ):
                    break
                if sum(len(t.chars) for t in taken) + len(token.chars) > max_chars:
                    break
                taken.append(token)
            chars = "".join(t.chars for t in taken)
            if len(chars) >= min_chars and (not need_digit or any(c.isdigit() for c in chars)):
                yield taken[0].start, taken[-1].end


_UNIT_AHEAD = re.compile(
    r"\s*(?:di\s+)?(?:euro|eur|€|%|per\s*cento|anni|mesi|giorni|settimane|volte|minuti|ore|rate|"
    r"km|chilometri|metri|kwh|kilowatt|mc|metri\s+cubi|smc)\b",
    re.IGNORECASE,
)
_DATE_SHAPE = re.compile(r"(\d{1,2})[\s./\-]+(\d{1,2})[\s./\-]+(\d{2}|\d{4})")


def digit_runs(text: str) -> Iterable[tuple[int, int, str]]:
    """(start, end, digits): digit groups read as one number across spaces, pauses and "poi".

    A comma joins two groups only when one of them is a single spoken digit ("3 2 0, 9 8 7"):
    "300, 200, 150 e 100 euro" stays a list of amounts.
    """
    for run in code_runs(text):
        group: list[CodeToken] = []
        for token in (*run, None):
            if token is not None and token.kind == "digits":
                if group:
                    gap = text[group[-1].end : token.start]
                    joined = "," not in gap or len(token.chars) == 1 or len(group[-1].chars) == 1
                    if not joined:
                        yield group[0].start, group[-1].end, "".join(t.chars for t in group)
                        group = []
                group.append(token)
                continue
            if group:
                yield group[0].start, group[-1].end, "".join(t.chars for t in group)
                group = []


def _is_quantity(text: str, start: int, end: int) -> bool:
    """An amount, a duration, a count, a date: a unit after it, or a date's shape."""
    if _UNIT_AHEAD.match(text, end) or re.search(r"€\s*$", text[:start]):
        return True
    date = _DATE_SHAPE.fullmatch(text[start:end])
    return bool(date and 1 <= int(date.group(1)) <= 31 and 1 <= int(date.group(2)) <= 12)


def widen(text: str, span: Span) -> Span:
    """Fail safe: grow an identifier's span over the digit chunks read next to it in one run.

    "[IBAN] 0000 0123 456" must not leave its last chunks; a chunk followed by a unit
    ("2 volte") is a quantity and stays.
    """
    start, end = span
    for run in code_runs(text):
        if run[0].start >= end or run[-1].end <= start:
            continue
        inside = [k for k, tok in enumerate(run) if tok.start < end and tok.end > start]
        if not inside:
            continue
        first, last = inside[0], inside[-1]
        while first > 0 and run[first - 1].kind in ("digits", "mixed"):
            first -= 1
        while (
            last + 1 < len(run)
            and run[last + 1].kind in ("digits", "mixed")
            and not _UNIT_AHEAD.match(text, run[last + 1].end)
        ):
            last += 1
        return min(start, run[first].start), max(end, run[last].end)
    return span


def find_chunked_phone(text: str) -> Iterable[Span]:
    """A phone number read in chunks ("339 poi 456 poi 7812", "320, 987, 6543")."""
    for start, end, digits in digit_runs(text):
        national = digits[2:] if digits.startswith("39") and len(digits) >= 11 else digits
        if 9 <= len(national) <= 11 and national[0] in "03" and not _is_quantity(text, start, end):
            yield start, end


def find_long_number(text: str) -> Iterable[Span]:
    """Fail safe: seven or more digits in a run that is not an amount, a duration or a date."""
    for start, end, digits in digit_runs(text):
        if len(digits) >= 7 and not _is_quantity(text, start, end):
            yield start, end


_CUSTOMER_CUE = re.compile(
    r"\b(?:codice\s+(?:cliente|utente|contratto|utenza)|numero\s+(?:cliente|utente|utenza|"
    r"(?:di\s+|del\s+)?contratto)|id\s+cliente|matricola)\b",
    re.IGNORECASE,
)
_DOCUMENT_CUE = re.compile(
    r"\b(?:carta\s+d\s*'\s*identità|carta\s+di\s+identità|documento(?:\s+d\s*'\s*identità)?|"
    r"patente(?:\s+di\s+guida)?|passaporto|permesso\s+di\s+soggiorno)\b",
    re.IGNORECASE,
)
_PLATE_CUE = re.compile(r"\btarga(?:\s+della\s+(?:macchina|moto|auto))?\b", re.IGNORECASE)
_CASE_CUE = re.compile(
    r"\b(?:(?:numero|codice)\s+(?:di\s+|della\s+)?pratica|pratica|(?:numero\s+di\s+)?riferimento|"
    r"protocollo|fascicolo|sinistro|sollecito\s+numero)\b",
    re.IGNORECASE,
)
_PLATE = re.compile(r"\b[a-z]{2}\s?\d{3}\s?[a-z]{2}\b", re.IGNORECASE)


def find_customer_code(text: str) -> Iterable[Span]:
    """A customer or contract code after its cue ("codice cliente ab 445 210")."""
    yield from _after_cue(text, _CUSTOMER_CUE, 4, 20)


def find_document(text: str) -> Iterable[Span]:
    """An identity card, driving licence or passport number after its cue."""
    yield from _after_cue(text, _DOCUMENT_CUE, 5, 12)


def find_plate(text: str) -> Iterable[Span]:
    """A car plate after "targa", spelled or not ("effe gi 456 acca elle")."""
    yield from _after_cue(text, _PLATE_CUE, 5, 8)


def find_case_number(text: str) -> Iterable[Span]:
    """A case, reference or protocol number after its cue."""
    yield from _after_cue(text, _CASE_CUE, 4, 20)
