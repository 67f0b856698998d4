"""DuckDB warehouse: the only place that speaks SQL.

One table per stage output, keyed by recording id plus the stage's key (`schema.sql`). Every
write replaces the rows of the keys it covers inside one transaction, so a stage that is rerun
(or interrupted and rerun) never leaves duplicates. Only redacted text is ever written here.
Queries are named methods, grouped by the stage that owns their tables.
"""

from pipeline.store.base import STORE_FILE, StoreBase, now, require_store
from pipeline.store.erasure import Erased, ErasureMixin
from pipeline.store.inputs import InputsMixin
from pipeline.store.labels import LabelsMixin
from pipeline.store.reviews import ReviewsMixin
from pipeline.store.runs import RunsMixin
from pipeline.store.snapshot import SNAPSHOT_FILE, SnapshotMixin
from pipeline.store.topics import TopicsMixin
from pipeline.store.transcripts import TranscriptsMixin


class Store(
    InputsMixin,
    TranscriptsMixin,
    LabelsMixin,
    ReviewsMixin,
    TopicsMixin,
    RunsMixin,
    ErasureMixin,
    SnapshotMixin,
    StoreBase,
):
    """A DuckDB file under the data directory (`ascolto.duckdb`); see the module docstring."""

    def __enter__(self) -> "Store":
        return self


__all__ = ["SNAPSHOT_FILE", "STORE_FILE", "Erased", "Store", "now", "require_store"]
