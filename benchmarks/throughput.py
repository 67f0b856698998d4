"""End-to-end throughput: hours of audio per hour of wall time, local runner vs `--dask local:2`.

    python benchmarks/throughput.py [--limit N] [--no-dask] [--out benchmarks/results/throughput.json]

Each scenario is the real command (`ascolto demo [--limit N] ...`; the whole demo by default)
in its own process on a fresh data directory, timed from start to exit (imports, temporary
Prefect server, model loading, every stage, report and exports): a cold run on the local
runner, the same command again with nothing new (same data directory and Prefect home, as a
user's second run), and a cold run with `--dask local:2` (two worker processes, one thread
each). Prefect's own database is created before the scenarios (`prefect server database
upgrade`, timed apart as `prefect_database_creation_s`): a machine's first run does that once,
every later batch finds it there. The process tree is sampled every 0.2 s for peak resident
memory per process (the flow process, each Dask worker, the Prefect server). Stage timings come
from the run's `exports/run.json`.

`ratios.not_asr_over_asr` is what everything besides Whisper (process start, Prefect, model
loading, decoding, redaction, embedding, classification, topics, report, exports) costs per
second of Whisper, both measured in the cold run itself: the run times the seconds spent inside
its transcriber (`timings.asr_within_transcribe`; the model is loaded before, untimed).

Beside them, "ASR alone": the configured transcriber over the same recordings in a bare
process, model loaded first, timing only Whisper's own calls. `not_asr_over_asr_alone` is the
same ratio against it; Whisper's speed varies by a few percent from one process to the next on
a shared 2-core machine, so this one is the noisier. `--no-dask` skips the Dask run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import machine  # noqa: E402

ASCOLTO = [sys.executable, "-m", "ascolto.cli"]
ASR_IN_RUN = "asr_within_transcribe"  # seconds inside the transcriber, model loading apart


def _role(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return "gone"
    if "uvicorn" in command or "prefect.server" in command:
        return "prefect-server"
    if "multiprocessing" in command or "distributed" in command:
        return "dask-worker"
    if "ascolto" in command:
        return "flow"
    return "other"


def run_and_sample(args: list[str], env: dict[str, str]) -> dict:
    """Run one command; wall time, exit code and peak RSS (MiB) of each process in its tree."""
    started = time.perf_counter()
    main = psutil.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks: dict[int, tuple[str, float]] = {}
    while main.poll() is None:
        for process in [main, *main.children(recursive=True)]:
            try:
                rss = process.memory_info().rss / 2**20
            except psutil.Error:
                continue
            role = peaks.get(process.pid, (_role(process), 0.0))[0]
            peaks[process.pid] = (role, max(rss, peaks.get(process.pid, (role, 0.0))[1]))
        time.sleep(0.2)
    wall = time.perf_counter() - started
    out, err = main.communicate()
    if main.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err.decode()[-3000:]}")
    by_role: dict[str, list[float]] = {}
    for role, peak in peaks.values():
        by_role.setdefault(role, []).append(round(peak))
    return {"wall_s": round(wall, 1), "peak_rss_mib": by_role, "stdout": out.decode().strip()}


def audio_seconds(data_dir: Path) -> float:
    """Total duration of the recordings transcribed in a data directory."""
    import duckdb

    with duckdb.connect(str(data_dir / "ascolto.duckdb"), read_only=True) as con:
        row = con.execute("SELECT sum(duration_s) FROM transcripts").fetchone()
    return float(row[0] or 0.0)


def _limit_args(limit: int | None) -> list[str]:
    return [] if limit is None else ["--limit", str(limit)]


def _prefect_env(data_dir: Path) -> dict[str, str]:
    # One Prefect home per data directory, so the scenarios do not share a database.
    env = dict(os.environ, PREFECT_HOME=str(data_dir.parent / f"prefect-{data_dir.name}"))
    env.pop("PREFECT_API_URL", None)
    return env


def create_prefect_database(data_dir: Path) -> float:
    """Create the Prefect database a data directory's runs use; seconds it took.

    Once per machine (per PREFECT_HOME), the first flow run does this itself; the scenarios are
    timed as every later run is, with the database there.
    """
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
        env=_prefect_env(data_dir), check=True, capture_output=True,
    )  # fmt: skip
    return round(time.perf_counter() - started, 1)


def scenario(name: str, data_dir: Path, extra: list[str], limit: int | None) -> dict:
    """One `ascolto demo` run with its throughput and stage timings."""
    env = _prefect_env(data_dir)
    command = ["demo", *_limit_args(limit), "--data-dir", str(data_dir), *extra]
    result = run_and_sample([*ASCOLTO, *command], env)
    audio = audio_seconds(data_dir)
    run = json.loads((data_dir / "exports" / "run.json").read_text(encoding="utf-8"))
    return {
        "scenario": name,
        "command": " ".join(["ascolto demo", *_limit_args(limit), *extra]),
        "audio_s": round(audio, 1),
        "transcribed": run["transcribed"],
        "cached": run["cached"],
        "audio_hours_per_wall_hour": round(audio / result["wall_s"], 2),
        **{k: v for k, v in result.items() if k != "stdout"},
        "stage_timings_s": run["timings"],
    }


def asr_alone(limit: int | None) -> dict:
    """Seconds inside Whisper alone for the files `ascolto demo --limit` takes (model loaded first).

    Same recordings, same channels (stereo files per channel, as the product does), same
    configured transcriber: the denominator of "everything that is not ASR".
    """
    from pipeline.asr.audio import decode
    from pipeline.asr.transcribe import make_transcriber
    from pipeline.config import load_settings

    settings = load_settings()
    transcriber = make_transcriber(settings.asr)
    files = demo_files(limit)
    started = time.perf_counter()
    transcriber.load()
    load_s = time.perf_counter() - started
    transcriber.transcribe(decode(files[0]).mono()[:80_000], settings.language)  # a warm-up
    elapsed = 0.0
    for file in files:
        audio = decode(file)
        channels = list(audio.samples) if audio.channels == 2 else [audio.mono()]
        started = time.perf_counter()
        for samples in channels:
            transcriber.transcribe(samples, settings.language)
        elapsed += time.perf_counter() - started
    return {"files": len(files), "model_load_s": round(load_s, 2), "asr_s": round(elapsed, 1)}


def demo_files(limit: int | None) -> list[Path]:
    """The recordings `ascolto demo [--limit N]` processes (taken in turn from each agency)."""
    import csv

    from ascolto.run_commands import _across_agencies

    manifest = ROOT / "demo" / "manifest.csv"
    with tempfile.TemporaryDirectory() as tmp:
        picked = manifest if limit is None else _across_agencies(manifest, limit, Path(tmp) / "m")
        with picked.open(encoding="utf-8") as fh:
            return [ROOT / "demo" / "recordings" / row["file"] for row in csv.DictReader(fh)]


def _not_asr_breakdown(cold: dict, asr_s: float) -> dict[str, float]:
    """The cold run's time besides Whisper: outside the stages, in transcribe, in the rest."""
    stages = {k: v for k, v in cold["stage_timings_s"].items() if k != ASR_IN_RUN}
    return {
        "outside_stages": round(cold["wall_s"] - sum(stages.values()), 1),
        "transcribe_stage_besides_whisper": round(stages.get("transcribe", 0.0) - asr_s, 1),
        "other_stages": round(sum(v for k, v in stages.items() if k != "transcribe"), 1),
    }


