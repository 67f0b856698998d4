"""Sentiment and themes of customer utterances, with the words that justify each label.

Method `hybrid-v1` (the default), in three layers:
1. **Cues.** spaCy Italian (blank tokenizer, sentencizer, lookup lemmatizer from
   spacy-lookups-data) analyses the lower-cased text. Each theme in `configs/themes.yaml` has
   `keywords` (matched on lemma or lower form by PhraseMatchers) and `patterns` (regular
   expressions). A cue inside a negation scope (a negator within `negation_window` tokens before
   it, same clause) does not count; a positive cue in a sentence with an irony marker ("come no")
   counts as negative.
2. **Trained heads** (`pipeline/classify/heads.py`, written by `ascolto train`) read the sentence embedding,
   lemma n-grams with negation marking and the cue counts, and give calibrated probabilities.
3. **Themes without a head** (added in YAML after training) are found by their cues or by
   cosine similarity to their `examples`.
Method `rules` is layer 1 alone. Interviewer speech never reaches this module.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.classify.cues import Analysis, CueMatcher, has_content
from pipeline.classify.taxonomy import Taxonomy, Theme, load_taxonomy
from pipeline.config import ClassifyConfig
from pipeline.records import SENTIMENTS, InterviewLabel, UtteranceLabel

if TYPE_CHECKING:
    from pipeline.classify.heads import Heads
    from pipeline.embed import Embedder

RULE_SCORE = 0.9  # a non-negated cue of a theme without a trained head
HYBRID_METHOD, RULES_METHOD = "hybrid-v1", "rules-v2"


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
            familiar = self.heads.familiar(embeddings).tolist()
        else:
            polarity = {t.code: t.polarity for t in self.taxonomy.themes}
            found = [(_cue_sentiment(analyses[i], polarity), {}) for i in live]
            familiar = [True] * len(live)
        for row, i in enumerate(live):
            sentiment, head_scores = found[row]
            vector = embeddings[row] if embeddings is not None else None
            labels[i] = self._label(analyses[i], sentiment, head_scores, vector, familiar[row])
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
        familiar: bool = True,
    ) -> UtteranceLabel:
        scores = {
            theme.code: head_scores[theme.code]
            if self.heads is not None and theme.code in self.heads.codes
            else self._untrained_score(analysis, theme, vector)
            for theme in self.taxonomy.themes
        }
        found = {code for code, score in scores.items() if score >= self._threshold(code)}
        self._pooled_threat(found, scores, head_scores, analysis)
        by_code = {t.code: t for t in self.taxonomy.themes}
        evidence = {c: self._evidence(analysis, by_code[c], vector) for c in found}
        # Precision first: a theme stands only on words that carry it. On text unlike the
        # statements the heads learnt from, a theme stands only on the taxonomy's own cues, and
        # a threat not at all: it goes to an analyst instead (uncertain). Where the customer
        # denies a threat, only a threat cue of its own still counts.
        denied = {c for c in found if self._denied(analysis, c)}
        kept = {
            c
            for c in found - denied
            if evidence[c]
            and (familiar or (analysis.live_cues(c) and c not in self.taxonomy.threatened))
            and not self._unbacked_threat(analysis, c, sentiment, scores[c])
        }
        uncertain = _uncertainty(found - kept - denied, kept, analysis, self.taxonomy, familiar)
        themes = [c for c in self.taxonomy.codes if c in kept]
        return UtteranceLabel(
            sentiment=max(sentiment, key=sentiment.__getitem__),  # type: ignore[arg-type]
            sentiment_scores=sentiment,
            themes=themes,
            theme_scores={c: round(float(scores[c]), 3) for c in themes},
            threatened=bool(self.taxonomy.threatened & set(themes)),
            evidence={c: evidence[c] for c in themes},
            note=analysis.note,
            uncertain=uncertain,
        )

    def _pooled_threat(
        self,
        found: set[str],
        scores: dict[str, float],
        head_scores: dict[str, float],
        analysis: Analysis,
    ) -> None:
        """Add the likeliest threat theme when only the pooled "felt threatened" head fired.

        So the flag and the themes always agree. A threat theme whose own cue is in the text
        comes first ("mi hanno minacciato" is intimidation even if pressure scored higher).
        """
        threat_scores = {c: scores[c] for c in self.taxonomy.threatened}
        if self.heads is None or not threat_scores or found & set(threat_scores):
            return
        from pipeline.classify.heads import THREATENED_HEAD

        pooled = head_scores[THREATENED_HEAD]
        if pooled >= self.heads.threshold(THREATENED_HEAD) + self.config.threat_margin:
            cued = [c for c in threat_scores if analysis.live_cues(c)]
            likeliest = max(cued or threat_scores, key=threat_scores.__getitem__)
            found.add(likeliest)
            scores[likeliest] = pooled

    def _unbacked_threat(
        self, analysis: Analysis, code: str, sentiment: dict[str, float], score: float
    ) -> bool:
        """A threat only the heads see, where the line itself argues against one or they doubt it.

        With no threat word anywhere, a threat the heads read into praise ("un ragazzo a modo,
        mi ha pure chiesto scusa") or next to the customer's own step ("domani vado
        dall'avvocato a farmi consigliare") is their own invention, and so is one they score
        under `classify.unbacked_threat_score` (a rude "e quindi?" to a disabled customer is
        ignored hardship, not a threat): it goes to an analyst (uncertain) instead of the
        count. A line with a threat word keeps its threat, however warm the rest ("mi ha urlato
        contro, poi si è scusato ed è stato gentilissimo").
        """
        if code not in self.taxonomy.threatened:
            return False
        if any(analysis.live_cues(c) for c in self.taxonomy.threatened):
            return False
        return (
            analysis.own_step
            or max(sentiment, key=sentiment.__getitem__) == "positive"
            or score < self.config.unbacked_threat_score
        )

    def _denied(self, analysis: Analysis, code: str) -> bool:
        """A threat theme the customer denies: none of its live cues stands after the denial."""
        until = analysis.denied_until
        return (
            until is not None
            and code in self.taxonomy.threatened
            and all(cue.start < until for cue in analysis.live_cues(code))
        )

    def _threshold(self, code: str) -> float:
        if self.heads is not None and code in self.heads.codes:
            # Thresholds are chosen on out-of-fold scores of writers the heads have read; the
            # writers' dev splits gain precision, and F1, when threats need a little more.
            margin = self.config.threat_margin if code in self.taxonomy.threatened else 0.0
            return self.heads.threshold(code) + margin
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
        """The content words behind a theme: its live cues, else the words the head leaned on.

        Cues made of function words only ("o vorresti") are not evidence; an empty list means
        nothing in the text carries the theme.
        """
        cues = [c for c in analysis.live_cues(theme.code) if has_content(analysis, c.start, c.end)]
        if cues:
            spans = {analysis.text[c.start : c.end]: c.start for c in cues}
            return sorted(spans, key=spans.__getitem__)
        if self.heads is not None and theme.code in self.heads.codes:
            span = self.heads.strongest_span(analysis, theme.code)
            return [span] if span else []
        return [_best_sentence(analysis, self.embedder, theme, self._example_vectors())]


def _uncertainty(
    dropped: set[str],
    kept: set[str],
    analysis: Analysis,
    taxonomy: Taxonomy,
    familiar: bool,
) -> str | None:
    """Why a label needs an analyst's eye (None: it does not).

    A threat the model saw but could not back, or threat words it does not read as a threat.
    """
    until = analysis.denied_until or 0  # cues the customer's denial speaks of do not count
    threat_cues = any(
        cue.start >= until for c in taxonomy.threatened for cue in analysis.live_cues(c)
    )
    if dropped & taxonomy.threatened:
        return (
            "threat seen by the model in text unlike its training statements"
            if not familiar
            else "threat seen by the model without words that carry it"
        )
    if threat_cues and not kept & taxonomy.threatened:
        return "threat words the model does not read as a threat"
    if dropped and not familiar:
        return "text unlike the training statements"
    return None


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
    from scipy.special import softmax

    probabilities = softmax(list(logits.values()))
    return {k: round(float(p), 4) for k, p in zip(logits, probabilities, strict=True)}


def make_classifier(settings: Any, embedder: Embedder | None = None) -> HybridClassifier:
    """The configured classifier: heads from `classify.heads` (method hybrid) or cues only.

    `embedder` is used only when it is the model the heads were trained on; otherwise the
    classifier builds that model itself (so stored embeddings are reused when they match).
    """
    from pipeline.classify.heads import load_heads
    from pipeline.embed import make_embedder

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
    # The digest heads.json declares, read without loading the weights: `load_heads` checks it
    # against heads.npz whenever the classifier is built.
    try:
        meta = json.loads((Path(settings.classify.heads) / "heads.json").read_text("utf-8"))
        digest = str(meta["weights_sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        from pipeline.classify.heads import load_heads

        meta = load_heads(settings.classify.heads).meta  # names the fix
        digest = meta["weights_sha256"]
    if isinstance(meta.get("tuned"), dict):  # its reader's weights are part of the identity
        digest = hashlib.sha256(f"{digest}:{meta['tuned'].get('sha256')}".encode()).hexdigest()
    return f"{HYBRID_METHOD}:{digest[:16]}"


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
