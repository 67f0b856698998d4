"""Remove personal data from text before anything is stored, logged or reported.

Microsoft Presidio is the engine: its analyzer runs Presidio's checksum-validated Italian
recognizers (codice fiscale, partita IVA, IBAN, payment card) next to ours (`pipeline.privacy.pii`: phone,
email, POD/PDR, address, date of birth, names, and the forms ASR writes), and its anonymizer swaps
each span for a typed placeholder (`[TELEFONO]`) or, optionally, a pseudonym that stays the same
within one interview (`[NOME_1]`). Identifiers read in chunks, spelled with letter names or the
city alphabet, and customer codes, document numbers, plates and case numbers after their cue
have their own types; a partial identifier is widened over the digit chunks beside it, and a long
run of digits that is no amount, duration or date is removed as `[NUMERO]`. Recognizers run on a copy of the text where spoken numbers are
digits (`pipeline.privacy.spoken`); spans are mapped back, so offsets always point into the input text.

Amounts of money, dates, durations, counts and ages are NOT personal data here and are kept: they
are the analytics.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, get_args

from pipeline.privacy import pii
from pipeline.privacy.spoken import normalise_numbers
from pipeline.records import PiiType

REDACTOR_VERSION = "4"  # bump when recognizer code changes: stored text is re-made

# Placeholder type -> Presidio entities that produce it (Presidio's own names where it has one).
_PRESIDIO_TYPES = {
    "IT_FISCAL_CODE": "CF",
    "IT_VAT_CODE": "PIVA",
    "IBAN_CODE": "IBAN",
    "CREDIT_CARD": "CARTA",
}
SUPPORTED_ENTITIES: tuple[str, ...] = get_args(PiiType)
# Where two spans of equal length overlap, the more specific type wins.
# Same span, two types (a widened phone shape over a PDR or a "numero di contratto"): the
# checksummed and cue-typed codes win over a phone's shape; the untyped fail safe NUMERO loses
# to every type.
_FIRST = ("CF", "PIVA", "IBAN", "CARTA", "POD", "PDR", "CODICE_CLIENTE", "DOCUMENTO", "TARGA")
_ORDER = [
    *(k for k in _FIRST if k in SUPPORTED_ENTITIES),
    "PRATICA",
    *(k for k in SUPPORTED_ENTITIES if k not in (*_FIRST, "PRATICA", "NUMERO")),
]
_PRIORITY = {kind: rank for rank, kind in enumerate([*_ORDER, "NUMERO"])}
_SCORE_THRESHOLD = 0.5
# Types whose span is widened over the digit chunks read next to it (a partial IBAN still identifies).
_WIDENED = frozenset(SUPPORTED_ENTITIES) - {"NOME", "INDIRIZZO", "DATA_NASCITA", "EMAIL"}
GAZETTEERS = ("nomi.txt", "cognomi.txt", "nomi_faker.txt", "cognomi_faker.txt", "nomi_comuni.txt")


def redactor_fingerprint() -> str:
    """Version plus the gazetteers' content: editing a name list re-redacts stored transcripts."""
    digest = hashlib.sha256(REDACTOR_VERSION.encode())
    for name in GAZETTEERS:
        digest.update(resources.files("pipeline.privacy.data").joinpath(name).read_bytes())
    return digest.hexdigest()[:16]


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


@dataclass
class Pseudonyms:
    """Consistent stand-ins within one interview: the same phone is `[TELEFONO_1]` every time."""

    assigned: dict[tuple[str, str], str] = field(default_factory=dict)

    def name_for(self, kind: str, value: str) -> str:
        """The pseudonym of this value, new if it was not seen before in this interview."""
        key = (kind, re.sub(r"[\W_]", "", value).lower())
        if key not in self.assigned:
            number = 1 + sum(1 for k in self.assigned if k[0] == kind)
            self.assigned[key] = f"[{kind}_{number}]"
        return self.assigned[key]


def _ours_as_presidio() -> list[Any]:
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class FinderRecognizer(EntityRecognizer):
        """One `pipeline.privacy.pii` finder as a Presidio recognizer."""

        def __init__(self, kind: str) -> None:
            self.kind = kind
            super().__init__(
                supported_entities=[kind], name=f"ascolto_{kind}", supported_language="it"
            )

        def load(self) -> None:
            """Nothing to load: finders are regular expressions and a gazetteer."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            """Spans of this recognizer's type, at a fixed high score."""
            return [
                RecognizerResult(self.kind, start, end, 0.9)
                for start, end in pii.FINDERS[self.kind](text)
            ]

    return [FinderRecognizer(kind) for kind in pii.FINDERS]


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    """Presidio's analyzer on a blank Italian spaCy tokenizer (no model download), built once."""
    from pipeline.imports import import_presidio_analyzer, spacy_blank

    import_presidio_analyzer()
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        IbanRecognizer,
        ItFiscalCodeRecognizer,
        ItVatCodeRecognizer,
    )

    nlp_engine = SpacyNlpEngine(models=[{"lang_code": "it", "model_name": "blank:it"}])
    nlp_engine.nlp = {"it": spacy_blank("it")}  # type: ignore[assignment]  # no model download
    registry = RecognizerRegistry(supported_languages=["it"])
    for recognizer in (
        ItFiscalCodeRecognizer(),
        ItVatCodeRecognizer(),
        IbanRecognizer(supported_language="it"),
        CreditCardRecognizer(supported_language="it"),
        *_ours_as_presidio(),
    ):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["it"])


