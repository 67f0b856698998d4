"""Speed, accuracy and memory of the ASR backends on the same audio, weights and threads.

    python benchmarks/asr.py [--files 4] [--threads 2] [--out benchmarks/results/asr.json]
    (or `make bench-asr`)

Each configuration runs in its own process (so peak memory is its own): faster-whisper int8,
faster-whisper float32 and openai-whisper float32 on the checkpoint converted from the same
bundled Whisper base weights. Audio: the first N demo interviews, mixed to mono, plus 10 s of
silence and 10 s of white noise (which must yield no words). WER is against the demo's source
text (`demo/labels.jsonl`), both sides lower-cased, punctuation dropped, number words as digits.
Model loading (plus a 5 s warm-up) is timed apart from transcription; the real-time factor (RTF)
is transcription seconds divided by audio seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.privacy.spoken import normalise_numbers  # noqa: E402

DEMO = ROOT / "demo"
CONFIGS = {
    "faster-whisper-int8": {"backend": "faster-whisper", "compute_type": "int8"},
    "faster-whisper-float32": {"backend": "faster-whisper", "compute_type": "float32"},
    "openai-whisper-float32": {"backend": "openai-whisper", "compute_type": "float32"},
}


def words(text: str) -> list[str]:
    """Normalised words for WER: lower case, number words as digits, no punctuation."""
    text = normalise_numbers(text.lower()).text
    return re.findall(r"[\wàèéìòù]+", text.replace("'", " "))


def word_error_rate(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Corpus WER (jiwer): word edits over all files divided by all reference words, 4 decimals."""
    import jiwer

    return round(jiwer.wer([" ".join(r) for r in references], [" ".join(h) for h in hypotheses]), 4)


def _references(n: int) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (DEMO / "labels.jsonl").read_text().splitlines()]
    rows.sort(key=lambda r: r["file"])
    return [(r["file"], " ".join(t["text"] for t in r["turns"])) for r in rows[:n]]


def worker(name: str, files: list[str], threads: int) -> dict:
    """Run one configuration in this process and return timings, texts and peak memory."""
    from pipeline.asr.audio import SAMPLE_RATE, decode
    from pipeline.asr.transcribe import make_transcriber
    from pipeline.config import AsrConfig

    config = AsrConfig(device="cpu", cpu_threads=threads, **CONFIGS[name])
    transcriber = make_transcriber(config)
    rng = np.random.default_rng(0)
    probes = {
        "silence": np.zeros(10 * SAMPLE_RATE, dtype=np.float32),
        "white_noise": (0.1 * rng.standard_normal(10 * SAMPLE_RATE)).astype(np.float32),
    }
    warm_up = decode(DEMO / "recordings" / files[0]).mono()[: 5 * SAMPLE_RATE]
    started = time.perf_counter()
    transcriber.transcribe(warm_up, "it")  # loads the model (silence alone would skip it: VAD)
    load_s = time.perf_counter() - started
    texts, audio_s, elapsed = {}, 0.0, 0.0
    for file in files:
        samples = decode(DEMO / "recordings" / file).mono()
        audio_s += len(samples) / SAMPLE_RATE
        started = time.perf_counter()
        segments = transcriber.transcribe(samples, "it")
        elapsed += time.perf_counter() - started
        texts[file] = " ".join(s.text for s in segments)
    probe_words = {
        probe: sum(len(s.text.split()) for s in transcriber.transcribe(samples, "it"))
        for probe, samples in probes.items()
    }
    return {
        "model": transcriber.model_id,
        "load_s": round(load_s, 2),
        "audio_s": round(audio_s, 2),
        "transcribe_s": round(elapsed, 2),
        "rtf": round(elapsed / audio_s, 4),
        "texts": texts,
        "words_on": probe_words,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    """Run every configuration side by side and write the comparison as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4, help="how many demo interviews")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "asr.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    references = _references(args.files)
    files = [f for f, _ in references]
    if args.worker:
        print(json.dumps(worker(args.worker, files, args.threads)))
        return
    results = {}
    for name in args.configs.split(","):
        print(f"running {name} on {len(files)} files...", file=sys.stderr)
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", name, "--files", str(args.files),
             "--threads", str(args.threads)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            results[name] = {"error": proc.stderr.strip().splitlines()[-1:]}
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["wer"] = word_error_rate(
            [words(text) for _, text in references], [words(result["texts"][f]) for f in files]
        )
        results[name] = result
    summary = _ratios(results)
    report = {
        "files": files,
        "threads": args.threads,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        },
        "summary": summary,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:24} failed: {r['error']}")
            continue
        print(
            f"{name:24} RTF {r['rtf']:.3f}  WER {r['wer']:.3f}  load {r['load_s']:5.1f} s  "
            f"peak {r['peak_rss_mb']} MB  words on silence/noise {r['words_on']}"
        )
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")


def _ratios(results: dict) -> dict:
    ok = {k: v for k, v in results.items() if "error" not in v}
    summary: dict = {}
    base = ok.get("faster-whisper-int8")
    if base and "openai-whisper-float32" in ok:
        summary["openai_fp32_over_fw_int8_time"] = round(
            ok["openai-whisper-float32"]["transcribe_s"] / base["transcribe_s"], 2
        )
    if base and "faster-whisper-float32" in ok:
        summary["fw_float32_over_fw_int8_time"] = round(
            ok["faster-whisper-float32"]["transcribe_s"] / base["transcribe_s"], 2
        )
        summary["wer_points_int8_minus_float32"] = round(
            100 * (base["wer"] - ok["faster-whisper-float32"]["wer"]), 2
        )
    summary["words_on_silence_or_noise"] = {k: sum(v["words_on"].values()) for k, v in ok.items()}
    return summary


if __name__ == "__main__":
    main()
