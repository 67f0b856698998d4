"""Per-type precision and recall of the redactor on the labelled Italian PII sets.

    python benchmarks/pii.py [--set all|pii_it|pii_whisper_it] [--split test|dev|all]
                             [--out benchmarks/results/pii.json]

Two sets, both marking personal data as `[[TYPE|text]]` and numbers that must survive as
`{{text}}`:
- `benchmarks/data/pii_it.txt`: well-formed ASR-style sentences, split by `## dev` / `## test`
  headers in the file;
- `benchmarks/data/pii_whisper_it.txt`: sentences written the way Whisper transcribes a phone
  interview (lower case, spoken numbers, spelled and chunked identifiers; issue 19). It has no
  headers: `whisper_split` puts a line in `test` when the SHA-256 of "19:" + its text, read as a
  number, is 0 to 3 modulo 10 (about 40%), else in `dev`. The rule depends only on the line, so
  adding lines never moves old ones. Tune on dev; test is reported, its errors are not read.
Figures:
- recall / precision per type: a gold span counts as found when a predicted span of the same
  type overlaps it; a predicted span is correct when it overlaps a gold span of its type (a
  `NUMERO`, the untyped fail safe, when it overlaps any gold span);
- removed: share of gold spans whose characters are at least 90% covered by predicted spans of
  any type (what matters for privacy: a PDR redacted as [CARTA] has still left the text);
- kept: share of `{{...}}` spans (amounts, dates, counts, agency names) that no prediction
  touches (over-redaction destroys the analytics);
- names_addresses_dob_removed: the same pooled over NOME, INDIRIZZO and DATA_NASCITA;
- speed: utterances redacted per second (`Redactor.redact`, one process), over the sentences of
  both sets repeated to 2,000 utterances, and the seconds 10,000 would take.
"""

from __future__ import annotations

import argparse
import hashlib
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
from pipeline.privacy.redact import SUPPORTED_ENTITIES, Entity, Redactor  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "pii_it.txt"
WHISPER = ROOT / "benchmarks" / "data" / "pii_whisper_it.txt"
SETS = {"pii_it": DATA, "pii_whisper_it": WHISPER}
_MARK = re.compile(r"\[\[([A-Z_]+)\|(.+?)\]\]|\{\{(.+?)\}\}")
STRUCTURED = (
    "CF", "PIVA", "IBAN", "CARTA", "TELEFONO", "EMAIL", "POD", "PDR",
    "CODICE_CLIENTE", "DOCUMENTO", "TARGA", "PRATICA", "NUMERO",
)  # fmt: skip


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


def whisper_split(raw: str) -> str:
    """The fixed split of `pii_whisper_it.txt`: hash of "19:" + the line, 40% test."""
    digest = int(hashlib.sha256(f"19:{raw.strip()}".encode()).hexdigest(), 16)
    return "test" if digest % 10 < 4 else "dev"


def load(path: Path = DATA) -> list[Example]:
    """All examples, with the split named by the last `## dev` / `## test` header above them.

    A file without headers (the Whisper-style set) is split by `whisper_split`.
    """
    examples: list[Example] = []
    split = None
    lines = path.read_text(encoding="utf-8").splitlines()
    headed = any(raw.startswith("## ") for raw in lines)
    for number, raw in enumerate(lines, start=1):
        if raw.startswith("## "):
            split = raw[3:].strip()
        elif raw.strip() and not raw.startswith("#"):
            if not headed:
                split = whisper_split(raw)
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
    misses, false_alarms, lost = [], [], []
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
                (g.type == p.type or p.type == "NUMERO")  # NUMERO: any identifier, untyped
                and _overlaps((p.start, p.end), (g.start, g.end))
                for g in ex.gold
            )
            c["correct"] += correct
            if not any(_overlaps((p.start, p.end), (g.start, g.end)) for g in ex.gold):
                false_alarms.append(f"{ex.line}: {p.type} {ex.text[p.start : p.end]!r}")
        for span in ex.keep:
            keep_total += 1
            kept = not any(_overlaps(span, (p.start, p.end)) for p in predicted)
            keep_ok += kept
            if not kept:
                lost.append(f"{ex.line}: {ex.text[span[0] : span[1]]!r}")
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
        "names_addresses_dob_removed": _pooled(counts, ("NOME", "INDIRIZZO", "DATA_NASCITA")),
        "precision": _rate(
            sum(c["correct"] for c in counts.values()), sum(c["predicted"] for c in counts.values())
        ),
        "kept": _rate(keep_ok, keep_total),
        "keep_spans": keep_total,
        "missed": misses,
        "false_alarms": false_alarms,
        "lost": lost,
        "seconds_per_sentence": round(elapsed / max(1, len(examples)), 5),
    }


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def _pooled(counts: dict, kinds: tuple[str, ...]) -> float | None:
    gold = sum(counts[k]["gold"] for k in kinds if k in counts)
    return _rate(sum(counts[k]["removed"] for k in kinds if k in counts), gold)


