"""How the classifier does on Italian it was not written for: the held-apart general corpora.

Figures (all on dev splits, never trained on; see `pipeline/classify/corpora.py`):
- benign sentences, per source: share flagged "felt threatened" (false alarms), share with any
  theme, share labelled uncertain; `fortunes` is a source never seen in training;
- FEEL-IT dev tweets: sentiment macro-F1 over its two classes, share called neutral, share of
  positive tweets called negative, false alarms on the joyful ones;
- everyday Italian dev split, per genre (reviews, coaching dialogue, social comments): sentiment
  macro-F1 over three classes, false alarms, share labelled uncertain;
- evidence: share of evidence strings made of function words only;
- later authors' interview statements (`dev_*.jsonl`): the usual in-domain figures per author.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.classify import corpora
from pipeline.classify.classifier import HybridClassifier
from pipeline.classify.cues import is_content
from pipeline.classify.evaluate import Example
from pipeline.records import UtteranceLabel


def share(flags: Iterable[bool]) -> float:
    """Share of True among flags, to 4 decimals (0.0 when there are none)."""
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else 0.0


def _alarms(examples: list[Example], labels: list[UtteranceLabel]) -> dict[str, Any]:
    """False alarms on text where nobody is threatened: the share, uncertain share, examples."""
    return {
        "threatened_rate": share(label.threatened for label in labels),
        "uncertain_share": share(label.uncertain is not None for label in labels),
        "flagged_examples": [
            e.text for e, label in zip(examples, labels, strict=True) if label.threatened
        ][:5],
    }


def benign_rates(classifier: HybridClassifier) -> tuple[dict[str, Any], list[UtteranceLabel]]:
    """False-alarm, any-theme and uncertain shares per benign source (dev split)."""
    out, every = {}, []
    for source in corpora.benign_sources():
        examples = corpora.benign("dev", source=source)
        labels = classifier.classify_many([e.text for e in examples])
        every += labels
        out[source] = {
            "sentences": len(examples),
            "any_theme_rate": share(bool(label.themes) for label in labels),
        } | _alarms(examples, labels)
    return out, every


def feel_it_figures(classifier: HybridClassifier) -> tuple[dict[str, Any], list[UtteranceLabel]]:
    """Sentiment on FEEL-IT's dev split and false alarms on its joyful tweets."""
    from sklearn.metrics import f1_score

    examples = corpora.feel_it("dev")
    labels = classifier.classify_many([e.text for e in examples])
    actual = [e.sentiment for e in examples]
    found = [label.sentiment for label in labels]
    joyful = [label for e, label in zip(examples, labels, strict=True) if e.known == "threats"]
    macro = f1_score(actual, found, labels=["positive", "negative"], average="macro")
    return {
        "tweets": len(examples),
        "sentiment_macro_f1": round(float(macro), 3),
        "called_neutral": share(s == "neutral" for s in found),
        "positive_called_negative": share(
            f == "negative" for a, f in zip(actual, found, strict=True) if a == "positive"
        ),
        "joyful_threatened_rate": share(label.threatened for label in joyful),
    }, labels


def everyday_figures(
    classifier: HybridClassifier, split: corpora.Split | None = "dev"
) -> tuple[dict[str, Any], list[UtteranceLabel]]:
    """Per genre of everyday Italian: sentiment macro-F1, false alarms, uncertain share."""
    from sklearn.metrics import f1_score

    out, every = {}, []
    for genre in corpora.everyday_genres():
        examples = corpora.everyday(split, genre=genre)
        labels = classifier.classify_many([e.text for e in examples])
        every += labels
        actual = [e.sentiment for e in examples]
        found = [label.sentiment for label in labels]
        present = [s for s in ("positive", "neutral", "negative") if s in actual]
        macro = f1_score(actual, found, labels=present, average="macro")
        out[genre] = {
            "texts": len(examples),
            "sentiment_macro_f1": round(float(macro), 3),
        } | _alarms(examples, labels)
    return out, every


def function_words_only(classifier: HybridClassifier, labels: list[UtteranceLabel]) -> float:
    """Share of the labels' evidence strings in which no word is a content word."""
    evidence = [text for label in labels for texts in label.evidence.values() for text in texts]
    docs = classifier.matcher.nlp.pipe([text.lower() for text in evidence])
    return share(not any(is_content(t) for t in doc) for doc in docs)


def later_authors(classifier: HybridClassifier) -> dict[str, Any]:
    """Sentiment, threatened and theme figures on each later author's dev split."""
    from pipeline.classify.evaluate import evaluate

    out = {}
    for path in corpora.later_author_devs():
        metrics = evaluate(corpora.read_labelled(path), classifier)
        out[path.stem] = {
            key: metrics[key]
            for key in ("examples", "sentiment_macro_f1", "threatened", "theme_micro_f1")
        }
    return out


def held_apart(classifier: HybridClassifier) -> dict[str, Any]:
    """Every figure above, for the model card and the benchmark."""
    benign, benign_labels = benign_rates(classifier)
    feel_it, feel_labels = feel_it_figures(classifier)
    everyday, everyday_labels = everyday_figures(classifier)
    return {
        "benign": benign,
        "feel_it_dev": feel_it,
        "everyday_dev": everyday,
        "later_authors": later_authors(classifier),
        "evidence_function_words_only": function_words_only(
            classifier, benign_labels + feel_labels + everyday_labels
        ),
    }
