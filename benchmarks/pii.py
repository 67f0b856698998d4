"""Per-type precision and recall of the redactor on the labelled Italian PII set.

    python benchmarks/pii.py [--split test|dev|all] [--out benchmarks/results/pii.json]

The set (`benchmarks/data/pii_it.txt`) marks personal data as `[[TYPE|text]]` and numbers that
must survive as `{{text}}`. Figures:
- recall / precision per type: a gold span counts as found when a predicted span of the same
  type overlaps it; a predicted span is correct when it overlaps a gold span of its type;
- removed: share of gold spans whose characters are at least 90% covered by predicted spans of
  any type (what matters for privacy: a PDR redacted as [CARTA] has still left the text);
- kept: share of `{{...}}` spans (amounts, dates, counts, agency names) that no prediction
  touches (over-redaction destroys the analytics).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import load_settings  # noqa: E402
from pipeline.privacy.redact import Entity, Redactor  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "pii_it.txt"
_MARK = re.compile(r"\[\[([A-Z_]+)\|(.+?)\]\]|\{\{(.+?)\}\}")
STRUCTURED = ("CF", "PIVA", "IBAN", "CARTA", "TELEFONO", "EMAIL", "POD", "PDR")


@dataclass
class Example:
    """One labelled sentence."""

    text: str
    split: str
    line: int
    gold: list[Entity] = field(default_factory=list)
    keep: list[tuple[int, int]] = field(default_factory=list)


def parse_line(raw: str, split: str, line: int) -> Example:
    """Strip the markup, remembering where each marked span lands in the plain text."""
    example = Example("", split, line)
    out, cursor = [], 0
    for m in _MARK.finditer(raw):
        out.append(raw[cursor : m.start()])
        start = sum(len(p) for p in out)
        surface = m.group(2) if m.group(1) else m.group(3)
        out.append(surface)
        if m.group(1):
            example.gold.append(Entity(m.group(1), start, start + len(surface)))
        else:
            example.keep.append((start, start + len(surface)))
        cursor = m.end()
    out.append(raw[cursor:])
    example.text = "".join(out)
    if "[[" in example.text or "{{" in example.text:
        raise ValueError(f"{DATA.name}:{line}: unbalanced markup in {raw!r}")
    return example


def load(path: Path = DATA) -> list[Example]:
    """All examples, with the split named by the last `## dev` / `## test` header above them."""
    examples, split = [], None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.startswith("## "):
            split = raw[3:].strip()
        elif raw.strip() and not raw.startswith("#"):
            if split is None:
                raise ValueError(f"{path.name}:{number}: sentence before any '## dev/test' header")
            examples.append(parse_line(raw, split, number))
    return examples


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _covered(gold: Entity, predicted: list[Entity]) -> float:
    chars = set(range(gold.start, gold.end))
    hit = {i for p in predicted for i in range(p.start, p.end)} & chars
    return len(hit) / max(1, len(chars))


def evaluate(examples: list[Example], redactor: Redactor) -> dict:
    """Count hits per type over the examples and turn them into rates."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    keep_total = keep_ok = 0
    misses, false_alarms = [], []
    started = time.perf_counter()
    for ex in examples:
        predicted = redactor.find(ex.text)
        for g in ex.gold:
            c = counts[g.type]
            c["gold"] += 1
            same_type = any(
                p.type == g.type and _overlaps((p.start, p.end), (g.start, g.end))
                for p in predicted
            )
            c["found"] += same_type
            removed = _covered(g, predicted) >= 0.9
            c["removed"] += removed
            if not removed:
                misses.append(f"{ex.line}: {g.type} {ex.text[g.start : g.end]!r}")
        for p in predicted:
            c = counts[p.type]
            c["predicted"] += 1
            correct = any(
                g.type == p.type and _overlaps((p.start, p.end), (g.start, g.end)) for g in ex.gold
            )
            c["correct"] += correct
            if not any(_overlaps((p.start, p.end), (g.start, g.end)) for g in ex.gold):
                false_alarms.append(f"{ex.line}: {p.type} {ex.text[p.start : p.end]!r}")
        for span in ex.keep:
            keep_total += 1
            keep_ok += not any(_overlaps(span, (p.start, p.end)) for p in predicted)
    elapsed = time.perf_counter() - started
    per_type = {
        kind: {
            "gold": c["gold"],
            "recall": _rate(c["found"], c["gold"]),
            "removed": _rate(c["removed"], c["gold"]),
            "precision": _rate(c["correct"], c["predicted"]),
        }
        for kind, c in sorted(counts.items())
    }
    return {
        "sentences": len(examples),
        "per_type": per_type,
        "structured_removed": _pooled(counts, STRUCTURED),
        "names_addresses_removed": _pooled(counts, ("NOME", "INDIRIZZO")),
        "kept": _rate(keep_ok, keep_total),
        "keep_spans": keep_total,
        "missed": misses,
        "false_alarms": false_alarms,
        "seconds_per_sentence": round(elapsed / max(1, len(examples)), 5),
    }


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def _pooled(counts: dict, kinds: tuple[str, ...]) -> float | None:
    gold = sum(counts[k]["gold"] for k in kinds if k in counts)
    return _rate(sum(counts[k]["removed"] for k in kinds if k in counts), gold)


def main() -> None:
    """Run the benchmark on the chosen split(s) and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["test", "dev", "all"], default="all")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pii.json")
    args = parser.parse_args()
    examples = load()
    settings = load_settings().redact  # configs/default.yaml, as the demo runs
    redactor = Redactor(settings.entities, allow_list=settings.allow_list)
    redactor.find("warm-up: load Presidio once, outside the timing")
    splits = ["dev", "test"] if args.split == "all" else [args.split]
    report = {
        "data": str(DATA.relative_to(ROOT)),
        "python": platform.python_version(),
        "splits": {s: evaluate([e for e in examples if e.split == s], redactor) for s in splits},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    for split, result in report["splits"].items():
        print(f"[{split}] {result['sentences']} sentences")
        for kind, m in result["per_type"].items():
            print(
                f"  {kind:13} n={m['gold']:3}  recall={m['recall']}  removed={m['removed']}  "
                f"precision={m['precision']}"
            )
        print(
            f"  structured removed={result['structured_removed']}  names+addresses removed="
            f"{result['names_addresses_removed']}  kept={result['kept']} of {result['keep_spans']}"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