def speed(texts: list[str], redactor: Redactor, utterances: int = 2000) -> dict:
    """Utterances redacted per second, and the seconds 10,000 utterances would take."""
    batch = (texts * (utterances // max(1, len(texts)) + 1))[:utterances]
    started = time.perf_counter()
    for text in batch:
        redactor.redact(text)
    elapsed = time.perf_counter() - started
    rate = len(batch) / elapsed
    return {
        "utterances": len(batch),
        "utterances_per_second": round(rate, 1),
        "seconds_for_10000": round(10_000 / rate, 1),
    }


def main() -> None:
    """Run the benchmark on the chosen set(s) and split(s) and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["all", *SETS], default="all")
    parser.add_argument("--split", choices=["test", "dev", "all"], default="all")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pii.json")
    parser.add_argument("--misses", action="store_true", help="print dev misses and false alarms")
    args = parser.parse_args()
    settings = load_settings().redact  # configs/default.yaml, as the demo runs
    # Every supported type runs, also those (issue 19) a config written earlier does not list yet.
    entities = [*settings.entities, *(e for e in SUPPORTED_ENTITIES if e not in settings.entities)]
    redactor = Redactor(entities, allow_list=settings.allow_list)
    redactor.find("warm-up: load Presidio once, outside the timing")
    splits = ["dev", "test"] if args.split == "all" else [args.split]
    chosen = list(SETS) if args.set == "all" else [args.set]
    report: dict = {"python": platform.python_version(), "entities": entities, "sets": {}}
    texts: list[str] = []
    for name in chosen:
        examples = load(SETS[name])
        texts.extend(e.text for e in examples)
        report["sets"][name] = {
            "data": str(SETS[name].relative_to(ROOT)),
            "splits": {
                s: evaluate([e for e in examples if e.split == s], redactor) for s in splits
            },
        }
    report["speed"] = speed(texts, redactor)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    for name, result_set in report["sets"].items():
        for split, result in result_set["splits"].items():
            print(f"[{name} {split}] {result['sentences']} sentences")
            for kind, m in result["per_type"].items():
                print(
                    f"  {kind:14} n={m['gold']:3}  recall={m['recall']}  removed={m['removed']}  "
                    f"precision={m['precision']}"
                )
            print(
                f"  structured removed={result['structured_removed']}  names+addresses+dob "
                f"removed={result['names_addresses_dob_removed']}  precision={result['precision']}  "
                f"kept={result['kept']} of "
                f"{result['keep_spans']}"
            )
            if args.misses and split == "dev":
                for line in result["missed"]:
                    print("    MISS", line)
                for line in result["false_alarms"]:
                    print("    FALSE", line)
                for line in result["lost"]:
                    print("    LOST", line)
    sp = report["speed"]
    print(
        f"speed: {sp['utterances_per_second']} utterances/s "
        f"({sp['seconds_for_10000']} s for 10,000, one process)"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
