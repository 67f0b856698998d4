"""Text analysis with spaCy Italian: theme and sentiment cues, negation scope, irony.

The negation scope also holds the customer's own steps and threat words denied by contrast or
outright (`own_actions`, `contrasts` and `denials` in themes.yaml).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pipeline.classify.taxonomy import Taxonomy

if TYPE_CHECKING:
    from spacy.tokens import Doc


NEGATORS = {"non", "mai", "nessun", "nessuno", "nessuna", "né", "neanche", "nemmeno", "senza"}
CLAUSE_BREAKS = {
    "ma", "però", "perché", "invece", "quando", "mentre", "poi", "anzi", "altrimenti", "sennò",
    "oppure",
}  # fmt: skip
CONDITIONALS = {"se", "finché", "finchè", "qualora"}
# After a denial, these introduce what did go wrong ("non mi ha minacciato, però il tono...").
BUT_AFTER = re.compile(r"\b(ma|però|pero|eppure|tuttavia|anche se|solo che|sennonché)\b")
PUNCT_BREAKS = {".", ";", ",", "!", "?", ":"}


# -- text analysis -------------------------------------------------------------------------
@lru_cache(maxsize=1)
def italian_nlp() -> Any:
    """SpaCy Italian without a trained model: tokenizer, sentencizer, lookup lemmatizer."""
    from pipeline.imports import spacy_blank

    nlp = spacy_blank("it")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


@dataclass(frozen=True)
class Cue:
    """A theme or sentiment cue found in the text (character and token offsets)."""

    key: str  # a theme code, or "+" / "-" for sentiment cues
    start: int
    end: int
    negated: bool


@dataclass
class Analysis:
    """Everything the classifier reads from one text."""

    text: str  # whitespace-normalised, possibly truncated
    doc: Doc
    scope: list[bool]  # token i lies in a negation scope
    cues: list[Cue] = field(default_factory=list)
    aside: set[int] = field(default_factory=set)  # own steps, denials: never a complaint
    own_step: bool = False  # the customer speaks of a step of their own ("vado dall'avvocato")
    # The customer says it was not a threat: threat cues before this offset are what the denial
    # speaks of, so they carry nothing (0 for a contrast; None: no denial).
    denied_until: int | None = None
    ironic: bool = False
    note: str | None = None  # "empty", "not Italian: not classified", "truncated to N characters"

    @property
    def skipped(self) -> bool:
        """Nothing to classify (empty or not Italian)."""
        return self.note is not None and not self.note.startswith("truncated")

    def live_cues(self, key: str) -> list[Cue]:
        """Cues of `key` that are not negated."""
        return [c for c in self.cues if c.key == key and not c.negated]


def _negation_scope(doc: Doc, window: int) -> list[bool]:
    """Token i is negated when a negator stands within `window` tokens before it, same clause.

    In a condition ("se non pagavo subito mi pignoravano") the negator reaches only the verb
    right after it: the consequence is asserted, not denied.
    """
    scope = [False] * len(doc)
    remaining = 0
    for i, token in enumerate(doc):
        lower = token.lower_
        if lower in PUNCT_BREAKS or lower in CLAUSE_BREAKS:
            remaining = 0
        elif lower in NEGATORS:
            conditional = i > 0 and doc[i - 1].lower_ in CONDITIONALS
            remaining = 1 if conditional else window
            continue
        if remaining > 0:
            scope[i] = True
            remaining -= 1
    return scope


@lru_cache(maxsize=1)
def _stop_words() -> dict[str, frozenset[str]]:
    from pipeline.imports import spacy_stop_words

    words = {lang: spacy_stop_words(lang) for lang in ("it", "en", "es", "fr", "de", "pt")}
    # Spoken Italian function words missing from spaCy's list.
    words["it"] = words["it"] | {"o", "e", "ed", "se", "eh", "ehm", "sì", "boh", "cioè", "mah"}
    return words


def is_content(token: Any) -> bool:
    """A word that can carry meaning: alphabetic, not an Italian function word or filler."""
    lower = token.lower_
    return token.is_alpha and len(lower) > 1 and lower not in _stop_words()["it"]


def has_content(analysis: Analysis, start: int, end: int) -> bool:
    """Whether the characters start:end of the analysed text hold a content word."""
    span = analysis.doc.char_span(start, end, alignment_mode="expand")
    return span is not None and any(is_content(t) for t in span)


def _looks_italian(doc: Doc) -> bool:
    """False when another language's function words outnumber Italian ones more than twice.

    A cheap guard for stray non-Italian lines; texts under four words ("ok", "sì") always pass.
    """
    words = [t.lower_ for t in doc if t.is_alpha]
    if len(words) < 4:
        return True
    counts = {lang: sum(w in stop for w in words) for lang, stop in _stop_words().items()}
    other = max(n for lang, n in counts.items() if lang != "it")
    return not (other >= 2 and other > 2 * counts["it"])


class CueMatcher:
    """Finds the taxonomy's keyword and pattern cues, with negation and irony."""

    def __init__(self, taxonomy: Taxonomy, negation_window: int = 4, max_chars: int = 5000):
        from spacy.matcher import PhraseMatcher

        self.taxonomy = taxonomy
        self.window = negation_window
        self.max_chars = max_chars
        self._polarity = {t.code: t.polarity for t in taxonomy.themes}
        self.nlp = italian_nlp()
        self._lemma = PhraseMatcher(self.nlp.vocab, attr="LEMMA")
        self._lower = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for theme in taxonomy.themes:
            if theme.keywords:
                phrases = [k.lower() for k in theme.keywords]
                self._lemma.add(theme.code, list(self.nlp.pipe(phrases)))
                self._lower.add(theme.code, [self.nlp.make_doc(p) for p in phrases])

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        """Analyse texts in one spaCy pass."""
        prepared = [self._prepare(t) for t in texts]
        docs = self.nlp.pipe([p[0].lower() for p in prepared], batch_size=256)
        return [
            self._analyze(text, note, doc) for (text, note), doc in zip(prepared, docs, strict=True)
        ]

    def _prepare(self, text: str) -> tuple[str, str | None]:
        text = " ".join(str(text).split())
        if len(text) > self.max_chars:
            cut = text.rfind(" ", 0, self.max_chars)
            return text[: cut if cut > 0 else self.max_chars], (
                f"truncated to {self.max_chars} characters"
            )
        return text, None

    def _analyze(self, text: str, note: str | None, doc: Doc) -> Analysis:
        if not text:
            note = "empty"
        elif not _looks_italian(doc):
            note = "not Italian: not classified"
        analysis = Analysis(text=text, doc=doc, scope=_negation_scope(doc, self.window), note=note)
        if analysis.skipped:
            return analysis
        lower = doc.text
        taxonomy = self.taxonomy
        own = _set_aside(doc, taxonomy.own_actions, analysis.scope)
        analysis.own_step = bool(own)
        analysis.aside = own | _set_aside(
            doc, (*taxonomy.contrasts, *taxonomy.denials), analysis.scope
        )
        analysis.denied_until = _denied_until(lower, taxonomy)
        ironic_sentences = [
            (s.start_char, s.end_char)
            for s in doc.sents
            if any(p.search(s.text) for p in self.taxonomy.irony)
        ]
        analysis.ironic = bool(ironic_sentences)
        spans: set[tuple[str, int, int]] = set()
        for matcher in (self._lemma, self._lower):
            for match_id, start, end in matcher(doc):
                span = doc[start:end]
                spans.add((self.nlp.vocab.strings[match_id], span.start_char, span.end_char))
        for theme in self.taxonomy.themes:
            for pattern in theme.patterns:
                spans.update((theme.code, *_whole_words(lower, m)) for m in pattern.finditer(lower))
        for key, patterns in (("+", self.taxonomy.positive), ("-", self.taxonomy.negative)):
            for pattern in patterns:
                spans.update((key, *_whole_words(lower, m)) for m in pattern.finditer(lower))
        token_starts = [t.idx for t in doc]
        for key, start, end in sorted(_longest(spans), key=lambda s: (s[1], s[0])):
            index = bisect_right(token_starts, start) - 1
            negated = 0 <= index < len(analysis.scope) and analysis.scope[index]
            if (self._polarity.get(key) == "positive" or key == "+") and any(
                a <= start < b for a, b in ironic_sentences
            ):
                # "gentilissimi, come no": the praise is the complaint.
                analysis.cues.append(Cue("-", start, end, negated))
                continue
            analysis.cues.append(Cue(key, start, end, negated))
        return analysis


