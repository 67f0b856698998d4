"""Retrain the heads with analysts' reviews folded in (`ascolto train --with-reviews DATA_DIR`).

Reviews whose quote still reads as it did (the text hash matches) become training statements
with the analyst's sentiment and themes. A seeded share of them is held out, grouped by text so
the same words never sit on both sides, and measured twice: with the classifier configured now
(before) and with the retrained heads (after). Both figures, and how many reviews were used,
go into heads.json (`reviews`) and the model card.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from pipeline.classify.evaluate import Example, evaluate
from pipeline.classify.taxonomy import load_taxonomy
from pipeline.config import Settings
from pipeline.embed import Embedder
from pipeline.errors import AscoltoError
from pipeline.store import Store, require_store
from pipeline.store.reviews import text_hash


class NoReviews(AscoltoError, LookupError):
    """The data directory holds no review that still matches its quote."""


def review_examples(data_dir: Path) -> list[Example]:
    """The analysts' labels of the last completed run's quotes, as training statements."""
    from pipeline.stages.report import last_run

    require_store(data_dir)
    with Store(data_dir, read_only=True) as store:
        frame = store.review_examples(last_run(store).keys.transcript)
    examples = [
        Example(
            f"review:{r.recording_id}:{r.utt_idx}",
            str(r.text),
            str(r.sentiment),
            frozenset(r.themes),
            source="reviews",
        )  # fmt: skip
        for r in frame.itertuples(index=False)
    ]
    if not examples:
        raise NoReviews(
            f"no reviews in {data_dir} that match their quotes: review some with "
            "`ascolto review` first"
        )
    return examples


def split_reviews(
    examples: list[Example], held_out: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(to train on, held out): the reviews split by a seeded shuffle of their distinct texts.

    A `held_out` share of the texts (rounded up, at least one kept for training) is held out;
    identical words always stay on one side, so the held-out figures are not of memorised text.
    """
    texts = sorted({text_hash(e.text) for e in examples})
    random.Random(seed).shuffle(texts)
    n = min(len(texts) - 1, math.ceil(held_out * len(texts))) if held_out > 0 else 0
    test = set(texts[:n])
    return (
        [e for e in examples if text_hash(e.text) not in test],
        [e for e in examples if text_hash(e.text) in test],
    )


def _figures(metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """The headline figures of an evaluation (None when nothing was held out)."""
    if metrics is None:
        return None
    return {
        "examples": metrics["examples"],
        "classifier": metrics["classifier"],
        "sentiment_accuracy": metrics["sentiment_accuracy"],
        "sentiment_macro_f1": metrics["sentiment_macro_f1"],
        "threatened": metrics["threatened"],
        "theme_micro_f1": metrics["theme_micro_f1"],
    }


def _shipped_grid(classifier: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The configured heads' own embedding scale and C values.

    A retrain with a few reviews keeps the hyper-parameters the full search chose, so it takes
    minutes, not half an hour.
    """
    from pipeline.classify.train import GRID_C, GRID_SCALE

    if classifier.heads is None:  # classify.method: rules, nothing chosen yet
        return GRID_SCALE, GRID_C
    meta = classifier.heads.meta
    cs = tuple(sorted({float(meta["theme_C"]), float(meta["sentiment_C"])}))
    return (float(meta["emb_scale"]),), cs


def configured_training(settings: Settings) -> tuple[Path, ...]:
    """The statement files the configured heads were trained on (all shipped ones if no heads).

    A retrain with reviews then differs from the heads it replaces by the reviews alone.
    """
    import json

    from pipeline.classify.corpora import SHIPPED_TRAINING, heads_training_files

    meta_path = settings.classify.heads / "heads.json"
    if not meta_path.is_file():
        return SHIPPED_TRAINING
    return heads_training_files(json.loads(meta_path.read_text(encoding="utf-8")))


def train_with_reviews(
    data_dir: Path,
    settings: Settings,
    train: list[Example],
    dev: list[Example],
    folder: Path,
    embedder: Embedder,
    seed: int = 13,
    held_out: float = 0.25,
    weight: int = 1,
    sources: dict[str, str | None] | None = None,
    general: list[Example] | None = None,
    tune: bool | None = None,
) -> dict[str, Any]:
    """Train on `train` plus the data directory's reviews (each `weight` times) into `folder`.

    `general` is the general Italian text trained beside them, and `tune` says whether USE's
    layers are fine-tuned too (`train_and_save`); None: as the configured heads were, so a
    retrain does not silently drop the tuned reader the shipped heads read.

    Returns the heads' metadata, whose `reviews` entry says how many reviews were used and held
    out and the before/after figures on the held-out ones.
    """
    from pipeline.classify.card import model_card
    from pipeline.classify.classifier import HybridClassifier, make_classifier
    from pipeline.classify.heads import load_heads, write_meta
    from pipeline.classify.train import train_and_save

    fit, test = split_reviews(review_examples(data_dir), held_out, seed)
    configured = make_classifier(settings)
    before = evaluate(test, configured) if test else None
    if tune is None:
        tune = configured.heads is not None and configured.heads.meta.get("tuned") is not None
    taxonomy = load_taxonomy(settings.themes_file)
    meta = train_and_save(train + fit * weight, dev, taxonomy, embedder, settings.embed,
                          settings.classify, folder, seed=seed, sources=sources,
                          general=general, grid=_shipped_grid(configured),
                          tune=tune)  # fmt: skip
    heads = load_heads(folder)
    after = None
    if test:
        after = evaluate(test, HybridClassifier(taxonomy, settings.classify, heads, embedder))
    meta["reviews"] = {
        "data_dir": str(data_dir),
        "used": len(fit),
        "weight": weight,
        "held_out": len(test),
        "seed": seed,
        "before": _figures(before),
        "after": _figures(after),
    }
    heads.meta = meta
    write_meta(heads, folder)
    (folder / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    (folder / "config.yaml").write_text(
        "# Settings that use these heads: ascolto rerun classify --config <this file>\n"
        "classify:\n  heads: .\n",
        encoding="utf-8",
    )
    return meta
