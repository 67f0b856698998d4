"""Agreement and speed of the shipped classifier.

    python benchmarks/classify.py [--out benchmarks/results/classify.json]

Agreement on two sets, reported separately:
- `dev`: models/training/dev.jsonl, the held-out split of the labelled corpus (never fitted; same
  authors as the training split, so an optimistic estimate for real customers);
- `demo`: every customer line of the demo script with the labels it was written to express
  (demo/labels.jsonl). Not training data, but written by the same authors as the corpus.
Speed: utterances per second end to end from raw text (spaCy analysis, cues, USE embedding,
heads) on the dev texts repeated, in one process with the configured threads (2 by default).
The heavy models are loaded and warmed up before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify.classifier import make_classifier  # noqa: E402
from pipeline.classify.evaluate import Example, evaluate  # noqa: E402
from pipeline.config import load_settings  # noqa: E402


def labelled(path: Path) -> list[Example]:
    """Examples from a labelled JSON Lines file."""
    rows = map(json.loads, path.read_text(encoding="utf-8").splitlines())
    return [Example(r["id"], r["text"], r["sentiment"], frozenset(r["themes"])) for r in rows]


def demo_lines() -> list[Example]:
    """Every customer line of the demo script with its intended labels."""
    examples = []
    for row in map(json.loads, (ROOT / "demo" / "labels.jsonl").read_text().splitlines()):
        for turn in row["turns"]:
            for i, line in enumerate(turn.get("lines", [])):
                examples.append(
                    Example(f"{row['file']}#{i}", line["text"], line["sentiment"],
                            frozenset(line["themes"]))
                )  # fmt: skip
    return examples


def _summary(metrics: dict) -> dict:
    keep = ("examples", "classifier", "sentiment_macro_f1", "sentiment_accuracy", "theme_micro_f1")
    return {k: metrics[k] for k in keep} | {
        "threatened_f1": metrics["threatened"]["f1"],
        "themes": metrics["themes"],
    }


def main() -> None:
    """Write agreement and throughput to JSON and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "classify.json"
    )
    parser.add_argument("--repeat", type=int, default=5, help="times the dev texts are timed")
    args = parser.parse_args()
    settings = load_settings()
    classifier = make_classifier(settings)
    dev = labelled(ROOT / "models" / "training" / "dev.jsonl")
    results = {
        "dev": _summary(evaluate(dev, classifier)),
        "demo": _summary(evaluate(demo_lines(), classifier)),
    }
    texts = [e.text for e in dev] * args.repeat
    started = time.perf_counter()
    classifier.classify_many(texts)
    elapsed = time.perf_counter() - started
    results["speed"] = {
        "utterances": len(texts),
        "seconds": round(elapsed, 2),
        "utterances_per_s": round(len(texts) / elapsed),
        "embed_threads": settings.embed.threads,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "openblas_env": {
            k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name in ("dev", "demo"):
        m = results[name]
        print(  # noqa: T201
            f"{name}: {m['examples']} lines, sentiment macro-F1 {m['sentiment_macro_f1']}, "
            f"threatened F1 {m['threatened_f1']}, theme micro-F1 {m['theme_micro_f1']}"
        )
    print(f"speed: {results['speed']['utterances_per_s']} utterances/s")  # noqa: T201


if __name__ == "__main__":
    main()
