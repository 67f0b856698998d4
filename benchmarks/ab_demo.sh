#!/bin/bash
# Two checkouts side by side: `ascolto demo --limit N` alternating A, B, A, B..., each run on a
# fresh data directory, each checkout with its own Prefect home (database created first, as in
# benchmarks/throughput.py). Prints one JSON line per run: wall time, Whisper inside the run
# (timings.asr_within_transcribe) and everything else.
#
#   git worktree add /tmp/before <commit>
#   bash benchmarks/ab_demo.sh /tmp/before . [N=12] [REPEATS=2] > ab.jsonl
#
# Before this script's commit, asr_within_transcribe included loading Whisper (1-2 s): the
# older checkout's "not ASR" is then that much too small, never too large.
set -euo pipefail
A=$(realpath "$1"); B=$(realpath "$2"); N=${3:-12}; REPEATS=${4:-2}
PY=$PWD/.venv/bin/python  # not realpath: that would leave the virtual environment
WORK=$(mktemp -d /tmp/ascolto-ab-XXXX)
for tree in A B; do
  PREFECT_HOME=$WORK/prefect-$tree $PY -m prefect server database upgrade -y > /dev/null 2>&1
done
for rep in $(seq "$REPEATS"); do
  for tree in A B; do
    root=$A; [ "$tree" = B ] && root=$B
    data=$WORK/data-$tree-$rep
    start=$(date +%s.%N)
    (cd "$root" && PREFECT_HOME=$WORK/prefect-$tree PYTHONPATH=$root \
      $PY -m ascolto.cli demo --limit "$N" --data-dir "$data" > "$WORK/$tree-$rep.log" 2>&1)
    end=$(date +%s.%N)
    $PY - "$tree" "$root" "$rep" "$start" "$end" "$data" <<'PY'
import json, sys
tree, root, rep, start, end, data = sys.argv[1:]
timings = json.load(open(f"{data}/exports/run.json"))["timings"]
wall, asr = float(end) - float(start), timings["asr_within_transcribe"]
print(json.dumps({"checkout": tree, "root": root, "repeat": int(rep), "wall_s": round(wall, 1),
                  "asr_within_s": asr, "not_asr_s": round(wall - asr, 1),
                  "not_asr_over_asr": round((wall - asr) / asr, 3), "timings": timings}))
PY
  done
done
rm -rf "$WORK"
