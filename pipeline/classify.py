"""Sentiment and themes of customer utterances, with the words that justify each label.

Method (v1, rule-based and transparent): the taxonomy in `configs/themes.yaml` lists, per theme,
regular-expression cues matched on the lower-cased utterance. A cue counts unless a negation
("non", "mai", "nessuno"...) stands within `negation_window` tokens before it in the same clause;
a positive cue in a sentence with an irony marker ("come no") counts as negative. Sentiment comes
from the polarity of the themes found plus the sentiment cues. Interviewer speech is never
classified. Scores are rule strengths, not calibrated probabilities.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import ConfigError, load_yaml
from pipeline.records import UtteranceLabel

NEGATORS = {"non", "mai", "nessun", "nessuno", "nessuna", "né", "neanche", "nemmeno", "senza"}
CLAUSE_BREAKS = {"ma", "però", "perché", "invece", "quando", "mentre", "poi"}
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Theme:
    """One taxonomy entry with its compiled cues."""

    code: str
    label_it: str
    label_en: str
    polarity: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class Taxonomy:
    """Themes, the threatened composite and sentiment cues, as loaded from YAML."""

    themes: tuple[Theme, ...]
    threatened: frozenset[str]
    positive: tuple[re.Pattern[str], ...]
    negative: tuple[re.Pattern[str], ...]
    irony: tuple[re.Pattern[str], ...]

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
        polarity = entry.get("polarity", "negative")
        if polarity not in SENTIMENTS:
            raise ConfigError(f"{where} ({code}): polarity must be one of {SENTIMENTS}")
        if not entry.get("patterns"):
            raise ConfigError(f"{where} ({code}): give at least one pattern")
        themes.append(
            Theme(
                code=code,
                label_it=str(entry.get("label_it", code)),
                label_en=str(entry.get("label_en", code)),
                polarity=polarity,
                patterns=_compile(entry["patterns"], f"{where} ({code})"),
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


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _negated(text: str, start: int, window: int) -> bool:
    """A negator within `window` tokens before `start`, without crossing a clause break."""
    before = _TOKEN.findall(text[:start].lower())[::-1][:window]
    for token in before:
        if token in NEGATORS:
            return True
        if token in CLAUSE_BREAKS or token in {".", ";", ",", "!", "?"}:
            return False
    return False


def _sentence_of(text: str, pos: int) -> str:
    start = max(text.rfind(p, 0, pos) for p in ".!?") + 1
    ends = [i for i in (text.find(p, pos) for p in ".!?") if i != -1]
    return text[start : min(ends) if ends else len(text)]


class RuleClassifier:
    """Theme cues with negation and irony handling; see the module docstring."""

    method = "rules-v1"

    def __init__(self, taxonomy: Taxonomy, negation_window: int = 4) -> None:
        self.taxonomy = taxonomy
        self.window = negation_window

    def _cues(self, text: str, patterns: tuple[re.Pattern[str], ...]) -> list[re.Match[str]]:
        return [
            m
            for p in patterns
            for m in p.finditer(text)
            if not _negated(text, m.start(), self.window)
        ]

    def classify(self, text: str) -> UtteranceLabel:
        """Label one customer utterance; empty text is neutral with no themes."""
        text = " ".join(text.split())
        tax = self.taxonomy
        evidence: dict[str, list[str]] = {}
        positive = negative = 0.0
        ironic = [m for p in tax.irony for m in p.finditer(text)]
        for theme in tax.themes:
            matches = self._cues(text, theme.patterns)
            if theme.polarity == "positive" and ironic:
                ironic_sentences = {_sentence_of(text, m.start()) for m in ironic}
                kept = [m for m in matches if _sentence_of(text, m.start()) not in ironic_sentences]
                negative += len(matches) - len(kept)
                matches = kept
            if not matches:
                continue
            evidence[theme.code] = sorted({m.group(0) for m in matches}, key=text.lower().find)
            if theme.polarity == "positive":
                positive += 1
            elif theme.polarity == "negative":
                negative += 1
        positive += len(self._cues(text, tax.positive))
        negative += len(self._cues(text, tax.negative))
        scores = _sentiment_scores(positive, negative)
        theme_scores = {code: round(1 - 0.5 ** len(spans), 3) for code, spans in evidence.items()}
        themes = sorted(evidence, key=[t.code for t in tax.themes].index)
        return UtteranceLabel(
            sentiment=max(scores, key=scores.__getitem__),  # type: ignore[arg-type]
            sentiment_scores=scores,
            themes=themes,
            theme_scores=theme_scores,
            threatened=bool(tax.threatened & set(themes)),
            evidence=evidence,
        )


def _sentiment_scores(positive: float, negative: float) -> dict[str, float]:
    """Softmax over (2(p-n), 1, 2(n-p)): balanced or absent cues give neutral."""
    logits = {
        "positive": 2 * (positive - negative),
        "neutral": 1.0,
        "negative": 2 * (negative - positive),
    }
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    total = sum(exp.values())
    return {k: round(v / total, 4) for k, v in exp.items()}


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
            pos += polarity[code] == "positive"
            neg += polarity[code] == "negative"
    sentiment = max(SENTIMENTS, key=lambda s: totals.get(s, 0.0)) if labels else "neutral"
    themes = [t.code for t in taxonomy.themes if t.code in quotes]
    return InterviewLabel(
        sentiment=sentiment,
        themes=themes,
        threatened=any(label.threatened for label in labels),
        empathy_score=round(100 * (pos + 1) / (pos + neg + 2), 1),
        quotes=dict(quotes),
    )
