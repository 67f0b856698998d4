"""One writer per data directory: a lock file holding the pid of the run that owns it.

DuckDB already refuses a second writer, but with a bare I/O error in the middle of a run. The
lock is taken before anything is read or written, so a second `ascolto run` (or `forget`,
`purge`) on the same data directory stops at once with a message saying who holds it. A lock left
by a process that died (kill -9, power cut) is taken over.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import AscoltoError

LOCK_NAME = ".ascolto.lock"


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
    """Who holds the data directory now (pid, action, since), or None when nobody alive does."""
    holder = _holder(data_dir / LOCK_NAME)
    pid = int(holder.get("pid", 0) or 0)
    return holder if pid and _alive(pid) else None


@contextmanager
def data_dir_lock(data_dir: Path, action: str = "run") -> Iterator[Path]:
    """Hold the data directory's lock for the duration of the block."""
    path = data_dir / LOCK_NAME
    me = {"pid": os.getpid(), "action": action, "since": datetime.now(UTC).isoformat()}
    for _ in range(2):  # second try after removing a stale lock
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            pid = int(holder.get("pid", 0) or 0)
            if pid and pid != os.getpid() and _alive(pid):
                raise DataDirLocked(
                    f"{data_dir} is in use by another ascolto {holder.get('action', 'run')} "
                    f"(pid {pid}, since {holder.get('since', '?')}); wait for it to finish, or "
                    "use another --data-dir"
                ) from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        except OSError as exc:  # read-only file system, no permission, not a folder
            raise DataDirError(
                f"cannot write to the data directory {data_dir} ({exc.strerror}); "
                "choose a writable --data-dir"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
        break
    else:
        raise DataDirLocked(f"could not take the lock {path}; remove it if no run is active")
    try:
        yield path
    finally:
        if _holder(path).get("pid") == me["pid"]:
            path.unlink(missing_ok=True)
