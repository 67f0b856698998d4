"""ASR side by side: ascolto's path against plain Whisper, on 16 kHz audio and a telephone copy.

    python benchmarks/asr.py [--files 8] [--skip 4] [--threads 2] [--configs a,b]
                             [--out benchmarks/results/asr.json]      (or `make bench-asr`)

Audio: demo interviews `--skip`+1 .. `--skip`+`--files`, mixed to mono. The demo voices are
SYNTHETIC (festival diphone voices, see scripts/make_demo.py), so every figure here is on
synthetic speech; real calls will differ. The first `--skip` files (default 4) were the ones
looked at while choosing the VAD settings, so they are left out of the figures by default.

Two sets from the same interviews:
- `16k`: the demo file as shipped (48 kHz Opus), decoded to 16 kHz;
- `8k-telephone`: band-passed to 300-3400 Hz (4th-order Butterworth), resampled to 8 kHz and
  stored as G.711 mu-law WAV, what a phone line delivers. Both paths decode that file themselves;
  for a mono file ascolto's decoder gives the same 16-bit samples as faster-whisper's own.

Configurations, each in its own process (so its peak memory is its own), same bundled Whisper
base weights, beam 5, language it, `--threads` CPU threads:
- `ascolto`: the product path (`pipeline.asr`, the defaults of configs/default.yaml);
- `ascolto-before`: the settings ascolto had before issue 20 (Silero threshold 0.5, 400 ms
  padding, never conditioned on the previous text);
- `ascolto-prompt`: the product path with a collection-vocabulary `initial_prompt`;
- `plain-fw`: faster-whisper's own `transcribe(path, language, beam_size=5)`, nothing else;
- `plain-fw-vad`: the same with `vad_filter=True` (its default Silero settings);
- `plain-openai`: openai-whisper's `transcribe` in float32 on the checkpoint converted from the
  same weights.

Not run by default (name them in `--configs`):
- `ascolto-no-vad`, `ascolto-silero-0.1`, `ascolto-conditioned` and `ascolto-unconditioned`
  (one setting changed each), used to choose the defaults;
- `ascolto-fw-float32`: the product path, float32 instead of int8;
- `ascolto-batched`: the product path through faster-whisper's batched pipeline, 4 windows at a
  time (`asr.batch_size: 4`; windows are then never conditioned on the previous text);
- telephone pre-filters tried on the product path, not in the product (none helped):
  `ascolto-level` (each file scaled to -20 dBFS RMS, gain at most +20 dB, peaks under 0.99) and
  `ascolto-preemphasis` (first-order pre-emphasis, 0.97);
- `plain-fw-no-fallback`: plain faster-whisper at temperature 0 only, no fallback;
- the noise floor, plain faster-whisper on inputs a listener cannot tell apart:
  `plain-fw-our-decode` (the samples of ascolto's decoder instead of faster-whisper's own) and
  `plain-fw-dither-1`..`-3` (its own decoding plus noise of one 16-bit step, three seeds). The
  summary's `plain_fw_variant_minus_plain_fw_by_file` scores each against plain faster-whisper
  as `ascolto_minus_plain_fw_by_file` scores the product path.

WER is corpus WER (jiwer) against the demo's source text, both sides lower-cased, punctuation
dropped, number words as digits. Beside the product path's WER minus plain faster-whisper's
goes a 95% interval from a paired bootstrap over whole files (`ascolto_minus_plain_fw_by_file`).
RTF is transcription seconds over audio seconds (model loading and a 5 s warm-up apart).
Probes (10 s each: silence, white noise, telephone-band noise, 50 Hz hum) must give zero words.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import machine  # noqa: E402
from pipeline.privacy.spoken import normalise_numbers  # noqa: E402

DEMO = ROOT / "demo"
SETS = ("16k", "8k-telephone")
DOMAIN_PROMPT = (
    "Intervista telefonica di Energia Chiara sul recupero crediti: bolletta, sollecito, "
    "rateizzazione, rata, scadenza, diffida, pignoramento."
)
CONFIGS: dict[str, dict] = {
    "ascolto": {"path": "ascolto"},
    "ascolto-before": {
        "path": "ascolto",
        "vad_threshold": 0.5,
        "vad_speech_pad_ms": 400,
        "condition_on_previous_text": False,
    },  # fmt: skip
    "ascolto-prompt": {"path": "ascolto", "initial_prompt": DOMAIN_PROMPT},
    "ascolto-no-vad": {"path": "ascolto", "vad_filter": False},
    "ascolto-conditioned": {"path": "ascolto", "condition_on_previous_text": True},
    "ascolto-unconditioned": {"path": "ascolto", "condition_on_previous_text": False},
    "ascolto-silero-0.1": {"path": "ascolto", "vad_threshold": 0.1},
    "plain-fw": {"path": "plain-fw"},
    "plain-fw-vad": {"path": "plain-fw", "vad_filter": True},
    "ascolto-fw-float32": {"path": "ascolto", "compute_type": "float32"},
    "ascolto-batched": {"path": "ascolto", "batch_size": 4},
    "ascolto-level": {"path": "ascolto", "prefilter": "level"},
    "ascolto-preemphasis": {"path": "ascolto", "prefilter": "preemphasis"},
    "plain-fw-no-fallback": {"path": "plain-fw", "temperature": 0.0},
    "plain-fw-our-decode": {"path": "plain-fw", "input": "ascolto-decode"},
    **{f"plain-fw-dither-{k}": {"path": "plain-fw", "input": f"dither-{k}"} for k in (1, 2, 3)},
    "plain-openai": {"path": "plain-openai"},
}
DEFAULT_CONFIGS = "ascolto,ascolto-before,ascolto-prompt,plain-fw,plain-fw-vad,plain-openai"


def words(text: str) -> list[str]:
    """Normalised words for WER: lower case, number words as digits, no punctuation."""
    text = normalise_numbers(text.lower()).text
    return re.findall(r"[\wàèéìòù]+", text.replace("'", " "))


def word_error_rate(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Corpus WER (jiwer): word edits over all files divided by all reference words, 4 decimals."""
    import jiwer

    return round(jiwer.wer([" ".join(r) for r in references], [" ".join(h) for h in hypotheses]), 4)


