"""Gather independent authors' everyday Italian into `models/training/everyday_it.jsonl`.

    python scripts/everyday.py reviews.jsonl dialogue.jsonl social.jsonl

Each input line is a JSON object with `id`, `text`, `sentiment` (positive / neutral / negative)
and `genre` (review, dialogue, social); a review may carry its `stars` (1-2 negative, 3 neutral,
4-5 positive, checked), a dialogue turn its `dialogue` and `speaker`. The output keeps those
fields and adds `group`, the key of the row's split (a conversation's turns share one), and
`source`, the input file's name. A bad row stops the run naming file and line; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify.corpora import EVERYDAY, plain_text  # noqa: E402
from pipeline.records import SENTIMENTS  # noqa: E402

GENRES = ("review", "dialogue", "social")
STARS = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}


def rows_of(path: Path) -> list[dict]:
    """The checked rows of one author's file."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        row = json.loads(line)
        if not str(row.get("text", "")).strip() or row.get("sentiment") not in SENTIMENTS:
            sys.exit(f"{where}: needs a text and a sentiment in {SENTIMENTS}")
        if row.get("genre") not in GENRES:
            sys.exit(f"{where}: genre must be one of {GENRES}")
        if "stars" in row and STARS.get(row["stars"]) != row["sentiment"]:
            sys.exit(f"{where}: {row['stars']} stars is {STARS.get(row['stars'])} sentiment")
        kept = {
            k: row[k] for k in ("id", "text", "sentiment", "genre", "stars", "speaker") if k in row
        }
        kept["group"] = f"{path.stem}:{row.get('dialogue', row['id'])}"
        kept["source"] = path.name
        out.append(kept)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=EVERYDAY)
    args = parser.parse_args()
    rows = [row for path in args.files for row in rows_of(path)]
    ids = [row["id"] for row in rows]
    if len(set(ids)) != len(ids):
        sys.exit("two rows share an id; give each author's file its own id prefix")
    seen: dict[str, str] = {}
    unique = []
    for row in rows:  # a repeated text would sit on both sides of the split
        if seen.setdefault(plain_text(row["text"]), row["id"]) == row["id"]:
            unique.append(row)
    args.out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in unique))
    print(f"{len(unique)} rows ({len(rows) - len(unique)} repeated texts dropped) -> {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
