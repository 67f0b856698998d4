"""Agreement and speed of the classifier on the demo's customer lines.

    python benchmarks/classify.py [--out benchmarks/results/classify.json]

The demo's source lines carry the sentiment and themes they were written to express
(`demo/labels.jsonl`). CAUTION: those lines and the rule cues were written by the same author, so
agreement here is an upper bound on what the rules do on real customers, not a held-out figure.
Speed: utterances per second, end to end from text, one process (the rules use one core).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify import RuleClassifier, load_taxonomy  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.evaluate import Example, evaluate  # noqa: E402


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


def main() -> None:
    """Write agreement and throughput to JSON and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "classify.json"
    )
    args = parser.parse_args()
    settings = load_settings()
    classifier = RuleClassifier(
        load_taxonomy(settings.themes_file), settings.classify.negation_window
    )
    examples = demo_lines()
    metrics = evaluate(examples, classifier)
    texts = [e.text for e in examples] * max(1, 5000 // len(examples))
    started = time.perf_counter()
    for text in texts:
        classifier.classify(text)
    elapsed = time.perf_counter() - started
    metrics["throughput_utterances_per_s"] = round(len(texts) / elapsed)
    metrics["data"] = "demo/labels.jsonl customer lines (same author as the cues: not held out)"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    print(  # noqa: T201
        f"{metrics['examples']} lines: sentiment macro-F1 {metrics['sentiment_macro_f1']}, "
        f"threatened F1 {metrics['threatened']['f1']}, theme micro-F1 {metrics['theme_micro_f1']}, "
        f"{metrics['throughput_utterances_per_s']} utterances/s"
    )


if __name__ == "__main__":
    main()
