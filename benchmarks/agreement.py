"""How far careful readers agree with each other on the labels, beside the classifier.

    python benchmarks/agreement.py sample OUT.jsonl    # the statements given to readers, text only
    python benchmarks/agreement.py [--out benchmarks/results/agreement.json]

The issue's targets ("felt threatened" F1 0.90 on held-out statements) are measured against one
set of human labels. This says how high a second careful reader gets against the same labels,
so the classifier's figure can be read beside a human one. The sample is 60 statements from each
held-out writer (`models/heldout/`, never trained on), chosen by a hash of the id. Readers worked
from `brief.md` and `themes.md` alone on the text alone, without the writer's labels, each
other's or the model's; their labels are `models/heldout/agreement/reader_NAME.jsonl`
(`{"id", "sentiment", "themes"}`, no text). No training or threshold reads them.

Written: every pair of readers (the writer, each reader, the shipped classifier) with
threatened F1, precision and recall (the first as reference), Cohen's kappa and a bootstrap 95%
interval; sentiment macro-F1 and theme micro-F1; the classifier against the majority of the
three people; and, for each person, that person and the classifier scored on the lines where
the other two people agree, a reference neither of them wrote.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify import corpora  # noqa: E402
from pipeline.classify.evaluate import Example, Judgement, compare, judgement_of  # noqa: E402

READERS_DIR = corpora.HELDOUT_DIR / "agreement"
PER_WRITER = 60
SEED = "agreement-2026"
BOOTSTRAP = 2000


def _rank(key: str, seed: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def sample(files: Sequence[Path], per_writer: int = PER_WRITER) -> list[Example]:
    """A fixed sample of each held-out writer, mixed so no writer's lines come together."""
    chosen: list[Example] = []
    for path in files:
        lines = sorted(corpora.read_labelled(path), key=lambda e: _rank(e.id, SEED))
        chosen += lines[:per_writer]
    return sorted(chosen, key=lambda e: _rank(e.id, "agreement-order"))


