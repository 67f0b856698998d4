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
from collections.abc import Iterable
from functools import lru_cache

from stdnum.it import codicefiscale, iva

from pipeline.privacy.codes import (
    _UNIT_AHEAD,
    _after_cue,
    _is_quantity,
    digit_runs,
    find_case_number,
    find_chunked_phone,
    find_customer_code,
    find_document,
    find_long_number,
    find_plate,
    find_spelled_card,
    find_spelled_cf,
    find_spelled_iban,
    find_spelled_piva,
    widen,
)
from pipeline.privacy.names import _strip_non_names, find_name
from pipeline.privacy.spans import (
    _CF_SHAPE,
    _OMO,
    Finder,
    Span,
    _compact,
    _spans,
    _validated,
    luhn_valid,
)

__all__ = ["FINDERS", "clean_span", "luhn_valid", "widen"]


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
_CF_SPACED = re.compile(
    rf"\b(?:[A-Z]\s?){{6}}(?:{_OMO}\s?){{2}}[A-EHLMPRST]\s?(?:{_OMO}\s?){{2}}[A-Z]\s?"
    rf"(?:{_OMO}\s?){{3}}[A-Z]\b",
    re.IGNORECASE,
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


_CARD = re.compile(r"(?<![\d,.])\d(?:[\s\-]?\d){12,18}(?![\d])")


def find_card(text: str) -> Iterable[Span]:
    """Payment cards in any digit grouping ASR writes, Luhn-checked."""
    yield from _validated(_CARD, luhn_valid)(text)
    yield from find_spelled_card(text)


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
    from pipeline.imports import spacy_stop_words

    return spacy_stop_words("it") - _STREET_PARTICLES


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
