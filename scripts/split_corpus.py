"""Split the labelled statement corpus into train and dev, once, with a fixed seed.

    python scripts/split_corpus.py [--seed 13] [--dev-share 0.25]
    python scripts/split_corpus.py --corpus statements_extra_it.jsonl --suffix _extra --dev-share 0.3
    (each later author alike: statements_third_it.jsonl --suffix _third, ... _fourteenth, _seventeenth)

Reads `models/training/statements_it.jsonl` and writes `train.jsonl` and `dev.jsonl` beside it
(or another corpus, written as `train{suffix}.jsonl` and `dev{suffix}.jsonl`).
The split is stratified on (sentiment, first theme) so every theme lands in both parts. Dev is
never used to fit anything: `ascolto train` fits on train only and reports dev metrics.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify.corpora import plain_text  # noqa: E402

TRAINING = ROOT / "models" / "training"


def main() -> None:
    """Write the two split files and print their sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--dev-share", type=float, default=0.25)
    parser.add_argument(
        "--corpus", default="statements_it.jsonl", help="file in models/training/ to split"
    )
    parser.add_argument(
        "--suffix", default="", help="written as train{suffix}.jsonl and dev{suffix}.jsonl"
    )
    args = parser.parse_args()
    rows = [json.loads(line) for line in (TRAINING / args.corpus).read_text().splitlines()]
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        strata[(row["sentiment"], (row["themes"] or ["-"])[0])].append(row)
    rng = random.Random(args.seed)
    train, dev = [], []
    for key in sorted(strata):
        group = strata[key]
        rng.shuffle(group)
        n_dev = round(len(group) * args.dev_share)
        dev += group[:n_dev]
        train += group[n_dev:]
    # A line another corpus already holds out ("gentilissimi come no") must not be trained on.
    held_out = _other_texts("dev", f"dev{args.suffix}.jsonl")
    dropped = [r["id"] for r in train if plain_text(r["text"]) in held_out]
    train = [r for r in train if r["id"] not in dropped]
    # And a line another corpus already trains on ("boh, normale") is no test of this one.
    trained = _other_texts("train", f"train{args.suffix}.jsonl")
    dropped_dev = [r["id"] for r in dev if plain_text(r["text"]) in trained]
    dev = [r for r in dev if r["id"] not in dropped_dev]
    for name, part in (("train", train), ("dev", dev)):
        part.sort(key=lambda r: r["id"])
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part)
        (TRAINING / f"{name}{args.suffix}.jsonl").write_text(text, encoding="utf-8")
    print(  # noqa: T201
        f"train {len(train)}, dev {len(dev)} (seed {args.seed}); dropped from train "
        f"{dropped or 'none'}, from dev {dropped_dev or 'none'}"
    )


def _other_texts(part: str, own: str) -> set[str]:
    """Texts of every other corpus's `part` split ("dev", "train"), without case or punctuation."""
    return {
        plain_text(json.loads(line)["text"])
        for path in TRAINING.glob(f"{part}*.jsonl")
        if path.name != own
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }


if __name__ == "__main__":
    main()
