"""Files people open or other processes read: written whole or not at all; JSON Lines."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from pipeline.errors import InputError
from pipeline.faults import checkpoint


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: str, encoding: str = "utf-8") -> Path:
    """Write through a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is shared like any file
        checkpoint("file-write")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


class JsonLines(NamedTuple):
    """The usable lines of a JSON Lines file and the numbers of the lines that were not."""

    records: list[tuple[int, dict[str, Any]]]  # (line number, object)
    skipped: list[int]


def read_jsonl(path: Path, text_field: str | None = "text") -> JsonLines:
    """Each non-blank line holding a JSON object (with a string `text_field`, unless None).

    Other lines are only counted by number: their content is never returned or echoed, since
    it may hold unredacted personal data. An unreadable file raises InputError.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    records: list[tuple[int, dict[str, Any]]] = []
    skipped: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or (
            text_field is not None and not isinstance(record.get(text_field), str)
        ):
            skipped.append(number)
            continue
        records.append((number, record))
    return JsonLines(records, skipped)


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """One JSON object per line (UTF-8, not ASCII-escaped), written atomically."""
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    return write_atomic(path, "\n".join(lines) + ("\n" if lines else ""))


def map_jsonl(
    source: Path,
    output: Path,
    fields: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
) -> tuple[int, list[int]]:
    """Write each usable line of `source` with `fields(lines)[i]` added; (written, skipped lines).

    `fields` gets every usable object at once (batching is its business) and returns one dict
    per object.
    """
    read = read_jsonl(source)
    good = [record for _, record in read.records]
    added = fields(good)
    write_jsonl(output, (r | f for r, f in zip(good, added, strict=True)))
    return len(good), read.skipped
