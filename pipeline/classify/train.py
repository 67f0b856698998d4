"""Fit the classifier heads on labelled statements; the dev split is only ever evaluated.

Training rows are doubled with a spoken-style variant, lower case with no punctuation and a
filler word, because ASR output is messy; a copy always sits in its original's cross-validation fold.
Hyper-parameters (regularisation C, embedding scale), Platt calibration, F1-best thresholds and
the stacked sentiment head are all fitted on out-of-fold predictions of the training set.
Folds deal statements out at random; `folds_by="source"` keeps each source (one author's file)
in one fold instead, so settings are chosen for writers never read. Measured side by side on the
authors held out whole, it did not do better (README, "Measured"), so it is not the default.
"""

from __future__ import annotations

import platform
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import softmax

from pipeline.classify.card import model_card
from pipeline.classify.cues import CueMatcher
from pipeline.classify.evaluate import Example
from pipeline.classify.heads import (
    CUE_EXTRA,
    Heads,
    feature_matrix,
    stack_features,
    theme_view,
    with_tuned_rows,
)
from pipeline.classify.taxonomy import Taxonomy
from pipeline.config import ClassifyConfig, EmbedConfig
from pipeline.embed import Embedder
from pipeline.records import SENTIMENTS, FoldsBy

FILLERS = ("ehm", "cioè", "insomma", "diciamo", "allora", "guardi", "praticamente")
GRID_C = (8.0, 32.0, 96.0)
GRID_SCALE = (2.0, 4.0)
GRID_STACK_C = (0.1, 0.3, 1.0, 3.0)
THRESHOLDS = np.round(np.arange(0.2, 0.71, 0.05), 2)
FOLDS = 5
N_HASH = 2**14
BENIGN_WEIGHT = 0.25  # a benign sentence's weight in the sentiment heads (there are many)
N_CENTROIDS = 64
OOD_QUANTILE = 0.02


@dataclass
class TrainingResult:
    """The fitted heads and what was measured while fitting them (training data only)."""

    heads: Heads
    report: dict[str, Any]


def spoken_variant(text: str, rng: random.Random) -> str:
    """Lower case, punctuation dropped, one filler inserted: how Whisper output can look."""
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    if words:
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
    return " ".join(words)


