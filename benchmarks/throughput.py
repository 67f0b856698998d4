"""End-to-end throughput: hours of audio per hour of wall time, local runner vs `--dask local:2`.

    python benchmarks/throughput.py [--limit 12] [--out benchmarks/results/throughput.json]

Each scenario is the real command (`ascolto demo --limit N ...`) in its own process on a fresh
data directory, timed from start to exit (imports, temporary Prefect server, model loading,
every stage, report and exports): a cold run on the local runner, the same command again with
nothing new, and a cold run with `--dask local:2` (two worker processes, one thread each). The
process tree is sampled every 0.2 s for peak resident memory per process (the flow process,
each Dask worker, the Prefect server). Stage timings come from the run's `exports/run.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
ASCOLTO = [sys.executable, "-m", "ascolto.cli"]


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


def scenario(name: str, data_dir: Path, extra: list[str], limit: int) -> dict:
    """One `ascolto demo` run with its throughput and stage timings."""
    env = dict(os.environ, PREFECT_HOME=str(data_dir.parent / f"prefect-{name}"))
    env.pop("PREFECT_API_URL", None)
    result = run_and_sample(
        [*ASCOLTO, "demo", "--limit", str(limit), "--data-dir", str(data_dir), *extra], env
    )
    audio = audio_seconds(data_dir)
    run = json.loads((data_dir / "exports" / "run.json").read_text(encoding="utf-8"))
    return {
        "scenario": name,
        "command": f"ascolto demo --limit {limit} {' '.join(extra)}".strip(),
        "audio_s": round(audio, 1),
        "transcribed": run["transcribed"],
        "cached": run["cached"],
        "audio_hours_per_wall_hour": round(audio / result["wall_s"], 2),
        **{k: v for k, v in result.items() if k != "stdout"},
        "stage_timings_s": run["timings"],
    }


def main() -> None:
    """Write the three scenarios to JSON and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12, help="first N demo recordings")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/throughput.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ascolto-throughput-") as tmp:
        local, dask = Path(tmp) / "local", Path(tmp) / "dask"
        rows = [
            scenario("local, cold", local, [], args.limit),
            scenario("local, nothing new", local, [], args.limit),
            scenario("dask local:2, cold", dask, ["--dask", "local:2"], args.limit),
        ]
    cold = rows[0]["wall_s"]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, no GPU, Python {platform.python_version()}",
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
        "scenarios": rows,
        "ratios": {
            "dask_local2_wall_over_local": round(rows[2]["wall_s"] / cold, 2),
            "rerun_nothing_new_wall_over_cold": round(rows[1]["wall_s"] / cold, 2),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
