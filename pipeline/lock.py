"""One writer per data directory: an OS file lock, and a note saying who holds it.

DuckDB already refuses a second writer, but with a bare I/O error in the middle of a run. The
lock is taken before anything is read or written, so a second `ascolto run` (or `forget`,
`purge`) on the same data directory stops at once with a message saying who holds it.
The lock is filelock's native lock (flock) on `.ascolto.lock`: the kernel releases it when its
process ends however it ends (kill -9, power cut), so a dead run's lock is simply taken. The
lock file stays in place (waiters must share its inode); `.ascolto.lock.json` beside it names
the holder (pid, action, since) for the refusal and for `ascolto status`, written once the lock
is held and removed before it is released.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.errors import AscoltoError

LOCK_NAME = ".ascolto.lock"
HOLDER_NAME = ".ascolto.lock.json"


class DataDirError(AscoltoError, RuntimeError):
    """The data directory cannot be used; the message says why and what to do."""


class DataDirLocked(DataDirError):
    """Another live process is using the data directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def live_holder(data_dir: Path) -> dict | None:
    """Who holds the data directory now (pid, action, since), or None when nobody alive does.

    Read from the holder's note without touching the lock, so `ascolto status` stays read-only;
    a note left by a killed run names a dead pid and counts as nobody.
    """
    holder = _holder(data_dir / HOLDER_NAME)
    pid = int(holder.get("pid", 0) or 0)
    return holder if pid and _alive(pid) else None


WAIT_ENV = "ASCOLTO_LOCK_WAIT_S"


@contextmanager
def data_dir_lock(
    data_dir: Path, action: str = "run", wait_s: float | None = None
) -> Iterator[Path]:
    """Hold the data directory's lock for the duration of the block; yields the holder's note.

    Another holder, in this process or another, is refused at once, or after `wait_s` seconds
    of waiting for it (default: $ASCOLTO_LOCK_WAIT_S, set by `ascolto serve` so that runs
    triggered together from the UI queue instead of failing; 0 elsewhere).
    """
    if wait_s is None:
        wait_s = float(os.environ.get(WAIT_ENV, "0") or 0)
    note = data_dir / HOLDER_NAME
    me = {"pid": os.getpid(), "action": action, "since": datetime.now(UTC).isoformat()}
    lock = FileLock(data_dir / LOCK_NAME, thread_local=False)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if wait_s > 0:
            lock.acquire(timeout=wait_s, poll_interval=1.0)
        else:
            lock.acquire(blocking=False)
    except Timeout:
        holder = _holder(note)  # none yet (or a dead run's) only just before the holder writes it
        raise DataDirLocked(
            f"{data_dir} is in use by another ascolto {holder.get('action', 'run')} "
            f"(pid {holder.get('pid', '?')}, since {holder.get('since', '?')})"
            + (f" and stayed so for {wait_s:.0f} s" if wait_s > 0 else "")
            + "; wait for it to finish, or use another data directory"
        ) from None
    except OSError as exc:  # read-only file system, no permission, not a folder
        raise _unwritable(data_dir, exc) from None
    try:
        try:
            note.write_text(json.dumps(me), encoding="utf-8")
        except OSError as exc:
            raise _unwritable(data_dir, exc) from None
        yield note
    finally:
        try:
            note.unlink(missing_ok=True)
        finally:
            lock.release()


def _unwritable(data_dir: Path, exc: OSError) -> DataDirError:
    return DataDirError(
        f"cannot write to the data directory {data_dir} ({exc.strerror}); "
        "choose a writable --data-dir"
    )
