"""Does training on more writers help a writer the heads have never read? Leave one writer out.

    python benchmarks/writers.py [--out benchmarks/results/writers.json] [--resume]

The issue's held-out statements are written by people outside the team, so the figure that
matters is a new voice's. Each writer held out whole (`models/heldout/`) is scored twice, by
heads trained side by side with one procedure (`train_and_save`, seed 13, the shipped heads'
general Italian, embedding scale 4, C 8 or 96 by cross-validation, no tuned reader):

- `base`: the shipped heads' training files (as their `heads.json` lists them);
- `NAME`: the same files plus every other held-out writer, whole (about 2,400 more statements).

Both are scored on the held-out writer and on every interview dev split, and their benign
sentences flagged "felt threatened" are recorded. About 6 minutes a condition on 2 cores, 45 in
all; `--resume` keeps the conditions already in OUT. Nothing here changes the shipped heads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify import corpora  # noqa: E402

GRID = ((4.0,), (8.0, 96.0))
SEED = 13


def base_training() -> list[Path]:
    """The files the shipped heads were trained on, as their `heads.json` lists them."""
    from pipeline.classify.reviews import configured_training
    from pipeline.config import load_settings

    return list(configured_training(load_settings(None)))


def writer_name(path: Path) -> str:
    """`statements_fifteenth_it.jsonl` -> `fifteenth`."""
    return path.stem.removeprefix("statements_").removesuffix("_it")


def figures(metrics: dict[str, Any]) -> dict[str, Any]:
    """The figures kept of `evaluate`'s output."""
    threatened = metrics["threatened"]
    return {
        "examples": metrics["examples"],
        "sentiment_macro_f1": metrics["sentiment_macro_f1"],
        "threatened_f1": threatened["f1"],
        "threatened_precision": threatened["precision"],
        "threatened_recall": threatened["recall"],
        "theme_micro_f1": metrics["theme_micro_f1"],
    }


class Trainer:
    """What every condition shares, loaded once: settings, taxonomy, embedder, general Italian."""

    def __init__(self) -> None:
        from pipeline.classify.taxonomy import load_taxonomy
        from pipeline.config import load_settings
        from pipeline.embed import make_embedder

        self.settings = load_settings(None)
        self.taxonomy = load_taxonomy(self.settings.themes_file)
        self.embedder = make_embedder(self.settings.embed)
        self.general = corpora.general_training()


def run_condition(
    trainer: Trainer, train_paths: list[Path], score_paths: list[Path]
) -> dict[str, Any]:
    """Train one set of heads on `train_paths` and score it on each of `score_paths`."""
    from pipeline.classify.classifier import HybridClassifier
    from pipeline.classify.evaluate import evaluate
    from pipeline.classify.heads import load_heads
    from pipeline.classify.train import train_and_save

    settings, taxonomy, embedder = trainer.settings, trainer.taxonomy, trainer.embedder
    start = time.perf_counter()
    train = [e for path in train_paths for e in corpora.read_labelled(path)]
    with tempfile.TemporaryDirectory() as folder:
        meta = train_and_save(train, [], taxonomy, embedder, settings.embed, settings.classify,
                              Path(folder), seed=SEED, general=trainer.general,
                              grid=GRID)  # fmt: skip
        classifier = HybridClassifier(taxonomy, settings.classify, load_heads(Path(folder)),
                                      embedder)  # fmt: skip
        scored = {
            p.stem: figures(evaluate(corpora.read_labelled(p), classifier)) for p in score_paths
        }
    return {
        "statements": len(train),
        "training_files": [p.name for p in train_paths],
        "theme_C": meta["theme_C"],
        "sentiment_C": meta["sentiment_C"],
        "benign_threatened_rate": {
            source: row["threatened_rate"] for source, row in meta["held_apart"]["benign"].items()
        },
        "seconds": round(time.perf_counter() - start),
        "scored": scored,
    }


def summarize(conditions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per writer, base against the heads that read the other writers; means over writers."""
    base = conditions.get("base")
    if base is None:
        return {}
    devs = [name for name in base["scored"] if name.startswith("dev")]
    keys = ("sentiment_macro_f1", "threatened_f1", "theme_micro_f1")

    def dev_mean(condition: dict[str, Any]) -> dict[str, float]:
        return {k: round(statistics.mean(condition["scored"][d][k] for d in devs), 4) for k in keys}

    writers = {}
    for name, condition in conditions.items():
        if name == "base":
            continue
        stem = f"statements_{name}_it"
        writers[name] = {
            "base": base["scored"][stem],
            "other_writers_too": condition["scored"][stem],
            "gain": {
                k: round(condition["scored"][stem][k] - base["scored"][stem][k], 4) for k in keys
            },
            "dev_splits_mean": dev_mean(condition),
            "benign_threatened_rate": condition["benign_threatened_rate"],
        }
    summary: dict[str, Any] = {"base_dev_splits_mean": dev_mean(base), "dev_splits": len(devs),
                               "base_benign_threatened_rate": base["benign_threatened_rate"],
                               "writers": writers}  # fmt: skip
    if writers:
        rows = list(writers.values())
        summary["mean_gain_on_the_unseen_writer"] = {
            k: round(statistics.mean(r["gain"][k] for r in rows), 4) for k in keys
        }
        summary["writers_up_on_threatened_f1"] = sum(r["gain"]["threatened_f1"] > 0 for r in rows)
        summary["dev_splits_mean_over_conditions"] = {
            k: round(statistics.mean(r["dev_splits_mean"][k] for r in rows), 4) for k in keys
        }
        summary["most_benign_threatened_rate"] = max(
            max(r["benign_threatened_rate"].values()) for r in rows
        )
    return summary


def main() -> None:
    """Train and score each condition in turn, writing OUT after each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/writers.json")
    parser.add_argument("--resume", action="store_true", help="keep the conditions already in OUT")
    args = parser.parse_args()
    done = (
        json.loads(args.out.read_text())["conditions"] if args.resume and args.out.exists() else {}
    )
    writers = corpora.heldout_authors()
    devs = corpora.later_author_devs() + [corpora.TRAINING_DIR / "dev.jsonl"]
    plan = {"base": (base_training(), devs + writers)}
    for writer in writers:
        others = [p for p in writers if p != writer]
        plan[writer_name(writer)] = (base_training() + others, devs + [writer])
    trainer: Trainer | None = None  # loaded only when a condition is left to run
    for name, (train_paths, score_paths) in plan.items():
        if name not in done:
            trainer = trainer or Trainer()
            done[name] = run_condition(trainer, train_paths, score_paths)
            print(f"{name}: {done[name]['seconds']} s", file=sys.stderr)  # noqa: T201
        result = {"conditions": done, "summary": summarize(done)}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
