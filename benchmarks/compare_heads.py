"""Several trained head folders scored side by side on the same labelled files.

    python benchmarks/compare_heads.py --heads models/classifier /tmp/other \\
        --files models/heldout/statements_fifteenth_it.jsonl ... --out benchmarks/results/X.json
        [--unbacked-threat-score 0 0.5 0.7] [--threat-margin 0 0.05 0.1]

For each folder: how its folds were cut, the C values cross-validation chose, its out-of-fold
figures, and per file sentiment macro-F1, "felt threatened" F1 / precision / recall and theme
micro-F1 (`ascolto evaluate`'s figures). Used to decide between two ways of training on the
same data, e.g. `ascolto train --folds-by source` against the default. With
`--unbacked-threat-score`, each folder is also scored at each value of
`classify.unbacked_threat_score` (the head score a threat needs when the line has no threat word),
and with `--threat-margin` at each value of `classify.threat_margin` (added to the trained
threat thresholds).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify import corpora  # noqa: E402
from pipeline.classify.classifier import HybridClassifier  # noqa: E402
from pipeline.classify.evaluate import evaluate  # noqa: E402
from pipeline.classify.heads import load_heads  # noqa: E402
from pipeline.classify.taxonomy import load_taxonomy  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.embed import make_embedder  # noqa: E402


def score(
    folder: Path, files: list[Path], settings: Any, overrides: dict[str, float] | None = None
) -> dict[str, Any]:
    """One head folder's settings and its figures on each file (with `classify` overrides)."""
    heads = load_heads(folder)
    meta = heads.meta
    config = settings.classify.model_copy(update=overrides or {})
    classifier = HybridClassifier(
        load_taxonomy(settings.themes_file), config, heads, make_embedder(heads.embed_config)
    )
    row: dict[str, Any] = {
        "method": classifier.method,
        "unbacked_threat_score": config.unbacked_threat_score,
        "threat_margin": config.threat_margin,
        "folded_by": meta.get("folded_by", "statement"),
        "theme_C": meta["theme_C"],
        "sentiment_C": meta["sentiment_C"],
        "out_of_fold": meta["cross_validation"]["out_of_fold"],
    }
    for path in files:
        metrics = evaluate(corpora.read_labelled(path), classifier)
        row[path.stem] = {
            "examples": metrics["examples"],
            "sentiment_macro_f1": metrics["sentiment_macro_f1"],
            "threatened": metrics["threatened"],
            "theme_micro_f1": metrics["theme_micro_f1"],
        }
    return row


def main() -> None:
    """Score each --heads folder on every --files file; write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", type=Path, nargs="+", required=True)
    parser.add_argument("--files", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--unbacked-threat-score",
        type=float,
        nargs="+",
        help="classify.unbacked_threat_score values",
    )
    parser.add_argument(
        "--threat-margin", type=float, nargs="+", help="classify.threat_margin values"
    )
    args = parser.parse_args()
    if args.unbacked_threat_score and args.threat_margin:
        parser.error("sweep one setting at a time")
    sweep = [{"unbacked_threat_score": v} for v in args.unbacked_threat_score or []] or [
        {"threat_margin": v} for v in args.threat_margin or []
    ]
    settings = load_settings()
    results = {}
    for folder in args.heads:
        for overrides in sweep or [{}]:
            key = " ".join([str(folder), *(f"@ {v}" for v in overrides.values())])
            results[key] = score(folder, args.files, settings, overrides)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)  # noqa: T201


if __name__ == "__main__":
    main()
