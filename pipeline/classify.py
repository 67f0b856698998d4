"""Sentiment and themes of customer utterances, with the words that justify each label.

Method `hybrid-v1` (the default), in three layers:
1. **Cues.** spaCy Italian (blank tokenizer, sentencizer, lookup lemmatizer from
   spacy-lookups-data) analyses the lower-cased text. Each theme in `configs/themes.yaml` has
   `keywords` (matched on lemma or lower form by PhraseMatchers) and `patterns` (regular
   expressions). A cue inside a negation scope (a negator within `negation_window` tokens before
   it, same clause) does not count; a positive cue in a sentence with an irony marker ("come no")
   counts as negative.
2. **Trained heads** (`pipeline/heads.py`, written by `ascolto train`) read the sentence embedding,
   lemma n-grams with negation marking and the cue counts, and give calibrated probabilities.
3. **Themes without a head** (added in YAML after training) are found by their cues or by
   cosine similarity to their `examples`.
Method `rules` is layer 1 alone. Interviewer speech never reaches this module.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.config import ClassifyConfig, ConfigError, load_yaml
from pipeline.records import UtteranceLabel

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from pipeline.embed import Embedder
    from pipeline.heads import Heads

NEGATORS = {"non", "mai", "nessun", "nessuno", "nessuna", "né", "neanche", "nemmeno", "senza"}
CLAUSE_BREAKS = {"ma", "però", "perché", "invece", "quando", "mentre", "poi", "anzi"}
PUNCT_BREAKS = {".", ";", ",", "!", "?", ":"}
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
SENTIMENTS = ("positive", "neutral", "negative")
RULE_SCORE = 0.9  # a non-negated cue of a theme without a trained head
HYBRID_METHOD, RULES_METHOD = "hybrid-v1", "rules-v2"


@dataclass(frozen=True)
class Theme:
    """One taxonomy entry with its compiled cues."""

    code: str
    label_it: str
    label_en: str
    polarity: str
    patterns: tuple[re.Pattern[str], ...]
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """Themes, the threatened composite and sentiment cues, as loaded from YAML."""

    themes: tuple[Theme, ...]
    threatened: frozenset[str]
    positive: tuple[re.Pattern[str], ...]
    negative: tuple[re.Pattern[str], ...]
    irony: tuple[re.Pattern[str], ...]

    @property
    def codes(self) -> list[str]:
        """Theme codes in taxonomy order."""
        return [t.code for t in self.themes]

    def label(self, code: str, language: str = "it") -> str:
        """Human label of a theme code in the report language."""
        for theme in self.themes:
            if theme.code == code:
                return theme.label_it if language == "it" else theme.label_en
        return code


def _compile(patterns: list | None, where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns or []:
        try:
            compiled.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(
                f"{where}: pattern {pattern!r} is not a valid regular expression: {exc}"
            ) from exc
    return tuple(compiled)


def _strings(entry: dict, key: str, where: str) -> tuple[str, ...]:
    values = entry.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(v.strip() for v in values)


@lru_cache(maxsize=4)
def load_taxonomy(path: Path) -> Taxonomy:
    """Parse and check themes.yaml, naming the theme and field at fault."""
    raw = load_yaml(path) or {}
    themes = []
    for i, entry in enumerate(raw.get("themes") or []):
        where = f"{path} theme #{i + 1}"
        code = str(entry.get("code", ""))
        if not _CODE.match(code):
            raise ConfigError(f"{where}: code {code!r} must be UPPER_SNAKE_CASE")
        where = f"{where} ({code})"
        polarity = entry.get("polarity", "negative")
        if polarity not in SENTIMENTS:
            raise ConfigError(f"{where}: polarity must be one of {SENTIMENTS}")
        keywords = _strings(entry, "keywords", where)
        examples = _strings(entry, "examples", where)
        if not (entry.get("patterns") or keywords or examples):
            raise ConfigError(f"{where}: give at least one of keywords, patterns or examples")
        themes.append(
            Theme(
                code=code,
                label_it=str(entry.get("label_it", code)),
                label_en=str(entry.get("label_en", code)),
                polarity=polarity,
                patterns=_compile(entry.get("patterns"), where),
                keywords=keywords,
                examples=examples,
            )
        )
    codes = [t.code for t in themes]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{path}: theme codes repeat")
    threatened = frozenset(raw.get("threatened") or [])
    if unknown := threatened - set(codes):
        raise ConfigError(f"{path}: 'threatened' names unknown theme(s) {sorted(unknown)}")
    sentiment = raw.get("sentiment") or {}
    return Taxonomy(
        themes=tuple(themes),
        threatened=threatened,
        positive=_compile(sentiment.get("positive"), f"{path} sentiment.positive"),
        negative=_compile(sentiment.get("negative"), f"{path} sentiment.negative"),
        irony=_compile(sentiment.get("irony"), f"{path} sentiment.irony"),
    )


# -- text analysis -------------------------------------------------------------------------
@lru_cache(maxsize=1)
def italian_nlp() -> Any:
    """SpaCy Italian without a trained model: tokenizer, sentencizer, lookup lemmatizer."""
    import spacy

    nlp = spacy.blank("it")
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
    """Token i is negated when a negator stands within `window` tokens before it, same clause."""
    scope = [False] * len(doc)
    remaining = 0
    for i, token in enumerate(doc):
        lower = token.lower_
        if lower in PUNCT_BREAKS or lower in CLAUSE_BREAKS:
            remaining = 0
        elif lower in NEGATORS:
            remaining = window
            continue
        if remaining > 0:
            scope[i] = True
            remaining -= 1
    return scope


@lru_cache(maxsize=1)
def _stop_words() -> dict[str, frozenset[str]]:
    from importlib import import_module

    words = {
        lang: frozenset(import_module(f"spacy.lang.{lang}.stop_words").STOP_WORDS)
        for lang in ("it", "en", "es", "fr", "de", "pt")
    }
    # Spoken Italian function words missing from spaCy's list.
    words["it"] = words["it"] | {"o", "e", "ed", "se", "eh", "ehm", "sì", "boh", "cioè", "mah"}
    return words


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


# -- classifier ----------------------------------------------------------------------------
class HybridClassifier:
    """Cues + trained heads + example similarity; see the module docstring."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        config: ClassifyConfig | None = None,
        heads: Heads | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.config = config or ClassifyConfig(method="rules")
        self.heads = heads
        self.embedder = embedder
        self.matcher = CueMatcher(taxonomy, self.config.negation_window, self.config.max_chars)
        self.method = f"{HYBRID_METHOD} ({heads.version})" if heads is not None else RULES_METHOD
        self._examples: dict[str, np.ndarray] | None = None

    @property
    def embedder_id(self) -> str | None:
        """Model id of the embeddings this classifier reads (None: it reads none)."""
        return self.embedder.model_id if self.embedder is not None else None

    def classify(self, text: str) -> UtteranceLabel:
        """Label one customer utterance."""
        return self.classify_many([text])[0]

    def classify_many(
        self, texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> list[UtteranceLabel]:
        """Label utterances; `vectors` are their embeddings when already computed (same model)."""
        analyses = self.matcher.analyze_many(texts)
        live = [i for i, a in enumerate(analyses) if not a.skipped]
        labels: list[UtteranceLabel] = [_neutral(a.note) for a in analyses]
        if not live:
            return labels
        embeddings = self._embeddings([analyses[i] for i in live], vectors, live)
        if self.heads is not None:
            assert embeddings is not None, "trained heads need an embedder"
            found = self.heads.predict([analyses[i] for i in live], embeddings)
        else:
            polarity = {t.code: t.polarity for t in self.taxonomy.themes}
            found = [(_cue_sentiment(analyses[i], polarity), {}) for i in live]
        for row, i in enumerate(live):
            sentiment, head_scores = found[row]
            vector = embeddings[row] if embeddings is not None else None
            labels[i] = self._label(analyses[i], sentiment, head_scores, vector)
        return labels

    def _embeddings(
        self, analyses: list[Analysis], vectors: np.ndarray | None, rows: list[int]
    ) -> np.ndarray | None:
        if self.embedder is None:
            return None
        if vectors is not None:
            return np.asarray(vectors, dtype=np.float32)[rows]
        return self.embedder.embed([a.text for a in analyses])

    def _label(
        self,
        analysis: Analysis,
        sentiment: dict[str, float],
        head_scores: dict[str, float],
        vector: np.ndarray | None,
    ) -> UtteranceLabel:
        scores = {
            theme.code: head_scores[theme.code]
            if self.heads is not None and theme.code in self.heads.codes
            else self._untrained_score(analysis, theme, vector)
            for theme in self.taxonomy.themes
        }
        found = {code for code, score in scores.items() if score >= self._threshold(code)}
        threat_scores = {c: scores[c] for c in self.taxonomy.threatened}
        if self.heads is not None and threat_scores and not found & set(threat_scores):
            from pipeline.heads import THREATENED_HEAD

            # The pooled "felt threatened" head saw it although no single threat theme did:
            # report the likeliest threat theme, so the flag and the themes always agree.
            pooled = head_scores[THREATENED_HEAD]
            if pooled >= self.heads.threshold(THREATENED_HEAD):
                likeliest = max(threat_scores, key=threat_scores.__getitem__)
                found.add(likeliest)
                scores[likeliest] = pooled
        themes = [c for c in self.taxonomy.codes if c in found]
        theme_scores = {c: round(float(scores[c]), 3) for c in themes}
        by_code = {t.code: t for t in self.taxonomy.themes}
        evidence = {c: self._evidence(analysis, by_code[c], vector) for c in themes}
        return UtteranceLabel(
            sentiment=max(sentiment, key=sentiment.__getitem__),  # type: ignore[arg-type]
            sentiment_scores=sentiment,
            themes=themes,
            theme_scores=theme_scores,
            threatened=bool(self.taxonomy.threatened & set(themes)),
            evidence=evidence,
            note=analysis.note,
        )

    def _threshold(self, code: str) -> float:
        if self.heads is not None and code in self.heads.codes:
            return self.heads.threshold(code)
        return min(RULE_SCORE, self.config.example_similarity)

    def _untrained_score(
        self, analysis: Analysis, theme: Theme, vector: np.ndarray | None
    ) -> float:
        """RULE_SCORE for a live cue, else the best cosine to the theme's examples if close."""
        if analysis.live_cues(theme.code):
            return RULE_SCORE
        examples = self._example_vectors().get(theme.code)
        if vector is None or examples is None:
            return 0.0
        similarity = float(np.max(examples @ vector))
        return similarity if similarity >= self.config.example_similarity else 0.0

    def _example_vectors(self) -> dict[str, np.ndarray]:
        if self._examples is None:
            self._examples = {}
            if self.embedder is not None:
                for theme in self.taxonomy.themes:
                    if theme.examples:
                        self._examples[theme.code] = self.embedder.embed(list(theme.examples))
        return self._examples

    def _evidence(self, analysis: Analysis, theme: Theme, vector: np.ndarray | None) -> list[str]:
        """The exact words behind a theme: its live cues, else the words the head leaned on."""
        cues = analysis.live_cues(theme.code)
        if cues:
            spans = {analysis.text[c.start : c.end]: c.start for c in cues}
            return sorted(spans, key=spans.__getitem__)
        if self.heads is not None and theme.code in self.heads.codes:
            span = self.heads.strongest_span(analysis, theme.code)
            if span:
                return [span]
        return [_best_sentence(analysis, self.embedder, theme, self._example_vectors())]


def _best_sentence(
    analysis: Analysis,
    embedder: Embedder | None,
    theme: Theme,
    examples: dict[str, np.ndarray],
) -> str:
    """The sentence closest to the theme's examples (the only sentence, when there is one)."""
    sentences = [s for s in analysis.doc.sents if s.text.strip()]
    texts = [analysis.text[s.start_char : s.end_char] for s in sentences]
    if len(texts) <= 1 or embedder is None or theme.code not in examples:
        return texts[0] if texts else analysis.text
    scores = embedder.embed(texts) @ examples[theme.code].T
    return texts[int(np.argmax(scores.max(axis=1)))]


def _neutral(note: str | None) -> UtteranceLabel:
    return UtteranceLabel(
        sentiment="neutral",
        sentiment_scores={"positive": 0.0, "neutral": 1.0, "negative": 0.0},
        themes=[],
        theme_scores={},
        threatened=False,
        evidence={},
        note=note,
    )


def _cue_sentiment(analysis: Analysis, polarity: dict[str, str]) -> dict[str, float]:
    """Rules-only sentiment: softmax over (2(p-n), 1, 2(n-p)) of live positive/negative cues.

    A theme cue counts with its theme's polarity; balanced or absent cues give neutral.
    """
    positive = negative = 0.0
    for cue in analysis.cues:
        if cue.negated:
            continue
        sign = {"+": "positive", "-": "negative"}.get(cue.key) or polarity.get(cue.key)
        positive += sign == "positive"
        negative += sign == "negative"
    logits = {
        "positive": 2 * (positive - negative),
        "neutral": 1.0,
        "negative": 2 * (negative - positive),
    }
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    total = sum(exp.values())
    return {k: round(v / total, 4) for k, v in exp.items()}


def make_classifier(settings: Any, embedder: Embedder | None = None) -> HybridClassifier:
    """The configured classifier: heads from `classify.heads` (method hybrid) or cues only.

    `embedder` is used only when it is the model the heads were trained on; otherwise the
    classifier builds that model itself (so stored embeddings are reused when they match).
    """
    from pipeline.embed import make_embedder
    from pipeline.heads import load_heads

    taxonomy = load_taxonomy(settings.themes_file)
    config: ClassifyConfig = settings.classify
    if config.method == "rules":
        return HybridClassifier(taxonomy, config, None, None)
    heads = load_heads(config.heads)
    if embedder is None or embedder.model_id != heads.embedder_id:
        embedder = make_embedder(heads.embed_config)
    return HybridClassifier(taxonomy, config, heads, embedder)


def classifier_fingerprint(settings: Any) -> str:
    """Identity of the configured classifier for cache keys: method plus weights digest."""
    if settings.classify.method == "rules":
        return RULES_METHOD
    from pipeline.heads import load_heads

    return f"{HYBRID_METHOD}:{load_heads(settings.classify.heads).meta['weights_sha256'][:16]}"


@dataclass
class InterviewLabel:
    """Roll-up of one interview's customer utterances."""

    sentiment: str
    themes: list[str]
    threatened: bool
    empathy_score: float
    quotes: dict[str, list[str]]


def summarize_interview(
    labels: list[UtteranceLabel], texts: list[str], taxonomy: Taxonomy
) -> InterviewLabel:
    """Interview-level labels.

    Sentiment: the label with the highest summed probability over customer utterances.
    Empathy score (0-100): Laplace-smoothed share of positive-polarity theme mentions among all
    polarised theme mentions, 100 * (P + 1) / (P + N + 2); 50 when the customer named none.
    """
    polarity = {t.code: t.polarity for t in taxonomy.themes}
    totals: dict[str, float] = defaultdict(float)
    quotes: dict[str, list[str]] = defaultdict(list)
    pos = neg = 0
    for label, text in zip(labels, texts, strict=True):
        for name, p in label.sentiment_scores.items():
            totals[name] += p
        for code in label.themes:
            quotes[code].append(text)
            pos += polarity.get(code) == "positive"
            neg += polarity.get(code) == "negative"
    sentiment = max(SENTIMENTS, key=lambda s: totals.get(s, 0.0)) if labels else "neutral"
    themes = [t.code for t in taxonomy.themes if t.code in quotes]
    return InterviewLabel(
        sentiment=sentiment,
        themes=themes,
        threatened=any(label.threatened for label in labels),
        empathy_score=round(100 * (pos + 1) / (pos + neg + 2), 1),
        quotes=dict(quotes),
    )
