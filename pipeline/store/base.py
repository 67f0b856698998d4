"""The connection, transactions and the one generic write: replace the rows of a key."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import AscoltoError, NoStore
from pipeline.faults import checkpoint

STORE_FILE = "ascolto.duckdb"


def require_store(data_dir: Path) -> None:
    """NoStore unless `data_dir` holds an ascolto store."""
    if not (data_dir / STORE_FILE).is_file():
        raise NoStore(
            f"no ascolto store in {data_dir} (pass the --data-dir used with `ascolto run`)"
        )


class StoreBusy(AscoltoError, RuntimeError):
    """Another process holds the DuckDB file (DuckDB admits one writer, no reader beside it)."""


def now() -> datetime:
    """UTC timestamp without tz info (DuckDB TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def marks(values: Collection[object]) -> str:
    """Placeholders for an IN list (`NULL` for an empty one, which matches nothing)."""
    return ", ".join("?" for _ in values) or "NULL"


class StoreBase:
    """A DuckDB file under the data directory (`ascolto.duckdb`)."""

    def __init__(self, data_dir: Path, read_only: bool = False) -> None:
        import duckdb  # deferred: keeps `ascolto --help` fast

        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.path = data_dir / STORE_FILE
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            raise StoreBusy(
                f"the store {self.path} is being written by another process (an ascolto run or "
                "a notebook holding it open); wait for it to finish and try again"
            ) from None
        if not read_only:
            self.con.execute(resources.files("pipeline.store").joinpath("schema.sql").read_text())

    def close(self) -> None:
        """Release the file."""
        self.con.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything written inside commits together, or not at all."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def resolve(self, stored: str) -> Path:
        """A path the store holds, relative to the data directory.

        Older stores hold absolute paths, or paths relative to the working directory of their
        first run: those are found by name under `topics/`.
        """
        path = Path(stored)
        if path.is_absolute():
            return path
        inside = self.data_dir / path
        return inside if inside.exists() else self.data_dir / "topics" / path.name

    def relative(self, path: Path) -> str:
        """How the store records a path under the data directory: relative, so it can move."""
        return path.relative_to(self.data_dir).as_posix()

    def query(self, sql: str, params: Iterable[Any] = ()) -> pd.DataFrame:
        """Run a SELECT and return a DataFrame (for tests and ad-hoc exploration)."""
        return self.con.execute(sql, list(params)).df()

    def has(self, name: str) -> bool:
        """Whether a table or view exists (a store written by an older version may lack it)."""
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        return bool(row and row[0])

    def _column(self, sql: str, params: Iterable[object] = ()) -> set[str]:
        return {str(r[0]) for r in self.con.execute(sql, list(params)).fetchall()}

    def _scalar(self, sql: str, params: Iterable[object] = ()) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        if frame is not None and len(frame):
            self.con.register("incoming", frame)
            columns = ", ".join(frame.columns)
            self.con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM incoming")
            self.con.unregister("incoming")

    def _replace(
        self, table: str, where: str, params: list[Any], frame: pd.DataFrame | None
    ) -> None:
        """Delete the rows matching `where`, then insert `frame`, in one transaction."""
        with self.transaction():
            self.con.execute(f"DELETE FROM {table} WHERE {where}", params)
            checkpoint("store-write")
            if frame is not None:
                self._insert(table, frame)

    def _delete_in(self, table: str, column: str, values: list[str]) -> int:
        """Delete rows whose `column` is one of `values`; how many went."""
        if not values:
            return 0
        rows = self.con.execute(
            f"DELETE FROM {table} WHERE {column} IN ({marks(values)}) RETURNING 1", values
        ).fetchall()
        return len(rows)
