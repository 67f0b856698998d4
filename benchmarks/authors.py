"""How the classifier does on an author it has never read: leave one author out.

    python benchmarks/authors.py [--authors fourth,sixth] [--out benchmarks/results/authors.json]

The interview statements come from several authors, each of whom wrote without seeing the others'
files or the model: `statements_it.jsonl` (the team), then `statements_extra_it.jsonl`,
`statements_third_it.jsonl`... For each later author A this trains heads exactly like the shipped
ones (same corpora, same general Italian, same seed) on every training split except A's, then
scores them on all of A's statements, which that model has never seen, and on A's dev split
alone. Beside it, the shipped heads (which trained on A's training split) are scored on that same
dev split, so the last two figures compare the same lines.

The gap between them is what a new writer costs; the issue's held-out statements, written by
people outside the team, are a new writer. To keep each fold to a few minutes the embedding scale
is the one the shipped heads chose (`heads.json`), and C is searched over the shipped theme and
sentiment values only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify import corpora  # noqa: E402
from pipeline.classify.classifier import HybridClassifier, make_classifier  # noqa: E402
from pipeline.classify.evaluate import Example, evaluate  # noqa: E402
from pipeline.classify.taxonomy import load_taxonomy  # noqa: E402
from pipeline.classify.train import train_heads  # noqa: E402
from pipeline.config import load_settings  # noqa: E402

KEPT = ("examples", "sentiment_macro_f1", "threatened", "theme_micro_f1")


def _figures(examples: list[Example], classifier: HybridClassifier) -> dict[str, Any]:
    metrics = evaluate(examples, classifier)
    return {key: metrics[key] for key in KEPT}


def leave_out(author: str, settings: Any, shipped: HybridClassifier) -> dict[str, Any]:
    """Train without `author`'s statements, score on all of them; the shipped heads on its dev."""
    own = corpora.TRAINING_DIR / f"train_{author}.jsonl"
    dev = corpora.TRAINING_DIR / f"dev_{author}.jsonl"
    training = [
        e for path in corpora.SHIPPED_TRAINING if path != own for e in corpora.read_labelled(path)
    ]
    dev_lines = corpora.read_labelled(dev)
    unseen = corpora.read_labelled(own) + dev_lines
    meta = shipped.heads.meta
    grid = ((meta["emb_scale"],), tuple(sorted({meta["theme_C"], meta["sentiment_C"]})))
    taxonomy = load_taxonomy(settings.themes_file)
    started = time.perf_counter()
    result = train_heads(training, taxonomy, shipped.embedder, settings.embed, settings.classify,
                         seed=meta["seed"], general=corpora.general_training(), grid=grid)  # fmt: skip
    fitted = time.perf_counter() - started
    without = HybridClassifier(taxonomy, settings.classify, result.heads, shipped.embedder)
    return {
        "trained_on_statements": len(training),
        "training_seconds": round(fitted, 1),
        "never_seen_author": _figures(unseen, without),
        "never_seen_author_dev_split": _figures(dev_lines, without),
        "shipped_heads_on_its_dev_split": _figures(dev_lines, shipped),
    }


def main() -> None:
    """Leave each named later author out in turn; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    authors = [p.stem.removeprefix("dev_") for p in corpora.later_author_devs()]
    parser.add_argument("--authors", default=",".join(authors), help="of " + ", ".join(authors))
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "authors.json"
    )
    args = parser.parse_args()
    settings = load_settings()
    shipped = make_classifier(settings)
    if shipped.heads is None:
        parser.error("classify.method is rules: there are no trained heads to compare with")
    results: dict[str, Any] = {
        "shipped_heads": shipped.method,
        "grid": "the shipped heads' emb_scale, theme_C and sentiment_C",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "left_out": {},
    }
    for author in args.authors.split(","):
        print(f"leaving out {author}...", file=sys.stderr)  # noqa: T201
        results["left_out"][author] = figures = leave_out(author, settings, shipped)
        print(json.dumps({author: figures}), file=sys.stderr)  # noqa: T201
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)  # noqa: T201


if __name__ == "__main__":
    main()
