"""Fault injection for crash tests: `ASCOLTO_KILL_AT=<point>[#<n>]` kills the process at a point.

The crash-safety promise (a run killed at any moment, run again, ends with the same results as an
uninterrupted one) is tested by killing real runs with SIGKILL at the named points below. With
`#n` the process dies the n-th time it reaches the point (default: the first). Unset, a
checkpoint costs one dictionary lookup.

Points: `transcribed` (after a transcript is stored), `store-write` (inside a store transaction,
after the old rows are deleted), `classified` (after one recording's labels), `topics-saved`
(topic rows stored, generation not yet recorded), `file-write` (a report or export written to its
temporary file, not yet renamed), `finishing` (everything written, run not yet marked completed).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "ASCOLTO_KILL_AT"
_seen: Counter[str] = Counter()


def checkpoint(point: str) -> None:
    """Die with SIGKILL here if `ASCOLTO_KILL_AT` names this point (and its count is reached)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition("#")
    if name != point:
        return
    _seen[point] += 1
    if _seen[point] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
