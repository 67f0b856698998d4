"""Italian personal-data recognizers, as plain functions from text to spans.

Each recognizer answers "where in this text is an X?" for one placeholder type. They run on the
text after spoken numbers became digits (`pipeline.privacy.spoken`), so one digit pattern covers
"347 218 5590", "347,218,5590" and "tre quattro sette due uno otto...". `pipeline.privacy.redact` wraps
them as Presidio recognizers next to Presidio's own checksum-validated Italian ones.

Amounts of money, bill dates, durations, counts and ages are NOT personal data here: recognizers
that see digits are anchored on the shape or the context of an identifier, never on "a number".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from stdnum import iban, luhn
from stdnum.it import codicefiscale, iva

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


# -- phone ---------------------------------------------------------------------------------------
# ASR writes spoken digits in groups with spaces, dots, dashes, even thousands commas
# ("347,200,185,596"), and sometimes adds a digit: allow all of these; an amount in euro is kept.
_DIGIT_SEP = r"[\s.,\-/]?"
_DATE_AHEAD = r"(?!\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?!\d))"
_PHONE = re.compile(
    r"(?<![\w+/.\-])(?:(?:\+|00|\bpiù\s)\s?39[\s.\-]?)?"  # "più 39": a spoken +39
    + _DATE_AHEAD
    + r"[03](?:"  # mobiles start with 3, landlines with 0; 6 to 11 digits in all
    + _DIGIT_SEP
    + r"\d){5,10}(?!\w)(?!\s*(?:di\s+)?(?:euro|eur|€|%|per\s*cento))",
    re.IGNORECASE,
)
# Any run of six or more digits right after "numero (di telefono|cellulare)" is a phone number.
_PHONE_CONTEXT = re.compile(
    r"\b(?:numer[oi]\s+(?:di\s+)?(?:telefono|cellulare|fisso|di\s+casa)?|cellulare|telefono|"
    r"(?:ri)?chiam\w*\s+al|contatt\w*\s+al)\s*(?:è|e'|:|al)?\s*"
    r"((?:\+|00)?\d(?:(?:,\s|[\s.,\-/])?\d){5,14})(?!\w)",
    re.IGNORECASE,
)


_PHONE_CUE = re.compile(
    r"\b(?:numer[oi](?:\s+di\s+(?:telefono|cellulare|casa))?|cellulare|telefono|fisso|"
    r"(?:ri)?chiam\w*\s+(?:al|sul)|contatt\w*\s+al|trova\s+al)\b",
    re.IGNORECASE,
)


def find_phone(text: str) -> Iterable[Span]:
    """Italian mobile and landline numbers, with +39/0039 and any ASR grouping."""
    quantities = [
        (start, end) for start, end, _ in digit_runs(text) if _is_quantity(text, start, end)
    ]
    for span in (*_spans(_PHONE, text), *_spans(_PHONE_CONTEXT, text, group=1)):
        # "del 15 04 2026": a date read with spaces, not a phone "04 2026"
        if not any(s <= span[0] and span[1] <= e for s, e in quantities):
            yield span
    yield from find_chunked_phone(text)
    yield from _after_cue(text, _PHONE_CUE, 6, 15, only_digits=True)


# -- email ---------------------------------------------------------------------------------------
_EMAIL = re.compile(
    r"\b(?:[\w+-]+\s?(?:\.|\bpunto\b)\s?)*[\w+-]+\s?(?:@|\bchiocciola\b)\s?[\w-]+"
    r"(?:\s?(?:\.|\bpunto\b)\s?[a-z]{2,})+\b",
    re.IGNORECASE,
)
_EMAIL_CUE = re.compile(
    # "scrivetemi a", "mi scriva pure a", "mandatemi tutto a", "la mail è"...
    r"\b(?:(?:scriv|mand|invi|spedi)\w*(?:\s+\w+){0,2}?\s+a|(?:indirizzo\s+)?e-?mail|mail|"
    r"posta\s+elettronica)\s*(?:è|:)?\s+",
    re.IGNORECASE,
)
_SPOKEN_TLD = re.compile(
    r"(?:\bpunto|\.)\s*(?:c\s*o\s*m|ci\s*o\s*m|it|org|net|eu)\b", re.IGNORECASE
)
_SPOKEN_AT = re.compile(r"chiocciola|chi\s*occio|kioccio|@", re.IGNORECASE)


def find_email(text: str) -> Iterable[Span]:
    """Written addresses and addresses spelled aloud after a cue ("scrivermi a m a r i o ...").

    ASR mangles spelling ("chi occio la x m p l e punto ci o m"), so a spoken address runs from
    the cue to the last spoken domain ending within 150 characters, or, failing that, from the cue
    to the next "per"/punctuation when an "at" word is there.
    """
    yield from _spans(_EMAIL, text)
    for cue in _EMAIL_CUE.finditer(text):
        window = text[cue.end() : cue.end() + 150]
        endings = list(_SPOKEN_TLD.finditer(window))
        if endings:
            yield cue.end(), cue.end() + endings[-1].end()
        elif _SPOKEN_AT.search(window[:100]):
            stop = re.search(r"\s(?:per|perché|grazie)\b|[,;!?]", window)
            yield cue.end(), cue.end() + (stop.start() if stop else len(window))


# -- codice fiscale ------------------------------------------------------------------------------
_OMO = r"[\dLMNPQRSTUV]"  # digits or their omocodia letters
_CF_SPACED = re.compile(
    rf"\b(?:[A-Z]\s?){{6}}(?:{_OMO}\s?){{2}}[A-EHLMPRST]\s?(?:{_OMO}\s?){{2}}[A-Z]\s?"
    rf"(?:{_OMO}\s?){{3}}[A-Z]\b",
    re.IGNORECASE,
)
_CF_SHAPE = re.compile(
    rf"\b[A-Z]{{6}}{_OMO}{{2}}[A-EHLMPRST]{_OMO}{{2}}[A-Z]{_OMO}{{3}}[A-Z]\b", re.IGNORECASE
)
_CF_CUE = re.compile(r"\bcodice\s+fiscale\b|\bC\.?F\.?(?=\s)", re.IGNORECASE)
_CF_CUE_SPOKEN = re.compile(r"\b(?:codice\s+fiscale|fiscale|cf|c\s?f)\b", re.IGNORECASE)
_CF_FILLER = {"è", "e", "é", "il", "mio", "suo", "è:", ":", "allora", "cioè"}


def _cf_after_cue(text: str) -> Iterable[Span]:
    """What follows "codice fiscale": ASR often splits the code ("RSSMR è 81H501").

    Tokens with a digit or three or more capitals, within the next eight tokens, are the code;
    filler words between them are swallowed, ordinary words end the scan.
    """
    for cue in _CF_CUE.finditer(text):
        start = end = None
        for token in list(re.finditer(r"\S+", text[cue.end() :]))[:8]:
            word = token.group(0).strip(",.;")
            looks_like_code = any(c.isdigit() for c in word) or (len(word) >= 3 and word.isupper())
            single_letter = len(word) == 1 and word.isalpha() and start is not None
            if looks_like_code or single_letter:
                start = cue.end() + token.start() if start is None else start
                end = cue.end() + token.start() + len(word)
            elif word.lower() not in _CF_FILLER:
                break
        if start is not None and end is not None:
            yield start, end


def find_cf(text: str) -> Iterable[Span]:
    """Codice fiscale: the exact shape, spaced letters with a valid checksum, or after its cue."""
    yield from _spans(_CF_SHAPE, text)
    yield from _validated(_CF_SPACED, codicefiscale.is_valid)(text)
    yield from _cf_after_cue(text)
    yield from find_spelled_cf(text)
    yield from _after_cue(text, _CF_CUE_SPOKEN, 11, 17)


# -- partita IVA, IBAN, card ---------------------------------------------------------------------
_PIVA = re.compile(r"(?<![\w.])\d(?:[\s.]?\d){10}(?![\w])")
_PIVA_CONTEXT = re.compile(
    r"\b(?:partita\s+iva|p\.\s?iva|piva)\s*(?:è|:|numero)?\s*((?:IT\s?)?\d(?:[\s.]?\d){10})(?!\d)",
    re.IGNORECASE,
)


_PIVA_CUE = re.compile(r"\b(?:partita\s+iva|p\.?\s?iva)\b", re.IGNORECASE)


def find_piva(text: str) -> Iterable[Span]:
    """Partita IVA: eleven digits with a valid checksum, or any eleven digits after its cue."""
    yield from _validated(_PIVA, iva.is_valid)(text)
    yield from _spans(_PIVA_CONTEXT, text, group=1)
    yield from find_spelled_piva(text)
    yield from _after_cue(text, _PIVA_CUE, 11, 13)


_IBAN_IT = re.compile(r"\bI\s?T\s?\d\s?\d(?:\s?[A-Z0-9]){23}\b", re.IGNORECASE)


_IBAN_CUE = re.compile(r"\b(?:iban|coordinate(?:\s+bancarie)?)\b", re.IGNORECASE)


def find_iban_it(text: str) -> Iterable[Span]:
    """An Italian-shaped IBAN, even when ASR broke its checksum (Presidio finds valid ones)."""
    yield from _spans(_IBAN_IT, text)
    yield from find_spelled_iban(text)
    yield from _after_cue(text, _IBAN_CUE, 15, 34)


def luhn_valid(value: str) -> bool:
    """Payment-card Luhn checksum of the digits in `value` (of any script, as `_CARD` finds them)."""
    return luhn.checksum("".join(str(int(c)) for c in re.findall(r"\d", value))) == 0


_CARD = re.compile(r"(?<![\d,.])\d(?:[\s\-]?\d){12,18}(?![\d])")


def find_card(text: str) -> Iterable[Span]:
    """Payment cards in any digit grouping ASR writes, Luhn-checked."""
    yield from _validated(_CARD, luhn_valid)(text)
    yield from find_spelled_card(text)


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


# -- energy supply points ------------------------------------------------------------------------
_POD = re.compile(r"\bI\s?T\s?(?:\d[\s.]?){3}E[\s.]?(?:\d[\s.]?){7,8}\d\b", re.IGNORECASE)
_PDR = re.compile(r"(?<![\d,.])\d(?:[\s.]?\d){13}(?![\d])")


def find_pod(text: str) -> Iterable[Span]:
    """Electricity POD, `IT001E12345678` and its spaced, spoken forms."""
    yield from _spans(_POD, text)


def find_pdr(text: str) -> Iterable[Span]:
    """Gas PDR: fourteen digits (no amount or date has fourteen; "0039 320..." is a phone)."""
    for m in _PDR.finditer(text):
        if not _compact(m.group(0)).startswith("0039"):
            yield m.span()


# -- street addresses ----------------------------------------------------------------------------
_STREET = (
    r"(?:via|viale|v\.le|piazza|p\.zza|piazzale|corso|c\.so|vicolo|largo|strada|contrada|"
    r"località|loc\.|borgo|lungomare|salita|traversa|vico)"
)
_PLACE_WORD = r"(?:[\wÀ-ÿ'.]+)"
_ADDRESS = re.compile(
    rf"\b{_STREET}\s+((?:{_PLACE_WORD}\s+){{0,4}}?{_PLACE_WORD}),?\s+"
    r"(?:n\.?\s?|numero\s+|civico\s+)?\d{1,4}(?:\s?/\s?[a-z0-9]|[a-z](?!\w))?"
    r"(?:\s*,?\s*\d{5}(?-i:\s+[A-ZÀ-Ý][\wà-ÿ']+(?:\s+[A-ZÀ-Ý][\wà-ÿ']+)?)?)?",
    re.IGNORECASE,
)
_ADDRESS_CONTEXT = re.compile(
    r"\b(?:abit\w*|resident\w*|risied\w*|indirizz\w*|domicili\w*|vivo|trasferit\w*|sta\s+in|"
    r"spedit\w*|mandat\w*\s+a|recapit\w*)\b[^.!?]{0,20}$",
    re.IGNORECASE,
)
_CAP = re.compile(r"\bC\.?A\.?P\.?\s*(?:è\s*)?(\d{5})\b", re.IGNORECASE)


def find_address(text: str) -> Iterable[Span]:
    """Street, civic number, optional CAP and town.

    "via" is also an everyday word ("e così via", "via email"), so the street name must be
    capitalised, as Whisper writes it, or follow a residence cue ("abito in via roma 12").
    """
    for m in _ADDRESS.finditer(text):
        name = m.group(1)
        capitalised = any(w[:1].isupper() for w in name.split())
        if capitalised or _ADDRESS_CONTEXT.search(text[: m.start()]):
            yield m.start(), m.end()
    yield from _spans(_CAP, text, group=1)
    yield from find_lower_address(text)


_STREET_NAME_WORD = r"(?:[a-zà-ÿ]+(?:'[a-zà-ÿ]+)?)"
_ADDRESS_LOWER = re.compile(
    rf"\b{_STREET}\s+((?:{_STREET_NAME_WORD}\s+){{0,3}}{_STREET_NAME_WORD})\s+"
    r"(?:n\.?\s?|numero\s+|civico\s+)?(\d{1,4})(?!\d)(?:\s?/\s?[a-z0-9]\b|\s?(?:[b-d]|bis)\b)?",
    re.IGNORECASE,
)
_STREET_PARTICLES = {"dei", "del", "della", "delle", "degli", "di", "da", "san", "santa", "santo"}


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from spacy.lang.it.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) - _STREET_PARTICLES


def find_lower_address(text: str) -> Iterable[Span]:
    """Street word, a name of one to four words, and a house number: "via garibaldi 35".

    The name may not hold function words ("via mail mi è arrivato dopo 3 giorni" is no
    address), and the number may not be an amount or a duration ("piazza 3 volte").
    """
    stop = _stop_words()
    for m in _ADDRESS_LOWER.finditer(text):
        name = m.group(1).lower().split()
        if any(w in stop for w in name) or name[-1] in _STREET_PARTICLES:
            continue
        if _UNIT_AHEAD.match(text, m.end(2)):
            continue
        yield m.start(), m.end()


# -- dates of birth ------------------------------------------------------------------------------
_KIN_WORDS = (
    r"(?:marito|moglie|madre|padre|mamma|papà|figli[oa]|sorella|fratello|suocer[oa]|nonn[oa]|"
    r"compagn[oa])"
)
_MONTH = (
    r"(?:gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|"
    r"dicembre)"
)
_DATE = (
    r"(?:\d{1,2}\s?[/.\-]\s?\d{1,2}\s?[/.\-]\s?\d{2,4}"
    rf"|(?:\d{{1,2}}|primo)°?\s+(?:di\s+)?{_MONTH}(?:\s+(?:del\s+)?(?:19|20)?\d{{2}})?"
    r"|(?:19|20)\d{2})"
)
_BIRTH = re.compile(
    r"\b(?:sono\s+)?(?:nat[oaie]|data\s+di\s+nascita|nascita|classe|compleanno|"
    r"compiuto\s+(?:gli\s+)?anni|festeggiato\s+il\s+compleanno)\b"
    rf"\s*(?:è\s+|il\s+|nel\s+|del\s+|a\s+[A-ZÀ-Ýa-zà-ÿ][\wà-ÿ']+\s+(?:il\s+|nel\s+)?|:\s*)*"
    rf"({_DATE}|\d{{1,2}}\s+\d{{1,2}}\s+(?:19|20)?\d{{2}}(?!\d))",
    re.IGNORECASE,
)
# "sono del 58", "mio marito è del 14 luglio 61": a year or a date after "sono del" or after a
# relative's "è del" (a bill "è del 15 aprile" has no relative before it).
_BIRTH_YEAR = re.compile(
    rf"\b(?:(?:io\s+)?sono|(?:mi[oa]|su[oa])\s+{_KIN_WORDS}\s+è)\s+(?:del(?:l')?|nel)\s+"
    rf"((?:\d{{1,2}}|primo)\s+(?:di\s+)?{_MONTH}\s+(?:del\s+)?(?:19|20)?\d{{2}}|(?:19|20)?\d{{2}})"
    r"(?![\d.,/])(?!\s*(?:euro|€|anni|mesi|giorni|%))",
    re.IGNORECASE,
)


def find_birth_date(text: str) -> Iterable[Span]:
    """A date (or year) right after a birth cue: "nato il 3 marzo 1965", "classe 1958".

    Bill dates and deadlines have no birth cue, so they stay.
    """
    yield from _spans(_BIRTH, text, group=1)
    yield from _spans(_BIRTH_YEAR, text, group=1)


# -- person names --------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    def words(name: str) -> frozenset[str]:
        raw = resources.files("pipeline.privacy.data").joinpath(name).read_text(encoding="utf-8")
        lines = [line for line in raw.splitlines() if not line.startswith("#")]
        return frozenset(w.replace("_", " ") for line in lines for w in line.split())

    return (
        words("nomi.txt") | words("nomi_faker.txt"),
        words("cognomi.txt") | words("cognomi_faker.txt"),
    )


_CAP_WORD = r"[A-ZÀ-Ý][a-zà-ÿ']+(?:\s(?:De|Di|Da|Del|Della|Lo|La)\s[A-ZÀ-Ý][a-zà-ÿ']+)?"
_ANY_WORD = r"[A-Za-zÀ-ÿ']+"
# After these cues ASR often lowercases the name, so any word is taken.
_STRONG_CUE = re.compile(
    rf"\b(?:mi\s+chiamo|il\s+mio\s+nome\s+è)\s+({_ANY_WORD}(?:\s+{_ANY_WORD})?)",
    re.IGNORECASE,
)
_OWNER_CUE = re.compile(
    rf"\b(?:a\s+nome\s+di|intestat\w+\s+a|chiesto\s+di|chiedete\s+di)\s+({_CAP_WORD}(?:\s+{_CAP_WORD})?)"
)
_HONORIFIC = re.compile(
    r"\b(?:signor|signore|signora|signorina|sig\.|sig\.ra|sig\.na|dottor|dottore|dottoressa|"
    r"dott\.|dott\.ssa|avvocato|avv\.|ingegner|ing\.|geometra|geom\.|ragionier|rag\.)\s+"
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD})?)"
)
_WEAK_CUE = re.compile(
    rf"\b(?:[Ss]ono|[Pp]arlo\s+con|[Pp]arla|[Hh]o\s+parlato\s+con)\s+(?:il\s+|la\s+)?"
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD})?)"
)
_CAPITALISED = re.compile(rf"\b{_CAP_WORD}(?:\s+{_CAP_WORD})?")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)$")
_NOT_NAMES = {"Buongiorno", "Buonasera", "Grazie", "Salve", "Pronto", "Certo", "Allora"}


def _strip_non_names(text: str, start: int, end: int) -> Span | None:
    words = list(re.finditer(r"\S+", text[start:end]))
    kept = [w for w in words if w.group(0).strip(",.") not in _NOT_NAMES]
    if not kept:
        return None
    return start + kept[0].start(), start + kept[-1].end()


def find_name(text: str) -> Iterable[Span]:
    """Person names from context and a gazetteer of Italian given names and surnames.

    No Italian NER model installs offline, so a name is: whatever follows "mi chiamo" (one or two
    words, any case); a capitalised word after an honorific ("signora Esposito"); a capitalised
    known name after "sono"/"parlo con"; a capitalised known given name, with the capitalised word
    after it; a capitalised known surname that does not open a sentence.
    """
    given, surnames = _gazetteer()
    known = given | surnames
    for m in _STRONG_CUE.finditer(text):
        span = m.span(1)
        words = m.group(1).split()
        if len(words) == 2 and not (words[1][:1].isupper() or words[1].capitalize() in known):
            span = (m.start(1), m.start(1) + len(words[0]))
        yield span
    yield from _spans(_HONORIFIC, text, group=1)
    yield from _spans(_OWNER_CUE, text, group=1)
    for m in _WEAK_CUE.finditer(text):
        if m.group(1).split()[0] in known:
            yield m.span(1)
    common = _lower_gazetteer()[2]
    for m in _CAPITALISED.finditer(text):
        words = m.group(0).split()
        if (
            words[0].lower() in common
            and _SENTENCE_START.search(text[: m.start()])
            and (len(words) == 1 or words[1] not in known)
        ):
            continue  # "Chiara, precisa e gentile.": a capital that only opens the sentence
        if words[0] in given:
            yield (
                m.span()
                if len(words) == 1 or words[1] not in _NOT_NAMES
                else (
                    m.start(),
                    m.start() + len(words[0]),
                )
            )
        elif words[0] in surnames and not _SENTENCE_START.search(text[: m.start()]):
            yield m.start(), m.start() + len(words[0])
    yield from find_lower_name(text)


# Lower-case names (Whisper often writes them so): a run of one to three gazetteer words is a name
# after a kinship or role word ("mia figlia giulia", "intestato a", "la signora"), or, without a
# cue, when it is a given name that is not also an ordinary word ("giulia", "paolo conti"; not
# "rosa", "franco", "serena" alone). A lone surname needs a cue: "esposito", "ferrari" are words
# or brands too.
_KIN = (
    r"(?:figli[ao]?|marito|moglie|madre|padre|mamma|papà|babbo|sorella|fratello|suocer[oa]|"
    r"nipote|cognat[oa]|genero|nuora|zi[oa]|nonn[oa]|cugin[oa]|compagn[oa]|fidanzat[oa]|"
    r"vicin[oa]|collega|amic[oa]|convivente|badante|coinquilin[oa]|socio|socia|capo)"
)
_NAME_CUE = re.compile(
    r"(?:\b(?:mi[oa]|su[oa]|il|la|l'|lo|al|alla|del|della|col|con\s+(?:il|la|mi[oa]))\s+"
    rf"(?:ex\s+)?{_KIN}|\bex\s+{_KIN}"
    r"|(?<!\buna\s)(?<!\bun\s)\b(?:signor[ae]?|signorina|sig\.(?:ra|na)?|dottor[e]?|dottoressa|"
    r"dott\.(?:ssa)?|avvocato|avv\.|ingegner[e]?|geometra|ragionier[e]?|professor(?:e|essa)?)"
    r"|\b(?:titolare|intestatari[oa]|cliente)\s+(?:è|e')|\bintestat\w*\s+a|\ba\s+nome\s+(?:di|del)"
    r"|\b(?:un|una)\s+cert[oa]|\bsi\s+chiama(?:va)?|\bmi\s+chiamo"
    r"|\b(?:il\s+)?(?:mio\s+)?nome\s+(?:è|e')|\bchiesto\s+di|\bparlato\s+con|\bparlo\s+con)"
    r"\s+$",
    re.IGNORECASE,
)
_WEAK_NAME_CUE = re.compile(
    r"\b(?:sono|io\s+sono|qui\s+è|sono\s+io|operat(?:ore|rice))\s+$", re.IGNORECASE
)
_LOWER_WORD = re.compile(r"[a-zà-ÿ]+(?:'[a-zà-ÿ]+)?", re.IGNORECASE)
_PARTICLES = {"de", "di", "del", "della", "da", "lo", "la", "dal", "dalla", "dello", "degli"}


@lru_cache(maxsize=1)
def _lower_gazetteer() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    given, surnames = _gazetteer()
    common = resources.files("pipeline.privacy.data").joinpath("nomi_comuni.txt")
    words = common.read_text(encoding="utf-8").split("\n")
    return (
        frozenset(w.lower() for w in given),
        frozenset(w.lower() for w in surnames),
        frozenset(w.replace("_", " ") for w in words if w and not w.startswith("#")),
    )


def _name_run(text: str, words: list[re.Match[str]], i: int) -> tuple[int, list[str]]:
    """How many words from `words[i]` form a run of gazetteer names (at most three names)."""
    given, surnames, _ = _lower_gazetteer()
    parts: list[str] = []
    j = i
    while j < len(words) and len(parts) < 3:
        if j > i and not text[words[j - 1].end() : words[j].start()].isspace():
            break  # "marco, luca": two runs
        word = words[j].group(0).lower()
        nxt = words[j + 1].group(0).lower() if j + 1 < len(words) else ""
        if parts and word in _PARTICLES and f"{word} {nxt}" in surnames:
            parts.append(f"{word} {nxt}")
            j += 2
        elif word in given or word in surnames:
            parts.append(word)
            j += 1
        else:
            break
    return j - i, parts


def find_lower_name(text: str) -> Iterable[Span]:
    """Names in any case after kinship and role cues, and lower-case given names without one."""
    given, _surnames, common = _lower_gazetteer()
    words = list(_LOWER_WORD.finditer(text))
    i = 0
    while i < len(words):
        count, parts = _name_run(text, words, i)
        if not count:
            i += 1
            continue
        start, end = words[i].start(), words[i + count - 1].end()
        before = text[max(0, start - 40) : start]
        plain = [p for p in parts if p not in common]
        cued = bool(_NAME_CUE.search(before))
        weakly_cued = bool(_WEAK_NAME_CUE.search(before)) and (bool(plain) or len(parts) >= 2)
        bare = parts[0] in given and (parts[0] not in common or len(parts) >= 2 and bool(plain))
        if cued or weakly_cued or bare:
            yield start, end
        i += count


FINDERS: dict[str, Finder] = {
    "CF": find_cf,
    "PIVA": find_piva,
    "IBAN": find_iban_it,
    "CARTA": find_card,
    "POD": find_pod,
    "PDR": find_pdr,
    "TELEFONO": find_phone,
    "EMAIL": find_email,
    "DATA_NASCITA": find_birth_date,
    "INDIRIZZO": find_address,
    "NOME": find_name,
    "CODICE_CLIENTE": find_customer_code,
    "DOCUMENTO": find_document,
    "TARGA": find_plate,
    "PRATICA": find_case_number,
    "NUMERO": find_long_number,
}


def clean_span(text: str, span: Span, strip_greetings: bool = False) -> Span | None:
    """Trim spaces and punctuation at the edges; drop greetings caught in a name span."""
    start, end = span
    while start < end and text[start] in " ,;:":
        start += 1
    while end > start and text[end - 1] in " ,;:.":
        end -= 1
    if start >= end:
        return None
    return _strip_non_names(text, start, end) if strip_greetings else (start, end)