def read_reader(
    path: Path, ids: Sequence[str], codes: set[str]
) -> dict[str, tuple[str, frozenset]]:
    """One reader's labels by id; every sampled id exactly once, known codes only."""
    labels: dict[str, tuple[str, frozenset]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        themes = frozenset(row["themes"])
        if (
            row["id"] in labels
            or themes - codes
            or row["sentiment"] not in {"positive", "neutral", "negative"}
        ):
            raise SystemExit(f"{path}, line {number}: repeated id, unknown code or sentiment")
        labels[row["id"]] = (row["sentiment"], themes)
    if missing := set(ids) - set(labels):
        raise SystemExit(f"{path}: no label for {len(missing)} sampled ids, e.g. {min(missing)}")
    return labels


def majority(judgements: Sequence[Judgement], tie_breaker: int = 0) -> Judgement:
    """What most of an odd number of people said: each theme and the flag by vote; sentiment by
    vote, the `tie_breaker`'s where every person said something different."""
    half = len(judgements) / 2
    votes = Counter(j.sentiment for j in judgements)
    top, count = votes.most_common(1)[0]
    sentiment = top if count > half else judgements[tie_breaker].sentiment
    themes = Counter(code for j in judgements for code in j.themes)
    return Judgement(
        sentiment,
        frozenset(code for code, n in themes.items() if n > half),
        sum(j.threatened for j in judgements) > half,
    )


def kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's kappa: agreement beyond what the two readers' own label rates give by chance."""
    from sklearn.metrics import cohen_kappa_score

    return round(float(cohen_kappa_score(list(a), list(b))), 3)


def _f1(a: np.ndarray, b: np.ndarray) -> float:
    both = int((a & b).sum())
    total = int(a.sum() + b.sum())
    return 2 * both / total if total else float("nan")


def bootstrap_f1(a: Sequence[bool], b: Sequence[bool], rounds: int = BOOTSTRAP) -> list[float]:
    """A 95% interval for threatened F1 between two readers, resampling statements."""
    x, y = np.array(a, dtype=bool), np.array(b, dtype=bool)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(x), size=(rounds, len(x)))
    values = np.array([_f1(x[p], y[p]) for p in picks])
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return [round(float(low), 3), round(float(high), 3)]


def pair(reference: Sequence[Judgement], other: Sequence[Judgement], codes: Sequence[str]) -> dict:
    """Two readers side by side: the headline figures, kappa and the flag's interval."""
    figures = compare(reference, other, codes)
    flags_a = [j.threatened for j in reference]
    flags_b = [j.threatened for j in other]
    return {
        "statements": len(reference),
        "threatened": figures["threatened"],
        "threatened_flagged": [sum(flags_a), sum(flags_b)],
        "threatened_kappa": kappa(flags_a, flags_b),
        "threatened_f1_95": bootstrap_f1(flags_a, flags_b),
        "sentiment_macro_f1": figures["sentiment_macro_f1"],
        "sentiment_kappa": kappa([j.sentiment for j in reference], [j.sentiment for j in other]),
        "theme_micro_f1": figures["theme_micro_f1"],
    }


def _people_and_model(examples: list[Example]) -> tuple[dict[str, list[Judgement]], list[str]]:
    from pipeline.classify.classifier import make_classifier
    from pipeline.config import load_settings

    classifier = make_classifier(load_settings())
    codes = [t.code for t in classifier.taxonomy.themes]
    threatened = classifier.taxonomy.threatened
    ids = [e.id for e in examples]
    readers: dict[str, list[Judgement]] = {
        "writer": [judgement_of(e, threatened) for e in examples]
    }
    for path in sorted(READERS_DIR.glob("reader_*.jsonl")):
        labels = read_reader(path, ids, set(codes))
        readers[path.stem] = [
            Judgement(labels[i][0], labels[i][1], bool(labels[i][1] & threatened)) for i in ids
        ]
    found = classifier.classify_many([e.text for e in examples])
    readers["model"] = [Judgement(f.sentiment, frozenset(f.themes), f.threatened) for f in found]
    return readers, codes


def _where_others_agree(
    readers: dict[str, list[Judgement]], person: str, codes: Sequence[str]
) -> dict[str, Any]:
    """`person` and the model scored on the lines where the other people agree on the flag."""
    others = [name for name in readers if name not in (person, "model")]
    keep = [
        i
        for i in range(len(readers[person]))
        if len({readers[name][i].threatened for name in others}) == 1
    ]
    reference = [readers[others[0]][i] for i in keep]
    return {
        "reference": f"{' and '.join(others)} where they agree on the flag",
        "statements": len(keep),
        person: pair(reference, [readers[person][i] for i in keep], codes)["threatened"],
        "model": pair(reference, [readers["model"][i] for i in keep], codes)["threatened"],
    }


def measure(examples: list[Example]) -> dict[str, Any]:
    """Every figure the module docstring lists, as one JSON-ready dict."""
    readers, codes = _people_and_model(examples)
    people = [name for name in readers if name != "model"]
    result: dict[str, Any] = {
        "sample": f"{PER_WRITER} statements from each of {len(examples) // PER_WRITER} held-out "
        f"writers, {len(examples)} in all (seed {SEED!r})",
        "readers": people + ["model"],
        "pairs": {
            f"{a} vs {b}": pair(readers[a], readers[b], codes) for a, b in combinations(readers, 2)
        },
    }
    if len(people) >= 3:
        votes = [majority([readers[p][i] for p in people]) for i in range(len(examples))]
        result["model vs majority of people"] = pair(votes, readers["model"], codes)
        result["where the other people agree"] = {
            person: _where_others_agree(readers, person, codes) for person in people
        }
    writers = sorted({e.id.rstrip("0123456789") for e in examples})
    result["by writer (threatened F1 against the writer)"] = {
        prefix: {
            name: pair(
                [readers["writer"][i] for i in rows], [readers[name][i] for i in rows], codes
            )["threatened"]
            for name in readers
            if name != "writer"
        }
        for prefix in writers
        for rows in [[i for i, e in enumerate(examples) if e.id.rstrip("0123456789") == prefix]]
    }
    return result


def main() -> None:
    """Write the readers' sample (`sample OUT`) or the agreement figures (JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["sample", "measure"], default="measure")
    parser.add_argument("path", nargs="?", type=Path, help="sample: where to write the texts")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/agreement.json")
    args = parser.parse_args()
    examples = sample(corpora.heldout_authors())
    if args.command == "sample":
        if args.path is None:
            parser.error("sample needs the file to write")
        with args.path.open("w", encoding="utf-8") as out:
            for number, e in enumerate(examples, start=1):
                out.write(json.dumps({"n": number, "id": e.id, "text": e.text}, ensure_ascii=False))
                out.write("\n")
        print(f"wrote {len(examples)} statements to {args.path}", file=sys.stderr)  # noqa: T201
        return
    result = measure(examples)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)  # noqa: T201


if __name__ == "__main__":
    main()
