"""Agreement, false alarms, transfer and speed of a classifier, side by side on held-apart sets.

    python benchmarks/classify.py [--heads DIR] [--out benchmarks/results/classify.json]
    python benchmarks/classify.py --heads A --heads B      # two trained classifiers compared

Every set below is held apart from training (fixed seeded splits, `pipeline/classify/corpora.py`):
- `domain_dev`: models/training/dev.jsonl, 377 interview statements by the team (same authors as
  the training split: an optimistic estimate for real customers);
- `demo`: the demo script's customer lines with the labels they were written to express;
- `domain_dev_NAME`: each later author's dev split (the rest of that author trained on);
- `unseen_NAME`: every statement of an author held out whole (`models/heldout/`), whom no
  classifier has read: the figure closest to the issue's held-out statements;
- `benign`: the dev split of ordinary Italian sentences from Debian's Italian documentation and
  fortunes (scripts/benign_sentences.py), where nobody is threatened: per source, the share of
  sentences flagged "felt threatened" (false alarms) and of sentences labelled uncertain;
  `fortunes` never appears in training (an unseen source);
- `feel_it_dev`: the 25% dev split of FEEL-IT tweets (joy -> positive, else negative; no neutral
  class): sentiment macro-F1 over the two classes present, and false alarms on the joyful ones;
- `everyday_dev`: the dev half of everyday Italian by independent authors (product reviews,
  diet-coaching dialogue turns, social comments; scripts/everyday.py), per genre: sentiment
  macro-F1 over three classes, the share flagged "felt threatened" (nobody is), uncertain share;
- `evidence`: on all of the above, the share of evidence strings made of function words only;
- `speed`: utterances per second end to end from raw text (spaCy, cues, embedding, heads) on
  10,000 utterances (the domain dev texts repeated), models loaded and warmed up before the clock.
Embedders compared with each other (USE against multilingual-e5-small): benchmarks/embeddings.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import machine  # noqa: E402
from pipeline.classify import corpora, transfer  # noqa: E402
from pipeline.classify.classifier import HybridClassifier, make_classifier  # noqa: E402
from pipeline.classify.evaluate import Example, evaluate  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.records import UtteranceLabel  # noqa: E402

SPEED_UTTERANCES = 10_000


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


def _summary(metrics: dict[str, Any], labels: list[UtteranceLabel]) -> dict[str, Any]:
    keep = ("examples", "classifier", "sentiment_macro_f1", "sentiment_accuracy", "theme_micro_f1")
    return {k: metrics[k] for k in keep} | {
        "threatened": metrics["threatened"],
        "uncertain_share": transfer.share(label.uncertain is not None for label in labels),
        "themes": metrics["themes"],
    }


def measure(classifier: HybridClassifier) -> dict[str, Any]:
    """Every figure of one classifier."""
    dev = corpora.read_labelled(ROOT / "models" / "training" / "dev.jsonl")
    sets = {"domain_dev": dev, "demo": demo_lines()}
    # Statements by later authors, held apart the same way: dev_extra.jsonl, dev_third.jsonl...
    for extra in corpora.later_author_devs():
        sets[f"domain_{extra.stem}"] = corpora.read_labelled(extra)
    # Whole authors never split nor trained on: statements_fifteenth_it.jsonl -> unseen_fifteenth
    for author in corpora.heldout_authors():
        sets[f"unseen_{author.stem.split('_')[1]}"] = corpora.read_labelled(author)
    results: dict[str, Any] = {"classifier": classifier.method}
    every: list[UtteranceLabel] = []
    for name, examples in sets.items():
        labels = classifier.classify_many([e.text for e in examples])
        every += labels
        results[name] = _summary(evaluate(examples, classifier), labels)
    results["benign"], benign_labels = transfer.benign_rates(classifier)
    results["feel_it_dev"], feel_labels = transfer.feel_it_figures(classifier)
    results["everyday_dev"], everyday_labels = transfer.everyday_figures(classifier)
    every += benign_labels + feel_labels + everyday_labels
    results["evidence"] = {
        "strings": sum(len(texts) for label in every for texts in label.evidence.values()),
        "function_words_only_share": transfer.function_words_only(classifier, every),
    }
    texts = [e.text for e in dev]
    texts = (texts * (SPEED_UTTERANCES // len(texts) + 1))[:SPEED_UTTERANCES]
    classifier.classify_many(texts[:200])  # warm-up
    started = time.perf_counter()
    classifier.classify_many(texts)
    elapsed = time.perf_counter() - started
    results["speed"] = {
        "utterances": len(texts),
        "seconds": round(elapsed, 2),
        "utterances_per_s": round(len(texts) / elapsed),
    }
    return results


def _print(results: dict[str, Any]) -> None:
    dev, feel = results["domain_dev"], results["feel_it_dev"]
    benign = ", ".join(f"{s} {m['threatened_rate']:.1%}" for s, m in results["benign"].items())
    print(  # noqa: T201
        f"{results['classifier']}\n"
        f"  domain dev: sentiment macro-F1 {dev['sentiment_macro_f1']}, threatened F1 "
        f"{dev['threatened']['f1']} (P {dev['threatened']['precision']}, R "
        f"{dev['threatened']['recall']}), theme micro-F1 {dev['theme_micro_f1']}, uncertain "
        f"{dev['uncertain_share']:.1%}\n"
        f"  benign threatened rate: {benign}\n"
        f"  FEEL-IT dev: sentiment macro-F1 {feel['sentiment_macro_f1']}, joyful flagged "
        f"{feel['joyful_threatened_rate']:.1%}\n"
        + "".join(
            f"  everyday {genre}: sentiment macro-F1 {m['sentiment_macro_f1']}, threatened "
            f"{m['threatened_rate']:.1%} of {m['texts']}\n"
            for genre, m in results["everyday_dev"].items()
        )
        + "".join(
            f"  {name}: sentiment macro-F1 {m['sentiment_macro_f1']}, threatened F1 "
            f"{m['threatened']['f1']} (P {m['threatened']['precision']}, R "
            f"{m['threatened']['recall']}), theme micro-F1 {m['theme_micro_f1']}\n"
            for name, m in results.items()
            if name.startswith("unseen_")
        )
        + f"  evidence of function words only: "
        f"{results['evidence']['function_words_only_share']:.1%}\n"
        f"  speed: {results['speed']['utterances_per_s']} utterances/s "
        f"({results['speed']['utterances']} in {results['speed']['seconds']} s)"
    )


def main() -> None:
    """Measure each classifier named (default: the configured one); write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", type=Path, action="append", help="a folder of trained heads")
    parser.add_argument("--rules", action="store_true", help="also measure classify.method rules")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "classify.json"
    )
    args = parser.parse_args()
    settings = load_settings()
    variants: dict[str, Any] = {}
    for folder in args.heads or [settings.classify.heads]:
        configured = settings.model_copy(
            update={"classify": settings.classify.model_copy(update={"heads": folder})}
        )
        variants[os.path.relpath(folder, ROOT)] = make_classifier(configured)
    if args.rules:
        rules = settings.classify.model_copy(update={"method": "rules"})
        variants["rules"] = make_classifier(settings.model_copy(update={"classify": rules}))
    results: dict[str, Any] = {
        "machine": machine.describe(embed_threads=settings.embed.threads),
    }
    for name, classifier in variants.items():
        results[name] = measure(classifier)
        _print(results[name])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
