"""Fit the classifier heads on labelled statements; the dev split is only ever evaluated.

Training rows are doubled with a spoken-style variant, lower case with no punctuation and a
filler word, because ASR output is messy; a copy always sits in its original's cross-validation fold.
Hyper-parameters (regularisation C, embedding scale), Platt calibration, F1-best thresholds and
the stacked sentiment head are all fitted on out-of-fold predictions of the training set.
"""

from __future__ import annotations

import platform
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import softmax

from pipeline.classify.cues import CueMatcher
from pipeline.classify.evaluate import Example
from pipeline.classify.heads import CUE_EXTRA, Heads, feature_matrix, stack_features
from pipeline.classify.taxonomy import Taxonomy
from pipeline.config import ClassifyConfig, EmbedConfig
from pipeline.embed import Embedder
from pipeline.records import SENTIMENTS

FILLERS = ("ehm", "cioè", "insomma", "diciamo", "allora", "guardi", "praticamente")
GRID_C = (2.0, 8.0, 32.0)
GRID_SCALE = (1.5, 3.0)
GRID_STACK_C = (0.1, 0.3, 1.0, 3.0)
THRESHOLDS = np.round(np.arange(0.2, 0.71, 0.05), 2)
FOLDS = 5
N_HASH = 2**14


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
) -> TrainingResult:
    """Fit every head on `examples` (the training split) and return them with a report."""
    codes = taxonomy.codes
    if unknown := {t for e in examples for t in e.themes} - set(codes):
        raise ValueError(f"training labels name theme(s) not in the taxonomy: {sorted(unknown)}")
    rng = random.Random(seed)
    texts = [e.text for e in examples] + [spoken_variant(e.text, rng) for e in examples]
    rows = examples + examples
    groups = np.array(list(range(len(examples))) * 2)
    fold_of = np.array(_folds(len(examples), seed))[groups]
    matcher = CueMatcher(taxonomy, config.negation_window, config.max_chars)
    analyses = matcher.analyze_many(texts)
    embeddings = embedder.embed([a.text for a in analyses])
    y_theme = np.array([[c in r.themes for c in codes] for r in rows], dtype=int)
    threat = np.array([c in taxonomy.threatened for c in codes])
    # One more head, for "felt threatened" itself: it sees every threat statement at once.
    y_heads = np.hstack([y_theme, y_theme[:, threat].any(1, keepdims=True).astype(int)])
    n = len(codes)
    y_sent = np.array([SENTIMENTS.index(r.sentiment) for r in rows])

    search: list[dict[str, Any]] = []
    for scale in GRID_SCALE:
        x = feature_matrix(analyses, embeddings, codes, N_HASH, scale)
        for c in GRID_C:
            theme_oof = _oof_theme_scores(x, y_heads, fold_of, c)
            sent_oof = _oof_sentiment_logits(x, y_sent, fold_of, c)
            search.append(
                {
                    "emb_scale": scale,
                    "C": c,
                    "theme_micro_f1": _micro_f1(theme_oof[:, :n] > 0, y_theme),
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
    x = feature_matrix(analyses, embeddings, codes, N_HASH, scale)
    platt_a, platt_b, thresholds = _calibrate_themes(best_theme["_theme_oof"], y_heads)
    oof_p = _platt(best_theme["_theme_oof"], platt_a, platt_b)
    positive = np.array([t.polarity == "positive" for t in taxonomy.themes], dtype=np.float32)
    end = x.shape[1] - N_HASH
    z = stack_features(
        softmax(best_sent["_sent_oof"], axis=1),
        oof_p[:, :n],
        positive,
        x[:, end - CUE_EXTRA : end].toarray(),
    )
    stack_c, stack_f1 = _choose_stack(z, y_sent, fold_of)
    stack = _logistic(stack_c, multiclass=True).fit(z, y_sent)
    theme_w, theme_b = _fit_themes(x, y_heads, best_theme["C"])
    sent_w, sent_b = _fit_sentiment(x, y_sent, best_sent["C"])

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
            "rows_with_spoken_copies": len(rows),
            "sentiment_counts": {
                s: int((y_sent == i).sum()) // 2 for i, s in enumerate(SENTIMENTS)
            },
            "theme_counts": {c: int(y_theme[:, i].sum()) // 2 for i, c in enumerate(codes)},
        },
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
    )
    detected = oof_p >= thresholds
    felt = detected[:, :n][:, threat].any(1) | detected[:, n]
    report = {
        "grid": [{k: v for k, v in s.items() if not k.startswith("_")} for s in search],
        "out_of_fold": {
            "theme_micro_f1_at_threshold": _micro_f1(detected[:, :n], y_theme),
            "threatened_f1": round(_f1(felt.astype(int), y_heads[:, n]), 3),
            "sentiment_macro_f1_base": best_sent["sentiment_macro_f1"],
            "sentiment_macro_f1_stacked": stack_f1,
        },
    }
    meta["cross_validation"] = report
    return TrainingResult(heads, report)


def _folds(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    fold = [0] * n
    for position, index in enumerate(order):
        fold[index] = position % FOLDS
    return fold


def _logistic(c: float, multiclass: bool = False) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, solver="lbfgs" if multiclass else "liblinear")


def _oof_theme_scores(
    x: sparse.csr_matrix, y: np.ndarray, fold: np.ndarray, c: float
) -> np.ndarray:
    scores = np.zeros(y.shape, dtype=float)
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        for j in range(y.shape[1]):
            model = _logistic(c).fit(x[train], y[train, j])
            scores[test, j] = model.decision_function(x[test])
    return scores


def _oof_sentiment_logits(
    x: sparse.csr_matrix, y: np.ndarray, fold: np.ndarray, c: float
) -> np.ndarray:
    logits = np.zeros((len(y), len(SENTIMENTS)))
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        model = _logistic(c, multiclass=True).fit(x[train], y[train])
        logits[test] = model.decision_function(x[test])
    return logits


def _fit_themes(x: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    weights, biases = [], []
    for j in range(y.shape[1]):
        model = _logistic(c).fit(x, y[:, j])
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
    return np.stack(weights, axis=1), np.array(biases)


def _fit_sentiment(x: sparse.csr_matrix, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    model = _logistic(c, multiclass=True).fit(x, y)
    return model.coef_.T, model.intercept_


def _platt(scores: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(a * scores + b, -30, 30)))


def _calibrate_themes(oof: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Platt scaling per theme on out-of-fold scores, then the threshold with the best OOF F1."""
    from sklearn.linear_model import LogisticRegression

    a, b, thresholds = [], [], []
    for j in range(y.shape[1]):
        platt = LogisticRegression(C=1e4).fit(oof[:, j : j + 1], y[:, j])
        a.append(platt.coef_[0, 0])
        b.append(platt.intercept_[0])
        p = _platt(oof[:, j], a[-1], b[-1])
        f1s = [_f1((p >= t).astype(int), y[:, j]) for t in THRESHOLDS]
        thresholds.append(float(THRESHOLDS[int(np.argmax(f1s))]))
    return np.array(a), np.array(b), np.array(thresholds)


def _choose_stack(z: np.ndarray, y: np.ndarray, fold: np.ndarray) -> tuple[float, float]:
    """C of the stacked sentiment head with the best out-of-fold macro-F1 (and that F1)."""
    best = (GRID_STACK_C[0], -1.0)
    for c in GRID_STACK_C:
        predicted = np.zeros(len(y), dtype=int)
        for k in range(FOLDS):
            model = _logistic(c, multiclass=True).fit(z[fold != k], y[fold != k])
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
) -> dict[str, Any]:
    """Train on `train`, evaluate on `dev` (never fitted), write heads + MODEL_CARD.md."""
    from pipeline.classify.classifier import HybridClassifier
    from pipeline.classify.evaluate import evaluate
    from pipeline.classify.heads import load_heads, save_heads, write_meta

    result = train_heads(train, taxonomy, embedder, embed_config, config, seed)
    result.heads.meta["sources"] = sources or {}
    save_heads(result.heads, folder)
    load_heads.cache_clear()
    heads = load_heads(folder)  # dev figures are those of the float32 weights as shipped
    meta = heads.meta
    if dev:
        classifier = HybridClassifier(taxonomy, config, heads, embedder)
        meta["dev"] = evaluate(dev, classifier) | {"statements": len(dev)}
        meta["dev"]["calibration"] = _dev_calibration(dev, classifier)
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


def model_card(meta: dict[str, Any]) -> str:
    """Markdown card for the trained heads: data, parameters, dev metrics, versions."""
    training = meta["training"]
    lines = [
        "# ascolto classifier heads (written by `ascolto train`)",
        "",
        f"- Trained: {meta['trained_at']} (seed {meta['seed']}); weights sha256 "
        f"`{meta.get('weights_sha256', '')[:16]}`; format: `heads.npz` (float arrays, loaded "
        "with `allow_pickle=False`) + `heads.json`.",
        f"- Data: {training['statements']} training statements "
        f"({meta['sources'].get('train')}), each also seen as a spoken-style copy; dev: "
        f"{meta.get('dev', {}).get('statements', 0)} statements ({meta['sources'].get('dev')}), "
        "never used to fit anything.",
        f"- Embeddings: {meta['embedder_id']} (x{meta['emb_scale']}); hashed lemma n-grams "
        f"({meta['n_hash']} columns, negation-marked); cue features from themes.yaml.",
        f"- Heads: logistic regression, theme C={meta['theme_C']}, sentiment "
        f"C={meta['sentiment_C']}, chosen by {FOLDS}-fold cross-validation on the training split; "
        "Platt-calibrated theme probabilities with F1-best thresholds; sentiment stacked on the "
        f"theme probabilities by polarity (C={meta['stack_C']}).",
        f"- Libraries: {', '.join(f'{k} {v}' for k, v in meta['libraries'].items())}.",
        "",
        "## Training label counts",
        "",
        "sentiment: " + ", ".join(f"{k} {v}" for k, v in training["sentiment_counts"].items()),
        "",
        "| theme | statements |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in training["theme_counts"].items()],
    ]
    dev = meta.get("dev")
    if dev:
        lines += [
            "",
            "## Dev metrics (held-out split of the same corpus, same author)",
            "",
            f"- sentiment macro-F1 **{dev['sentiment_macro_f1']}** (accuracy "
            f"{dev['sentiment_accuracy']})",
            f"- threatened F1 **{dev['threatened']['f1']}** (precision "
            f"{dev['threatened']['precision']}, recall {dev['threatened']['recall']}, "
            f"support {dev['threatened']['support']})",
            f"- theme micro-F1 **{dev['theme_micro_f1']}**",
            f"- calibration (expected calibration error): themes {dev['calibration']['theme_ece']}, "
            f"sentiment top label {dev['calibration']['sentiment_top_label_ece']}",
            "",
            "| theme | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
            *[
                f"| {code} | {m['precision']} | {m['recall']} | {m['f1']} | {m['support']} |"
                for code, m in dev["themes"].items()
            ],
        ]
    lines += _reviews_section(meta.get("reviews"))
    lines += [
        "",
        "## Limits",
        "",
        "The corpus was written by the developers (synthetic customer statements in spoken "
        "Italian, with negations, irony and ASR-style errors), so dev figures are an optimistic "
        "estimate for real customers. Retrain with `ascolto train` on your own labelled lines.",
        "",
    ]
    return "\n".join(lines)


def _reviews_section(reviews: dict[str, Any] | None) -> list[str]:
    """The card's lines on analysts' reviews folded into training (none: no lines)."""
    if not reviews:
        return []

    def line(name: str, figures: dict[str, Any] | None) -> str:
        if figures is None:
            return f"- {name}: nothing held out"
        threatened = figures["threatened"]
        return (
            f"- {name} ({figures['classifier']}): sentiment accuracy "
            f"{figures['sentiment_accuracy']}, threatened F1 {threatened['f1']} (precision "
            f"{threatened['precision']}, recall {threatened['recall']}), theme micro-F1 "
            f"{figures['theme_micro_f1']}"
        )

    return [
        "",
        "## Analysts' reviews (`ascolto train --with-reviews`)",
        "",
        f"- {reviews['used']} reviews from {reviews['data_dir']} added to training (each "
        f"{reviews['weight']} time(s)); {reviews['held_out']} held out (seed {reviews['seed']}, "
        "grouped by text), never fitted:",
        line("before, the classifier configured at training time", reviews["before"]),
        line("after, these heads", reviews["after"]),
    ]