def train_heads(
    examples: list[Example],
    taxonomy: Taxonomy,
    embedder: Embedder,
    embed_config: EmbedConfig,
    config: ClassifyConfig,
    seed: int = 13,
    general: list[Example] | None = None,
    grid: tuple[tuple[float, ...], tuple[float, ...]] = (GRID_SCALE, GRID_C),
    folds_by: FoldsBy = "statement",
    tune: bool = False,
    progress: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Fit every head on `examples` (interview statements) plus `general` Italian text.

    Interview statements are doubled with a spoken-style copy. A `general` example only trains
    the heads whose labels it knows (`Example.known`): a joyful tweet is a negative for the
    threat heads and says nothing about courtesy. `grid`: the embedding scales and C values
    searched by cross-validation. `folds_by`: "statement" (dealt at random) or "source" (each
    source's statements in one fold). `tune`: also fine-tune USE's layers on the same rows
    (`pipeline/classify/tune.py`, ~25 minutes more on 2 cores for the shipped corpus) and let the
    sentiment heads read its cross-fitted logits (`pipeline/classify/tuned.py`).
    """
    codes = taxonomy.codes
    general = general or []
    if unknown := {t for e in examples + general for t in e.themes} - set(codes):
        raise ValueError(f"training labels name theme(s) not in the taxonomy: {sorted(unknown)}")
    rng = random.Random(seed)
    texts = [e.text for e in examples] + [spoken_variant(e.text, rng) for e in examples]
    texts += [e.text for e in general]
    rows = examples + examples + general
    groups = np.array(list(range(len(examples))) * 2 + list(range(-len(general), 0)))
    folds, folded_by = _folds(examples, len(general), seed, folds_by)
    fold_of = np.array([folds[g] for g in groups])
    matcher = CueMatcher(taxonomy, config.negation_window, config.max_chars)
    analyses = matcher.analyze_many(texts)
    embeddings = embedder.embed([a.text for a in analyses])
    tuned, reader = (None, None)
    if tune:
        from pipeline.classify.tune import heads_features

        tuned, reader = heads_features(
            examples, general, folds, [a.text for a in analyses], taxonomy, embed_config.threads,
            seed, progress,
        )  # fmt: skip
    y_theme = np.array([[c in r.themes for c in codes] for r in rows], dtype=int)
    threat = np.array([c in taxonomy.threatened for c in codes])
    # One more head, for "felt threatened" itself: it sees every threat statement at once.
    y_heads = np.hstack([y_theme, y_theme[:, threat].any(1, keepdims=True).astype(int)])
    known = _known_mask(rows, np.append(threat, True))
    n = len(codes)
    y_sent = np.array([SENTIMENTS.index(r.sentiment) for r in rows])
    domain = np.arange(len(rows)) < 2 * len(examples)
    weight = np.where(domain | (y_sent != SENTIMENTS.index("neutral")), 1.0, BENIGN_WEIGHT)
    centroids, ood_similarity = _familiar_region(embeddings[: len(examples)], folds, seed)

    search: list[dict[str, Any]] = []
    for scale in grid[0]:
        x = feature_matrix(analyses, embeddings, codes, N_HASH, scale, tuned)
        x_themes = theme_view(x, embeddings.shape[1], tuned)
        for c in grid[1]:
            theme_oof = _oof_theme_scores(x_themes, y_heads, known, fold_of, c)
            sent_oof = _oof_sentiment_logits(x, y_sent, weight, fold_of, c)
            search.append(
                {
                    "emb_scale": scale,
                    "C": c,
                    "theme_micro_f1": _micro_f1(
                        (theme_oof[:, :n] > 0)[known[:, :n]], y_theme[known[:, :n]]
                    ),
                    "sentiment_macro_f1": _macro_f1(sent_oof.argmax(1), y_sent),
                    "_theme_oof": theme_oof,
                    "_sent_oof": sent_oof,
                }
            )
    best_theme = max(search, key=lambda s: s["theme_micro_f1"])
    best_sent = max(
        (s for s in search if s["emb_scale"] == best_theme["emb_scale"]),
        key=lambda s: s["sentiment_macro_f1"],
    )
    scale = best_theme["emb_scale"]
    x = feature_matrix(analyses, embeddings, codes, N_HASH, scale, tuned)
    platt_a, platt_b, thresholds = _calibrate_themes(best_theme["_theme_oof"], y_heads, known)
    oof_p = _platt(best_theme["_theme_oof"], platt_a, platt_b)
    positive = np.array([t.polarity == "positive" for t in taxonomy.themes], dtype=np.float32)
    end = x.shape[1] - N_HASH
    z = stack_features(
        softmax(best_sent["_sent_oof"], axis=1),
        oof_p[:, :n],
        positive,
        x[:, end - CUE_EXTRA : end].toarray(),
    )
    stack_c, stack_f1 = _choose_stack(z, y_sent, weight, fold_of)
    stack = _logistic(stack_c, multiclass=True).fit(z, y_sent, sample_weight=weight)
    theme_w, theme_b = _fit_themes(theme_view(x, embeddings.shape[1], tuned), y_heads, known,
                                   best_theme["C"])  # fmt: skip
    theme_w = with_tuned_rows(theme_w, embeddings.shape[1], tuned)
    sent_w, sent_b = _fit_sentiment(x, y_sent, weight, best_sent["C"])

    meta = {
        "codes": codes,
        "sentiments": list(SENTIMENTS),
        "embedder_id": embedder.model_id,
        "embed_config": embed_config.model_dump(mode="json"),
        "n_hash": N_HASH,
        "emb_scale": scale,
        "theme_C": best_theme["C"],
        "sentiment_C": best_sent["C"],
        "stack_C": stack_c,
        "negation_window": config.negation_window,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "training": {
            "statements": len(examples),
            "general": _general_counts(general),
            "rows_with_spoken_copies": len(rows),
            "sentiment_counts": {
                s: int((y_sent[domain] == i).sum()) // 2 for i, s in enumerate(SENTIMENTS)
            },
            "theme_counts": {c: int(y_theme[:, i].sum()) // 2 for i, c in enumerate(codes)},
        },
        "ood_similarity": ood_similarity,
        "n_centroids": len(centroids),
        "ood_quantile": OOD_QUANTILE,
        "folds": FOLDS,
        "folded_by": folded_by,
        "libraries": {
            name: version(name) for name in ("scikit-learn", "numpy", "spacy", "spacy-lookups-data")
        }
        | {"python": platform.python_version()},
    }
    heads = Heads(
        meta=meta,
        theme_w=theme_w,
        theme_b=theme_b,
        platt_a=platt_a,
        platt_b=platt_b,
        thresholds=thresholds,
        sent_w=sent_w,
        sent_b=sent_b,
        stack_w=stack.coef_.T,
        stack_b=stack.intercept_,
        positive=positive,
        centroids=centroids,
        tuned=reader,
    )
    detected = oof_p >= thresholds
    felt = detected[:, :n][:, threat].any(1) | detected[:, n]
    benign = ~domain & known[:, :n].all(1)
    report = {
        "grid": [{k: v for k, v in s.items() if not k.startswith("_")} for s in search],
        "out_of_fold": {
            "theme_micro_f1_at_threshold": _micro_f1(detected[domain, :n], y_theme[domain]),
            "threatened_f1": round(_f1(felt[domain].astype(int), y_heads[domain, n]), 3),
            "benign_threatened_rate": round(float(felt[benign].mean()), 4)
            if benign.any()
            else None,
            "sentiment_macro_f1_base": best_sent["sentiment_macro_f1"],
            "sentiment_macro_f1_stacked": stack_f1,
        },
    }
    meta["cross_validation"] = report
    return TrainingResult(heads, report)


def _folds(
    examples: list[Example], n_general: int, seed: int, by: FoldsBy
) -> tuple[list[int], FoldsBy]:
    """The fold of each statement, then of each general row, and how statements were folded.

    By source (when there are at least FOLDS sources), each source's statements share a fold,
    the largest sources first, each to the lightest fold, so out-of-fold scores are those of an
    unread writer; otherwise statements are dealt out at random. General rows always are.
    """
    rng = random.Random(seed)
    sizes = Counter(e.source for e in examples)
    if by == "statement" or len(sizes) < FOLDS:
        # All rows dealt in one shuffle: the folds the shipped heads were trained with.
        return _dealt(len(examples) + n_general, rng), "statement"
    load = [0] * FOLDS
    fold_of: dict[str, int] = {}
    for source in sorted(sizes, key=lambda s: (-sizes[s], s)):
        fold_of[source] = min(range(FOLDS), key=lambda k: (load[k], k))
        load[fold_of[source]] += sizes[source]
    return [fold_of[e.source] for e in examples] + _dealt(n_general, rng), "source"


def _dealt(n: int, rng: random.Random) -> list[int]:
    """Folds for `n` rows dealt out in a shuffled order (sizes differ by at most one)."""
    order = list(range(n))
    rng.shuffle(order)
    fold = [0] * n
    for position, index in enumerate(order):
        fold[index] = position % FOLDS
    return fold


def _logistic(c: float, multiclass: bool = False) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, solver="lbfgs" if multiclass else "liblinear")


def _known_mask(rows: list[Example], threat_heads: np.ndarray) -> np.ndarray:
    """(rows, heads): True where the row's label for that head is known."""
    known = np.ones((len(rows), len(threat_heads)), dtype=bool)
    for i, row in enumerate(rows):
        if row.known == "threats":
            known[i] = threat_heads
        elif row.known == "none":
            known[i] = False
    return known


def _general_counts(general: list[Example]) -> dict[str, int]:
    """How many general examples of each kind were trained on."""
    counts: dict[str, int] = {}
    for example in general:
        kind = example.id.rsplit("-", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _familiar_region(
    embeddings: np.ndarray, folds: list[int], seed: int
) -> tuple[np.ndarray, float]:
    """Centroids of the interview statements and the similarity below which a text is unfamiliar.

    The threshold is the OOD_QUANTILE of each statement's best cosine to centroids fitted on the
    other folds, so it is what a new statement of the same kind reaches, not what a fitted one does.
    """
    fold = np.array(folds[: len(embeddings)])
    best = np.zeros(len(embeddings))
    for k in range(FOLDS):
        centres = _centroids(embeddings[fold != k], seed)
        best[fold == k] = (embeddings[fold == k] @ centres.T).max(1)
    return _centroids(embeddings, seed), round(float(np.quantile(best, OOD_QUANTILE)), 4)


def _centroids(embeddings: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    k = min(N_CENTROIDS, len(embeddings))
    centres = KMeans(k, n_init=1, random_state=seed).fit(embeddings).cluster_centers_
    return (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)


def _oof_theme_scores(
    x: sparse.csr_matrix, y: np.ndarray, known: np.ndarray, fold: np.ndarray, c: float
) -> np.ndarray:
    scores = np.zeros(y.shape, dtype=float)
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        for j in range(y.shape[1]):
            rows = train & known[:, j]
            model = _logistic(c).fit(x[rows], y[rows, j])
            scores[test, j] = model.decision_function(x[test])
    return scores


def _oof_sentiment_logits(
    x: sparse.csr_matrix, y: np.ndarray, weight: np.ndarray, fold: np.ndarray, c: float
) -> np.ndarray:
    logits = np.zeros((len(y), len(SENTIMENTS)))
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        model = _logistic(c, multiclass=True).fit(x[train], y[train], sample_weight=weight[train])
        logits[test] = model.decision_function(x[test])
    return logits


def _fit_themes(
    x: sparse.csr_matrix, y: np.ndarray, known: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    weights, biases = [], []
    for j in range(y.shape[1]):
        model = _logistic(c).fit(x[known[:, j]], y[known[:, j], j])
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
    return np.stack(weights, axis=1), np.array(biases)


def _fit_sentiment(
    x: sparse.csr_matrix, y: np.ndarray, weight: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    model = _logistic(c, multiclass=True).fit(x, y, sample_weight=weight)
    return model.coef_.T, model.intercept_


def _platt(scores: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(a * scores + b, -30, 30)))


def _calibrate_themes(
    oof: np.ndarray, y: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Platt scaling per theme on out-of-fold scores, then the threshold with the best OOF F1."""
    from sklearn.linear_model import LogisticRegression

    a, b, thresholds = [], [], []
    for j in range(y.shape[1]):
        rows = known[:, j]
        platt = LogisticRegression(C=1e4).fit(oof[rows, j : j + 1], y[rows, j])
        a.append(platt.coef_[0, 0])
        b.append(platt.intercept_[0])
        p = _platt(oof[rows, j], a[-1], b[-1])
        f1s = [_f1((p >= t).astype(int), y[rows, j]) for t in THRESHOLDS]
        thresholds.append(float(THRESHOLDS[int(np.argmax(f1s))]))
    return np.array(a), np.array(b), np.array(thresholds)


def _choose_stack(
    z: np.ndarray, y: np.ndarray, weight: np.ndarray, fold: np.ndarray
) -> tuple[float, float]:
    """C of the stacked sentiment head with the best out-of-fold macro-F1 (and that F1)."""
    best = (GRID_STACK_C[0], -1.0)
    for c in GRID_STACK_C:
        predicted = np.zeros(len(y), dtype=int)
        for k in range(FOLDS):
            train = fold != k
            model = _logistic(c, multiclass=True).fit(
                z[train], y[train], sample_weight=weight[train]
            )
            predicted[fold == k] = model.predict(z[fold == k])
        f1 = _macro_f1(predicted, y)
        if f1 > best[1]:
            best = (c, f1)
    return best


def _f1(predicted: np.ndarray, actual: np.ndarray) -> float:
    """F1 of the positive class (0.0 when there is nothing to find and nothing was found)."""
    from sklearn.metrics import f1_score

    return float(f1_score(actual, predicted, zero_division=0.0))


def _micro_f1(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Micro-F1 of a label matrix (every row-theme decision pooled), to 3 decimals."""
    return round(_f1(predicted.astype(int).ravel(), actual.ravel()), 3)


def _macro_f1(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Macro-F1 over the three sentiments (one absent from both sides counts 0), to 3 decimals."""
    from sklearn.metrics import f1_score

    labels = list(range(len(SENTIMENTS)))
    f1 = f1_score(actual, predicted, labels=labels, average="macro", zero_division=0.0)
    return round(float(f1), 3)


def calibration_error(probabilities: np.ndarray, outcomes: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: mean |predicted - observed| over equal-width bins."""
    probabilities, outcomes = np.ravel(probabilities), np.ravel(outcomes)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probabilities, edges) - 1, 0, bins - 1)
    error = 0.0
    for k in range(bins):
        mask = which == k
        if mask.any():
            error += mask.mean() * abs(probabilities[mask].mean() - outcomes[mask].mean())
    return round(float(error), 4)


def train_and_save(
    train: list[Example],
    dev: list[Example],
    taxonomy: Taxonomy,
    embedder: Embedder,
    embed_config: EmbedConfig,
    config: ClassifyConfig,
    folder: Path,
    seed: int = 13,
    sources: dict[str, str | None] | None = None,
    general: list[Example] | None = None,
    grid: tuple[tuple[float, ...], tuple[float, ...]] = (GRID_SCALE, GRID_C),
    folds_by: FoldsBy = "statement",
    tune: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train on `train` (+ `general` text), evaluate on `dev` (never fitted), write the heads.

    The heads go to `folder` with MODEL_CARD.md.
    """
    from pipeline.classify.classifier import HybridClassifier
    from pipeline.classify.evaluate import evaluate
    from pipeline.classify.heads import load_heads, save_heads, write_meta

    result = train_heads(
        train, taxonomy, embedder, embed_config, config, seed, general, grid, folds_by, tune,
        progress,
    )  # fmt: skip
    result.heads.meta["sources"] = sources or {}
    save_heads(result.heads, folder)
    load_heads.cache_clear()
    heads = load_heads(folder)  # dev figures are those of the float32 weights as shipped
    meta = heads.meta
    classifier = HybridClassifier(taxonomy, config, heads, embedder)
    if dev:
        meta["dev"] = evaluate(dev, classifier) | {"statements": len(dev)}
        meta["dev"]["calibration"] = _dev_calibration(dev, classifier)
    if general:
        from pipeline.classify.transfer import held_apart

        meta["held_apart"] = held_apart(classifier)
    if dev or general:
        write_meta(heads, folder)
    (folder / "MODEL_CARD.md").write_text(model_card(meta), encoding="utf-8")
    return meta


def _dev_calibration(dev: list[Example], classifier: Any) -> dict[str, float]:
    """Expected calibration error of theme and sentiment probabilities on dev."""
    analyses = classifier.matcher.analyze_many([e.text for e in dev])
    live = [i for i, a in enumerate(analyses) if not a.skipped]
    kept = [analyses[i] for i in live]
    sentiment, themes = classifier.heads.probabilities(
        kept, classifier.embedder.embed([a.text for a in kept])
    )
    codes = classifier.heads.codes
    y_theme = np.array([[c in dev[i].themes for c in codes] for i in live], dtype=float)
    y_sent = np.array([SENTIMENTS.index(dev[i].sentiment) for i in live])
    correct = (sentiment.argmax(1) == y_sent).astype(float)
    return {
        "theme_ece": calibration_error(themes[:, : len(codes)], y_theme),
        "sentiment_top_label_ece": calibration_error(sentiment.max(1), correct),
    }
