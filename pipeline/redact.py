"""Remove personal data from text before anything is stored, logged or reported.

Recognizers for Italian structured identifiers (codice fiscale, IBAN, payment card, phone, email)
and person names introduced by context ("mi chiamo", "sono il signor", a known first name
followed by a capitalised word). Matches become typed placeholders such as `[TELEFONO]`.

Amounts of money, dates and counts are NOT personal data here and are kept: they are the analytics.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

REDACTOR_VERSION = "2"  # bump when recognizers change: stored text is re-made


@dataclass(frozen=True)
class Entity:
    """A span of personal data in the original text."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """Redacted text, the spans that were replaced, and per-type counts."""

    text: str
    entities: list[Entity]

    @property
    def counts(self) -> dict[str, int]:
        """How many entities of each type were removed."""
        return dict(Counter(e.type for e in self.entities))


_SEP = r"[\s.\-/]?"
_CF = re.compile(
    r"\b[A-Z]{6}"
    + r"[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b",
    re.IGNORECASE,
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_EMAIL = re.compile(
    r"\b[\w.+-]+\s?(?:@|\bchiocciola\b)\s?[\w-]+(?:\s?(?:\.|\bpunto\b)\s?[a-z]{2,})+\b",
    re.IGNORECASE,
)
# ASR writes spoken digits in groups with spaces, dots, dashes or even thousands commas
# ("347,200,185,596"), and sometimes adds a digit: allow all of these; an amount in euro is kept.
_DIGIT_SEP = r"[\s.,\-/]?"
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)39"
    + _SEP
    + r")?(?:3\d{2}|0\d{1,3})(?:"
    + _DIGIT_SEP
    + r"\d){5,10}(?!\w)"
    r"(?!\s*(?:euro|eur|€))",
    re.IGNORECASE,
)
# Any run of six or more digits right after "numero (di telefono|cellulare) (è)" is a phone number.
_PHONE_CONTEXT = re.compile(
    r"\bnumer[oi]\s+(?:di\s+)?(?:telefono|cellulare|fisso)?\s*(?:è|e'|:)?\s*"
    r"((?:\+|00)?\d(?:" + _DIGIT_SEP + r"\d){5,14})(?!\w)",
    re.IGNORECASE,
)
_CARD = re.compile(r"(?<!\d)(?:\d[\s-]?){12,18}\d(?!\d)")
_NAME_WORD = r"[A-ZÀ-Ý][a-zà-ÿ']+"
_NAME_CUES = re.compile(
    r"\b(?:mi chiamo|il mio nome è|sono il signor|sono la signora|signor|signora|sig\.|sig\.ra)\s+"
    rf"({_NAME_WORD}(?:\s+{_NAME_WORD})?)",
    re.IGNORECASE,
)
# Frequent Italian first names: followed by a capitalised word they are almost surely a person.
_FIRST_NAMES = [
    "Alessandro",
    "Andrea",
    "Anna",
    "Antonio",
    "Alessia",
    "Angela",
    "Barbara",
    "Carla",
    "Carlo",
    "Chiara",
    "Claudia",
    "Cristina",
    "Daniela",
    "Davide",
    "Elena",
    "Elisa",
    "Emanuele",
    "Federica",
    "Federico",
    "Francesca",
    "Francesco",
    "Gabriele",
    "Giacomo",
    "Giorgio",
    "Giovanna",
    "Giovanni",
    "Giulia",
    "Giuseppe",
    "Laura",
    "Lorenzo",
    "Luca",
    "Lucia",
    "Luigi",
    "Manuela",
    "Marco",
    "Maria",
    "Mario",
    "Marta",
    "Matteo",
    "Michele",
    "Monica",
    "Paola",
    "Paolo",
    "Pietro",
    "Roberta",
    "Roberto",
    "Rosa",
    "Sara",
    "Silvia",
    "Simone",
    "Stefania",
    "Stefano",
    "Teresa",
    "Valentina",
    "Valeria",
    "Vincenzo",
]
_KNOWN_NAME = re.compile(rf"\b(?:{'|'.join(_FIRST_NAMES)})(?:\s+{_NAME_WORD})?\b")


_CF_CUE = re.compile(r"\bcodice\s+fiscale\b", re.IGNORECASE)
_CF_FILLER = {"è", "e", "é", "il", "mio", "suo", "è:", ":"}


def _cf_after_cue(text: str) -> Iterable[Entity]:
    """What follows "codice fiscale": ASR often splits the code ("RSSMR è 81H501").

    Tokens with a digit or three or more capitals, within the next six tokens, are the code;
    filler words between them are swallowed, ordinary words end the scan.
    """
    for cue in _CF_CUE.finditer(text):
        start = end = None
        for token in list(re.finditer(r"\S+", text[cue.end() :]))[:6]:
            word = token.group(0).strip(",.;")
            looks_like_code = any(c.isdigit() for c in word) or (len(word) >= 3 and word.isupper())
            if looks_like_code:
                start = cue.end() + token.start() if start is None else start
                end = cue.end() + token.start() + len(word)
            elif word.lower() not in _CF_FILLER:
                break
        if start is not None and end is not None:
            yield Entity("CF", start, end)


_EMAIL_CUE = re.compile(
    r"\b(?:scriver\w*\s+a|(?:indirizzo\s+)?e-?mail|mail|posta\s+elettronica)\s*(?:è|:)?\s+",
    re.IGNORECASE,
)
_SPOKEN_TLD = re.compile(
    r"(?:\bpunto|\.)\s*(?:c\s*o\s*m|ci\s*o\s*m|it|org|net|eu)\b", re.IGNORECASE
)
_SPOKEN_AT = re.compile(r"chiocciola|chi\s*occio|kioccio|@", re.IGNORECASE)


def _spoken_email(text: str) -> Iterable[Entity]:
    """An address spelled aloud after a cue ("scrivermi a m a r i o punto ... punto com").

    ASR mangles the spelling ("chi occio la x m p l e punto ci o m"), so the span runs from the
    cue to the last spoken domain ending within 150 characters, or, failing that, from the cue to
    the next "per"/punctuation when an "at" word is there.
    """
    for cue in _EMAIL_CUE.finditer(text):
        window = text[cue.end() : cue.end() + 150]
        endings = list(_SPOKEN_TLD.finditer(window))
        if endings:
            yield Entity("EMAIL", cue.end(), cue.end() + endings[-1].end())
        elif _SPOKEN_AT.search(window[:100]):
            stop = re.search(r"\s(?:per|perché|grazie)\b|[,;!?]", window)
            yield Entity("EMAIL", cue.end(), cue.end() + (stop.start() if stop else len(window)))


def iban_valid(text: str) -> bool:
    """ISO 13616 mod-97 check."""
    compact = re.sub(r"\s", "", text).upper()
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def luhn_valid(text: str) -> bool:
    """Payment-card Luhn checksum."""
    digits = [int(c) for c in re.sub(r"\D", "", text)][::-1]
    total = sum(
        d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)
    )
    return total % 10 == 0


def _matches(
    pattern: re.Pattern[str],
    kind: str,
    text: str,
    group: int = 0,
    valid: Callable[[str], bool] | None = None,
) -> Iterable[Entity]:
    for m in pattern.finditer(text):
        if valid is None or valid(m.group(group)):
            yield Entity(kind, m.start(group), m.end(group))


def _is_italian_iban(value: str) -> bool:
    # An Italian-shaped IBAN is redacted even when ASR broke its checksum; others must validate.
    return value[:2].upper() == "IT" or iban_valid(value)


_RECOGNIZERS: dict[str, Callable[[str], Iterable[Entity]]] = {
    "EMAIL": lambda t: [*_matches(_EMAIL, "EMAIL", t), *_spoken_email(t)],
    "IBAN": lambda t: _matches(_IBAN, "IBAN", t, valid=_is_italian_iban),
    "CF": lambda t: [*_matches(_CF, "CF", t), *_cf_after_cue(t)],
    "CARTA": lambda t: _matches(_CARD, "CARTA", t, valid=luhn_valid),
    "TELEFONO": lambda t: [
        *_matches(_PHONE, "TELEFONO", t),
        *_matches(_PHONE_CONTEXT, "TELEFONO", t, group=1),
    ],
    "NOME": lambda t: [
        *_matches(_NAME_CUES, "NOME", t, group=1),
        *_matches(_KNOWN_NAME, "NOME", t),
    ],
}
SUPPORTED_ENTITIES = tuple(_RECOGNIZERS)


class Redactor:
    """Runs the configured recognizers and replaces each match with `[TYPE]`."""

    def __init__(self, entities: Iterable[str] = SUPPORTED_ENTITIES) -> None:
        unknown = sorted(set(entities) - set(_RECOGNIZERS))
        if unknown:
            raise ValueError(
                f"unknown entity type(s) {unknown} in redact.entities; supported: {list(_RECOGNIZERS)}"
            )
        self.entities = tuple(entities)

    def find(self, text: str) -> list[Entity]:
        """Non-overlapping entities, longest span first where two overlap."""
        found = [e for kind in self.entities for e in _RECOGNIZERS[kind](text)]
        found.sort(key=lambda e: (-(e.end - e.start), e.start))
        chosen: list[Entity] = []
        for entity in found:
            if all(entity.end <= c.start or entity.start >= c.end for c in chosen):
                chosen.append(entity)
        return sorted(chosen, key=lambda e: e.start)

    def redact(self, text: str) -> Redaction:
        """Replace every entity with its placeholder."""
        entities = self.find(text)
        out, cursor = [], 0
        for entity in entities:
            out.append(text[cursor : entity.start])
            out.append(f"[{entity.type}]")
            cursor = entity.end
        out.append(text[cursor:])
        return Redaction("".join(out), entities)