def _denied_until(text: str, taxonomy: Taxonomy) -> int | None:
    """Where the customer's denial of a threat ends, or None when there is none.

    A contrast denies the threat words it holds ("più che minacciato mi sono sentito confuso"),
    so 0: any other threat cue still stands. An outright denial ("ha parlato del giudice, ma non
    mi sono sentita minacciata") speaks of every threat cue before it, unless a "but" follows it:
    "non mi ha minacciato, però mi ha fatto capire che sapeva dove lavoro" goes on to the threat.
    """
    ends = [
        match.end()
        for pattern in taxonomy.denials
        for match in pattern.finditer(text)
        if not BUT_AFTER.search(text, match.end())
    ]
    if ends:
        return max(ends)
    return 0 if any(p.search(text) for p in taxonomy.contrasts) else None


def _set_aside(doc: Doc, patterns: Sequence[re.Pattern[str]], scope: list[bool]) -> set[int]:
    """Put the words of the customer's own steps and of denials in the negation scope.

    The customer's lawyer ("il mio avvocato") is not the collector's threat, and "più che
    minacciato" denies the threat: a cue starting there does not count, and the heads read those
    words as they read negated ones. Returns those tokens.
    """
    own = set()
    for pattern in patterns:
        for match in pattern.finditer(doc.text):
            span = doc.char_span(*_whole_words(doc.text, match), alignment_mode="expand")
            for token in span or ():
                scope[token.i] = True
                own.add(token.i)
    return own


def _whole_words(text: str, match: re.Match[str]) -> tuple[int, int]:
    """A pattern match widened to whole words, so evidence never cuts a word ("pignor")."""
    start, end = match.start(), match.end()
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def _longest(spans: set[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Per key, drop spans contained in a longer span of the same key (one cue, one count)."""
    kept = []
    for key, start, end in spans:
        inside = any(
            k == key and s <= start and end <= e and (s, e) != (start, end) for k, s, e in spans
        )
        if not inside:
            kept.append((key, start, end))
    return kept
