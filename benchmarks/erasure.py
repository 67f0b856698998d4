"""The cost of complete erasure on a store of 10,000 interviews.

    python benchmarks/erasure.py [--interviews 10000] [--out benchmarks/results/erasure.json]

Builds a synthetic store the size of a year of interviews (per interview: 8 segments, 4
customer and 4 interviewer turns, labels, a 512-dimension embedding per customer turn, as the
default embedder writes), then times `forget` of one case end to end: the deletions, the
scrub of quarantine notes and run summaries, and the compaction that rewrites the DuckDB file
so no deleted bytes remain in its free pages. It reports the compaction apart, the file size
before and after, and checks the case's identifiers are gone from every file.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.privacy.retention import forget_in
from pipeline.store import Store, now

ROOT = Path(__file__).resolve().parents[1]


def build(data_dir: Path, interviews: int, seed: int = 7) -> None:
    """A store with `interviews` recordings and everything the stages derive from them."""
    rng = np.random.default_rng(seed)
    ids = [f"{i:064x}" for i in range(interviews)]
    cases = [f"K26-{i:06d}" for i in range(interviews)]
    day = [date(2026, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 330, interviews)]
    frames = {
        "recordings": pd.DataFrame({
            "recording_id": ids, "file": [f"intervista_{i:06d}.ogg" for i in range(interviews)],
            "case_id": cases, "agency_id": [f"AG{i % 5 + 1:02d}" for i in range(interviews)],
            "interview_date": day, "manifest_row": range(2, interviews + 2), "first_seen": now(),
        }),
        "cases": pd.DataFrame({
            "case_id": cases, "customer_id": [f"C{i:06d}" for i in range(interviews)],
            "agency_id": [f"AG{i % 5 + 1:02d}" for i in range(interviews)],
            "amount_due_eur": rng.uniform(50, 900, interviews).round(2),
            "amount_recovered_eur": 0.0, "due_date": date(2025, 12, 1), "paid_date": None,
            "contract_ended_date": None, "annual_value_eur": 800.0, "nps": 7, "contact_date": None,
        }),
        "transcripts": pd.DataFrame({
            "recording_id": ids, "transcript_key": "t", "backend": "faster-whisper",
            "model": "bundled", "language": "it", "duration_s": 240.0, "channels": 1,
            "elapsed_s": 20.0, "n_segments": 8, "redacted_counts": "{}", "created_at": now(),
        }),
    }  # fmt: skip
    turns = pd.DataFrame({
        "recording_id": np.repeat(ids, 8), "transcript_key": "t",
        "utt_idx": np.tile(np.arange(8), interviews),
        "role": np.tile(["interviewer", "customer"] * 4, interviews),
        "start_s": np.tile(np.arange(8) * 30.0, interviews),
        "end_s": np.tile(np.arange(8) * 30.0 + 25, interviews),
        "text": [f"frase {k} della intervista {i} con parole sul recupero crediti e la bolletta"
                 for i in range(interviews) for k in range(8)],
        "low_confidence": False,
    })  # fmt: skip
    frames["utterances"] = turns
    customer = turns[turns["role"] == "customer"]
    frames["utterance_labels"] = pd.DataFrame({
        "recording_id": customer["recording_id"], "utt_idx": customer["utt_idx"],
        "classify_key": "c", "sentiment": "neutral", "p_positive": 0.2, "p_neutral": 0.6,
        "p_negative": 0.2, "themes": [[] for _ in range(len(customer))], "theme_scores": "{}",
        "threatened": False, "evidence": "{}",
    })  # fmt: skip
    frames["interview_labels"] = pd.DataFrame({
        "recording_id": ids, "classify_key": "c", "sentiment": "neutral",
        "themes": [[] for _ in ids], "threatened": False, "empathy_score": 50.0,
        "n_utterances": 4, "quotes": "{}",
    })  # fmt: skip
    vectors = rng.standard_normal((len(customer), 512)).astype(np.float32)
    frames["embeddings"] = pd.DataFrame({
        "recording_id": customer["recording_id"].to_numpy(), "utt_idx": customer["utt_idx"],
        "embed_key": "e", "vector": list(vectors),
    })  # fmt: skip
    with Store(data_dir) as store:
        for table, frame in frames.items():
            store._insert(table, frame.reset_index(drop=True))
        store.start_run("bench", "c")
        keys = {"transcript": "t", "classify": "c", "embed": "e"}
        store.finish_run("bench", "completed", {"keys": keys, "topics_key": "none"})


def _holding(folder: Path, needles: list[str]) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)
    ]


def main() -> None:
    """Build, forget one case, time it, write the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--interviews", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/erasure.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ascolto-erasure-") as tmp:
        data = Path(tmp) / "data"
        started = time.perf_counter()
        build(data, args.interviews)
        built_s = time.perf_counter() - started
        size_before = (data / "ascolto.duckdb").stat().st_size
        subject = ["K26-000042", "C000042", "intervista_000042.ogg", "della intervista 42 con"]
        assert _holding(data, subject) == ["ascolto.duckdb"]
        compact_s: list[float] = []
        original = Store.compact

        def timed_compact(self: Store) -> None:
            began = time.perf_counter()
            original(self)
            compact_s.append(time.perf_counter() - began)

        Store.compact = timed_compact  # type: ignore[method-assign]
        started = time.perf_counter()
        deletion = forget_in(data, case_id="K26-000042")
        forget_s = time.perf_counter() - started
        Store.compact = original  # type: ignore[method-assign]
        left = _holding(data, subject)
        result = {
            "interviews": args.interviews,
            "store_mb_before": round(size_before / 2**20, 1),
            "store_mb_after": round((data / "ascolto.duckdb").stat().st_size / 2**20, 1),
            "build_s": round(built_s, 2),
            "forget_s": round(forget_s, 2),
            "compaction_s": round(compact_s[0], 2),
            "rows_erased": deletion.total_rows,
            "files_still_holding_the_subject": left,
            "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
