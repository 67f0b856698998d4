"""A linear and a non-linear reader of the same embedding, for "felt threatened", side by side.

    python benchmarks/probe_threat.py [--out benchmarks/results/probe_threat.json]   # ~6 minutes

The shipped heads are logistic regressions. This asks whether a small neural network reading the
same USE vectors finds more, before anything is built on it. Embedding alone (no cues, no
n-grams, no calibration, so far below the classifier's own figures): each probe is fitted on the
interview statements the shipped heads trained on, its threshold is the F1-best on 5-fold
out-of-fold scores, and it is scored on the 15 interview dev splits (never fitted). The network
is trained with several seeds, because its figure moves with the seed. Held-out writers are not
read.

The last probe, `tuned USE`, is the network itself fine-tuned (`pipeline/classify/tune.py`, the
reader the shipped heads read): trained on a seeded 90% of the same statements, its threshold the
F1-best on the other 10% (six fits for out-of-fold scores would take half an hour), one figure per
seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import machine  # noqa: E402
from pipeline.classify import corpora  # noqa: E402
from pipeline.classify.evaluate import Example  # noqa: E402
from pipeline.classify.heads import load_heads  # noqa: E402
from pipeline.classify.taxonomy import load_taxonomy  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.embed import make_embedder  # noqa: E402

SEEDS = (0, 1, 2, 3)
TUNED_SEEDS = (0, 1)


def _probes() -> dict[str, Callable[[], Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    probes: dict[str, Callable[[], Any]] = {
        f"linear C={c}": (lambda c=c: LogisticRegression(C=c, max_iter=5000)) for c in (4, 16, 64)
    }
    for seed in SEEDS:
        probes[f"network 512x128 seed {seed}"] = lambda seed=seed: MLPClassifier(
            (512, 128), alpha=1e-3, early_stopping=True, random_state=seed, max_iter=300
        )
    return probes


def _f1(predicted: np.ndarray, actual: np.ndarray) -> float:
    total = int(predicted.sum() + actual.sum())
    return 2 * int((predicted & actual).sum()) / total if total else 0.0


def _flags(examples: list[Example], threatened: frozenset[str]) -> np.ndarray:
    return np.array([bool(e.themes & threatened) for e in examples])


def measure() -> dict[str, Any]:
    """Each probe's out-of-fold F1, threshold and F1 on every dev split, with their mean."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    settings = load_settings()
    threatened = load_taxonomy(settings.themes_file).threatened
    sources = load_heads(settings.classify.heads).meta["sources"]["train"].split(", ")
    train = [e for path in sources for e in corpora.read_labelled(ROOT / path)]
    devs = {p.stem: corpora.read_labelled(p) for p in [corpora.TRAINING_DIR / "dev.jsonl"]}
    devs |= {p.stem: corpora.read_labelled(p) for p in corpora.later_author_devs()}
    embedder = make_embedder(settings.embed)
    x, y = embedder.embed([e.text for e in train]), _flags(train, threatened)
    dev_x = {name: embedder.embed([e.text for e in rows]) for name, rows in devs.items()}
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    results: dict[str, Any] = {}
    for name, make in _probes().items():
        oof = cross_val_predict(make(), x, y, cv=folds, method="predict_proba")[:, 1]
        cut = max(np.arange(0.1, 0.9, 0.02), key=lambda t: _f1(oof >= t, y))
        fitted = make().fit(x, y)
        per_split = {
            split: round(
                _f1(fitted.predict_proba(dev_x[split])[:, 1] >= cut, _flags(rows, threatened)), 3
            )
            for split, rows in devs.items()
        }
        results[name] = {
            "threshold": round(float(cut), 2),
            "out_of_fold_f1": round(_f1(oof >= cut, y), 3),
            "dev_mean_f1": round(statistics.mean(per_split.values()), 4),
            "dev": per_split,
        }
        print(f"{name}: dev mean {results[name]['dev_mean_f1']}", file=sys.stderr)  # noqa: T201
    for seed in TUNED_SEEDS:
        name = f"tuned USE seed {seed}"
        results[name] = _tuned_probe(train, devs, threatened, seed)
        print(f"{name}: dev mean {results[name]['dev_mean_f1']}", file=sys.stderr)  # noqa: T201
    return {
        "embedder": embedder.model_id,
        "training_statements": len(train),
        "dev_splits": len(devs),
        "machine": machine.describe(threads=settings.embed.threads),
        "probes": results,
    }


def _tuned_probe(
    train: list[Example], devs: dict[str, list[Example]], threatened: frozenset[str], seed: int
) -> dict[str, Any]:
    import random

    from pipeline.classify.taxonomy import load_taxonomy
    from pipeline.classify.tune import Tuner

    codes = load_taxonomy(load_settings().themes_file).codes
    order = list(range(len(train)))
    random.Random(f"probe-{seed}").shuffle(order)
    held = [train[i] for i in order[: len(order) // 10]]
    fitted_on = [train[i] for i in order[len(order) // 10 :]]
    tuner = Tuner(codes, threatened, seed)
    network = tuner.fit(fitted_on, seed)
    held_scores = tuner.logits(network, [e.text for e in held])[:, 0]
    held_flags = _flags(held, threatened)
    cut = max(np.arange(-3.0, 3.0, 0.1), key=lambda t: _f1(held_scores >= t, held_flags))
    per_split = {
        split: round(
            _f1(
                tuner.logits(network, [e.text for e in rows])[:, 0] >= cut, _flags(rows, threatened)
            ),
            3,
        )  # fmt: skip
        for split, rows in devs.items()
    }
    return {
        "threshold_logit": round(float(cut), 2),
        "validation_f1": round(_f1(held_scores >= cut, held_flags), 3),
        "dev_mean_f1": round(statistics.mean(per_split.values()), 4),
        "dev": per_split,
    }


def main() -> None:
    """Write the side-by-side probe figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/probe_threat.json")
    args = parser.parse_args()
    result = measure()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)  # noqa: T201


if __name__ == "__main__":
    main()