def file_edits(reference: list[str], hypothesis: list[str]) -> int:
    """Word edits (substitutions, deletions, insertions) turning `reference` into `hypothesis`."""
    import jiwer

    if not hypothesis:
        return len(reference)
    out = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
    return out.substitutions + out.deletions + out.insertions


def paired_difference(
    references: list[list[str]],
    first: list[list[str]],
    second: list[list[str]],
    draws: int = 5000,
    seed: int = 0,
) -> dict:
    """WER points of `first` minus `second`, with a 95% interval from resampling whole files.

    Both systems are scored on the same resampled files (a paired bootstrap), so the interval
    shows whether a difference of a point or two on a handful of files is more than chance.
    """
    lengths = np.array([len(r) for r in references], dtype=float)
    a = np.array([file_edits(r, h) for r, h in zip(references, first, strict=True)], dtype=float)
    b = np.array([file_edits(r, h) for r, h in zip(references, second, strict=True)], dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(references), (draws, len(references)))
    points = 100 * (a[picks].sum(1) - b[picks].sum(1)) / lengths[picks].sum(1)
    low, high = np.percentile(points, [2.5, 97.5])
    return {
        "points": round(float(100 * (a.sum() - b.sum()) / lengths.sum()), 2),
        "interval_95": [round(float(low), 2), round(float(high), 2)],
        "files_worse": int((a > b).sum()),
        "files_better": int((a < b).sum()),
        "files_same": int((a == b).sum()),
    }