def main() -> None:
    """Write the scenarios to JSON and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N demo recordings (default: all)")
    parser.add_argument("--no-dask", action="store_true", help="skip the --dask local:2 run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/throughput.json")
    parser.add_argument("--asr-alone", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.asr_alone:
        print(json.dumps(asr_alone(args.limit)))  # noqa: T201
        return
    with tempfile.TemporaryDirectory(prefix="ascolto-throughput-") as tmp:
        local, dask = Path(tmp) / "local", Path(tmp) / "dask"
        database_s = create_prefect_database(local)
        if not args.no_dask:
            create_prefect_database(dask)
        rows = [
            scenario("local, cold", local, [], args.limit),
            scenario("local, nothing new", local, [], args.limit),
        ]
        if not args.no_dask:
            rows.append(scenario("dask local:2, cold", dask, ["--dask", "local:2"], args.limit))
    alone = run_and_sample(
        [sys.executable, __file__, "--asr-alone", *_limit_args(args.limit)], dict(os.environ)
    )
    asr = json.loads(alone["stdout"].splitlines()[-1])
    cold = rows[0]["wall_s"]
    in_run = rows[0]["stage_timings_s"][ASR_IN_RUN]
    result = {
        "machine": machine.describe(
            memory_gib=round(psutil.virtual_memory().total / 2**30), gpu=False
        ),
        # once per machine, before a first run; not in the scenarios
        "prefect_database_creation_s": database_s,
        "scenarios": rows,
        "asr_alone": asr,
        "ratios": {
            # everything a cold run does besides Whisper's own work, over that work
            "not_asr_over_asr": round((cold - in_run) / in_run, 2),
            "not_asr_over_asr_alone": round((cold - asr["asr_s"]) / asr["asr_s"], 2),
            # where that goes, in seconds of the cold run
            "not_asr_s": _not_asr_breakdown(rows[0], in_run),
            "rerun_nothing_new_wall_over_cold": round(rows[1]["wall_s"] / cold, 2),
            **(
                {"dask_local2_wall_over_local": round(rows[2]["wall_s"] / cold, 2)}
                if len(rows) > 2
                else {}
            ),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