_ANALYZER_LOCK = threading.Lock()


class Redactor:
    """Finds personal data and replaces it with `[TYPE]` placeholders or pseudonyms."""

    def __init__(
        self, entities: Iterable[str] = SUPPORTED_ENTITIES, allow_list: Iterable[str] = ()
    ) -> None:
        """Check the configured types; `allow_list` phrases (agency names) are never redacted."""
        self.entities = tuple(entities)
        unknown = sorted(set(self.entities) - set(SUPPORTED_ENTITIES))
        if unknown:
            raise ValueError(
                f"unknown entity type(s) {unknown} in redact.entities; "
                f"supported: {list(SUPPORTED_ENTITIES)}"
            )
        phrases = [re.escape(p.strip()) for p in allow_list if p.strip()]
        self._allowed = re.compile("|".join(phrases), re.IGNORECASE) if phrases else None

    def load(self) -> None:
        """Build Presidio's analyzer and anonymizer now (once per process)."""
        _analyzer()
        _anonymizer()

    def _presidio_entities(self) -> list[str]:
        wanted = set(self.entities)
        return [p for p, ours in _PRESIDIO_TYPES.items() if ours in wanted] + [
            k for k in pii.FINDERS if k in wanted
        ]

    def find(self, text: str) -> list[Entity]:
        """Non-overlapping entities with offsets into `text`, longest span first on overlap."""
        if not text.strip():
            return []
        normalised = normalise_numbers(text)
        with _ANALYZER_LOCK:  # spaCy pipelines are not guaranteed thread-safe
            results = _analyzer().analyze(
                normalised.text,
                language="it",
                entities=self._presidio_entities(),
                score_threshold=_SCORE_THRESHOLD,
            )
        found = []
        for result in results:
            kind = _PRESIDIO_TYPES.get(result.entity_type, result.entity_type)
            span_n = (result.start, result.end)
            if kind in _WIDENED:
                span_n = pii.widen(normalised.text, span_n)
            start, end = normalised.original_span(*span_n)
            span = pii.clean_span(text, (start, end), strip_greetings=kind == "NOME")
            if span is not None:
                found.append(Entity(kind, *span))
        return self._without_allowed(text, _resolve_overlaps(found))

    def _without_allowed(self, text: str, entities: list[Entity]) -> list[Entity]:
        if self._allowed is None:
            return entities
        allowed = [m.span() for m in self._allowed.finditer(text)]
        return [e for e in entities if all(e.end <= a or e.start >= b for a, b in allowed)]

    def redact(self, text: str, pseudonyms: Pseudonyms | None = None) -> Redaction:
        """Replace every entity with `[TYPE]`, or with its pseudonym when `pseudonyms` is given."""
        entities = self.find(text)
        if not entities:
            return Redaction(text, [])
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        if pseudonyms is not None:  # number them in reading order, not Presidio's
            for e in entities:
                pseudonyms.name_for(e.type, text[e.start : e.end])

        def operator(kind: str) -> OperatorConfig:
            if pseudonyms is None:
                return OperatorConfig("replace", {"new_value": f"[{kind}]"})
            return OperatorConfig("custom", {"lambda": lambda v: pseudonyms.name_for(kind, v)})

        result = _anonymizer().anonymize(
            text,
            [RecognizerResult(e.type, e.start, e.end, 1.0) for e in entities],
            operators={kind: operator(kind) for kind in {e.type for e in entities}},
        )
        return Redaction(result.text, entities)


@lru_cache(maxsize=1)
def _anonymizer() -> Any:
    """Presidio's anonymizer, built once."""
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()


def _resolve_overlaps(found: list[Entity]) -> list[Entity]:
    found.sort(key=lambda e: (-(e.end - e.start), _PRIORITY[e.type], e.start))
    chosen: list[Entity] = []
    for entity in found:
        if all(entity.end <= c.start or entity.start >= c.end for c in chosen):
            chosen.append(entity)
    return sorted(chosen, key=lambda e: e.start)