def opening_recall(turns: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Share of turns whose first two words are heard right (aligned as WER aligns them).

    The telephone failure this targets: VAD cutting the onset of speech, so "Buongiorno, sono
    Marco" comes out as "con giorno, un arco" or loses its first words entirely.
    """
    import jiwer

    heard = total = 0
    for file_turns, hypothesis in zip(turns, hypotheses, strict=True):
        reference = [w for turn in file_turns for w in turn]
        starts, at = [], 0
        for turn in file_turns:
            starts.extend(range(at, at + min(2, len(turn))))
            at += len(turn)
        chunks = jiwer.process_words(" ".join(reference), " ".join(hypothesis) or "-").alignments
        right = {
            i for c in chunks[0] if c.type == "equal" for i in range(c.ref_start_idx, c.ref_end_idx)
        }
        heard += len(right & set(starts))
        total += len(starts)
    return round(heard / total, 4)


def _labels(skip: int, n: int) -> list[dict]:
    rows = [json.loads(line) for line in (DEMO / "labels.jsonl").read_text().splitlines()]
    rows.sort(key=lambda r: r["file"])
    return rows[skip : skip + n]


def _references(skip: int, n: int) -> list[tuple[str, str]]:
    return [(r["file"], " ".join(t["text"] for t in r["turns"])) for r in _labels(skip, n)]


def _write_wav(path: Path, samples: np.ndarray, rate: int, codec: str = "pcm_s16le") -> None:
    import av

    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :]
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)


def telephone_copy(source: Path, target: Path) -> None:
    """300-3400 Hz band, 8 kHz, G.711 mu-law: the audio a phone line delivers."""
    from scipy.signal import butter, resample_poly, sosfilt

    from pipeline.asr.audio import SAMPLE_RATE, decode

    band = butter(4, [300, 3400], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    narrow = resample_poly(sosfilt(band, decode(source).mono()), 1, 2)
    _write_wav(target, narrow, 8000, codec="pcm_mulaw")


def _probes(folder: Path) -> dict[str, Path]:
    from scipy.signal import butter, sosfilt

    rate, n = 16_000, 160_000
    rng = np.random.default_rng(0)
    band = butter(4, [300, 3400], btype="bandpass", fs=rate, output="sos")
    signals = {
        "silence": np.zeros(n),
        "white_noise": 0.1 * rng.standard_normal(n),
        "telephone_noise": sosfilt(band, 0.1 * rng.standard_normal(n)),
        "hum_50hz": 0.05 * np.sin(2 * np.pi * 50 * np.arange(n) / rate)
        + 0.01 * rng.standard_normal(n),
    }
    paths = {}
    for name, signal in signals.items():
        paths[name] = folder / f"probe_{name}.wav"
        _write_wav(paths[name], signal.astype(np.float32), rate)
    return paths


def prepare(files: list[str], folder: Path) -> dict[str, dict[str, Path]]:
    """The audio of each set, file by file, and the probes."""
    sets: dict[str, dict[str, Path]] = {"16k": {}, "8k-telephone": {}}
    for file in files:
        sets["16k"][file] = DEMO / "recordings" / file
        sets["8k-telephone"][file] = folder / f"{Path(file).stem}_8k.wav"
        telephone_copy(sets["16k"][file], sets["8k-telephone"][file])
    sets["probes"] = _probes(folder)
    return sets


def _level(samples: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    if rms == 0:
        return samples
    gain = min(10 ** (-20 / 20) / rms, 10.0)
    peak = float(np.abs(samples).max()) * gain
    if peak > 0.99:
        gain *= 0.99 / peak
    return (samples * gain).astype(np.float32)


def _preemphasis(samples: np.ndarray) -> np.ndarray:
    return np.append(samples[:1], samples[1:] - 0.97 * samples[:-1]).astype(np.float32)


PREFILTERS = {"none": lambda samples: samples, "level": _level, "preemphasis": _preemphasis}


def _transcribe_fn(name: str, threads: int):  # noqa: ANN202
    """(model id, function from an audio path to its text) for one configuration."""
    options = dict(CONFIGS[name])
    path = options.pop("path")
    if path == "ascolto":
        from pipeline.asr.audio import decode
        from pipeline.asr.transcribe import make_transcriber
        from pipeline.config import AsrConfig

        prefilter = PREFILTERS[options.pop("prefilter", "none")]
        transcriber = make_transcriber(AsrConfig(device="cpu", cpu_threads=threads, **options))

        def ascolto(audio: Path) -> str:
            samples = prefilter(decode(audio).mono())
            return " ".join(s.text for s in transcriber.transcribe(samples, "it"))

        return transcriber.model_id, ascolto
    if path == "plain-fw":
        from faster_whisper import WhisperModel

        from pipeline.asr.transcribe import bundled_model_dir

        model = WhisperModel(
            str(bundled_model_dir()), device="cpu", compute_type="int8", cpu_threads=threads
        )

        source = _plain_input(options.pop("input", "path"))

        def plain_fw(audio: Path) -> str:
            segments, _ = model.transcribe(source(audio), language="it", beam_size=5, **options)
            return " ".join(s.text.strip() for s in segments)

        return "bundled:whisper-base (int8)", plain_fw
    import torch
    import whisper

    from pipeline.asr.transcribe import cache_dir, resolve_openai_model

    torch.set_num_threads(threads)
    checkpoint = resolve_openai_model("bundled:whisper-base")
    reference = whisper.load_model(checkpoint, device="cpu", download_root=str(cache_dir()))

    def plain_openai(audio: Path) -> str:
        samples = _decode_16k(audio)
        result = reference.transcribe(samples, language="it", beam_size=5, fp16=False)
        return " ".join(str(s["text"]).strip() for s in result["segments"])

    return "bundled:whisper-base converted (float32)", plain_openai


def _plain_input(kind: str):  # noqa: ANN202
    """What plain faster-whisper is given: the path (its own decoder) or samples made here.

    `ascolto-decode` is the product's decoder (it resampled to float until it was found to be
    the whole 8 kHz gap; for a mono file it now equals faster-whisper's own). `dither-K` is
    faster-whisper's own decoding plus Gaussian noise of one 16-bit step (about -90 dBFS,
    inaudible), seed K: how far Whisper's words move when nothing a listener could hear has
    changed, the noise floor for reading the rows' differences.
    """
    if kind == "path":
        return str
    if kind == "ascolto-decode":
        from pipeline.asr.audio import decode

        return lambda audio: decode(audio).mono()
    seed = int(kind.removeprefix("dither-"))

    def dithered(audio: Path) -> np.ndarray:
        samples = _decode_16k(audio)
        noise = np.random.default_rng(seed).normal(0.0, 1 / 32768, len(samples))
        return (samples + noise).astype(np.float32)

    return dithered


def _decode_16k(audio: Path) -> np.ndarray:
    # openai-whisper's own loader shells out to ffmpeg, which this machine may lack
    from faster_whisper import decode_audio

    return decode_audio(str(audio), sampling_rate=16_000)


def worker(name: str, sets: dict[str, dict[str, str]], threads: int) -> dict:
    """Run one configuration over every set in this process: timings, texts, peak memory."""
    started = time.perf_counter()
    model_id, transcribe = _transcribe_fn(name, threads)
    first = next(iter(sets["16k"].values()))
    from pipeline.asr.audio import decode

    warm_up = Path(tempfile.mkdtemp()) / "warm_up.wav"
    _write_wav(warm_up, decode(Path(first)).mono()[: 5 * 16_000], 16_000)
    transcribe(warm_up)  # loads the model (silence alone would skip it: VAD)
    result: dict = {"model": model_id, "load_s": round(time.perf_counter() - started, 2)}
    for set_name in SETS:
        texts, audio_s, elapsed = {}, 0.0, 0.0
        for file, audio in sets[set_name].items():
            audio_s += len(decode(Path(audio)).mono()) / 16_000
            started = time.perf_counter()
            texts[file] = transcribe(Path(audio))
            elapsed += time.perf_counter() - started
        result[set_name] = {
            "audio_s": round(audio_s, 2),
            "transcribe_s": round(elapsed, 2),
            "rtf": round(elapsed / audio_s, 4),
            "texts": texts,
        }
    result["words_on_probes"] = {
        probe: len(transcribe(Path(path)).split()) for probe, path in sets["probes"].items()
    }
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def _run_worker(name: str, sets_file: Path, threads: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--sets", str(sets_file),
         "--threads", str(threads)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _compute_types() -> list[str]:
    """What CTranslate2 can run on this CPU (int8 speed depends on it)."""
    import ctranslate2

    return sorted(ctranslate2.get_supported_compute_types("cpu"))


def main() -> None:
    """Run every configuration side by side and write the comparison as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8, help="how many demo interviews")
    parser.add_argument("--skip", type=int, default=4, help="leave out the first N (tuned on)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"of {', '.join(CONFIGS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "asr.json")
    parser.add_argument("--rescore", action="store_true", help="recompute scores from --out")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--sets", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sets = json.loads(args.sets.read_text())
        print(json.dumps(worker(args.worker, sets, args.threads)))
        return
    references = _references(args.skip, args.files)
    files = [f for f, _ in references]
    turns = [[words(t["text"]) for t in r["turns"]] for r in _labels(args.skip, args.files)]
    if args.rescore:
        rescore(args.out, references, turns)
        return
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        sets = prepare(files, Path(folder))
        sets_file = Path(folder) / "sets.json"
        sets_file.write_text(
            json.dumps({k: {f: str(p) for f, p in v.items()} for k, v in sets.items()})
        )
        for name in args.configs.split(","):
            print(f"running {name} on {len(files)} files x {len(SETS)} sets...", file=sys.stderr)
            results[name] = _run_worker(name, sets_file, args.threads)
            for set_name in SETS:
                if set_name in results[name]:
                    got = results[name][set_name]
                    hypotheses = [words(got["texts"][f]) for f in files]
                    got["wer"] = word_error_rate([words(t) for _, t in references], hypotheses)
                    got["opening_recall"] = opening_recall(turns, hypotheses)
    report = {
        "audio": "SYNTHETIC demo voices (festival diphones); 8k-telephone is a band-passed "
        "mu-law 8 kHz copy of the same files",
        "files": files,
        "left_out_tuned_on": args.skip,
        "threads": args.threads,
        "machine": machine.describe(ctranslate2_cpu_compute_types=_compute_types()),
        "summary": summary(results, references),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(report["summary"], indent=2))
    print(f"wrote {args.out}")


def rescore(out: Path, references: list[tuple[str, str]], turns: list[list[list[str]]]) -> None:
    """Recompute WER, opening recall and the summary from the texts already in `out`."""
    report = json.loads(out.read_text(encoding="utf-8"))
    files = [f for f, _ in references]
    if report["files"] != files:
        raise SystemExit(
            f"{out} holds other files ({report['files'][0]}...): pass its --skip/--files"
        )
    for result in report["results"].values():
        for set_name in SETS:
            if set_name in result:
                hypotheses = [words(result[set_name]["texts"][f]) for f in files]
                result[set_name]["wer"] = word_error_rate(
                    [words(t) for _, t in references], hypotheses
                )
                result[set_name]["opening_recall"] = opening_recall(turns, hypotheses)
    report["summary"] = summary(report["results"], references)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(report["summary"], indent=2))


def summary(results: dict, references: list[tuple[str, str]]) -> dict:
    """WER and RTF per configuration and set, the ratios the issue asks for, paired intervals.

    The interval is on the product path's WER minus plain faster-whisper's, files resampled.
    """
    ok = {k: v for k, v in results.items() if "error" not in v}
    table = {
        name: {
            **{f"wer_{s}": r[s]["wer"] for s in SETS},
            **{f"opening_recall_{s}": r[s].get("opening_recall") for s in SETS},
            **{f"rtf_{s}": r[s]["rtf"] for s in SETS},
            "peak_rss_mb": r["peak_rss_mb"],
            "words_on_probes": sum(r["words_on_probes"].values()),
        }
        for name, r in ok.items()
    }
    out: dict = {"by_config": table}
    for fast in ("ascolto", "plain-fw"):
        if fast in ok and "plain-openai" in ok:
            out[f"plain_openai_time_over_{fast.replace('-', '_')}"] = {
                s: round(ok["plain-openai"][s]["transcribe_s"] / ok[fast][s]["transcribe_s"], 2)
                for s in SETS
            }
    if "ascolto" in ok and "plain-fw" in ok:
        out["wer_points_ascolto_minus_plain_fw"] = {
            s: round(100 * (ok["ascolto"][s]["wer"] - ok["plain-fw"][s]["wer"]), 2) for s in SETS
        }
        out["ascolto_minus_plain_fw_by_file"] = _by_file(ok, "ascolto", references)
    variants = [n for n in ok if n.startswith(("plain-fw-our-decode", "plain-fw-dither"))]
    if variants and "plain-fw" in ok:
        out["plain_fw_variant_minus_plain_fw_by_file"] = {
            name: _by_file(ok, name, references) for name in variants
        }
    return out


def _by_file(ok: dict, name: str, references: list[tuple[str, str]]) -> dict:
    """`paired_difference` of configuration `name` against plain faster-whisper, per set."""
    return {
        s: paired_difference(
            [words(text) for _, text in references],
            [words(ok[name][s]["texts"][f]) for f, _ in references],
            [words(ok["plain-fw"][s]["texts"][f]) for f, _ in references],
        )
        for s in SETS
    }


if __name__ == "__main__":
    main()
