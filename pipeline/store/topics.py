"""Topic models: generations with stable IDs, their topics, assignments and analysts' names."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.store.base import StoreBase, now

_TOPIC_UTTERANCE_COLUMNS = ["topic_id", "recording_id", "utt_idx", "agency_id", "month",
                            "sentiment", "threatened"]  # fmt: skip


class TopicsMixin(StoreBase):
    """Tables written by the topics stage and `ascolto topics rename`."""

    def has_topic_model(self, topics_key: str) -> bool:
        """True when topics were already fitted on exactly this corpus and config."""
        return bool(
            self._scalar("SELECT count(*) FROM topic_models WHERE topics_key = ?", [topics_key])
        )

    def save_topics(
        self,
        topics_key: str,
        model: dict,
        info: pd.DataFrame | None,
        assignments: pd.DataFrame | None,
    ) -> None:
        """Store a topic fit: info and assignments first, the model row (done marker) last."""
        self._replace("topic_info", "topics_key = ?", [topics_key], info)
        self._replace("topic_assignments", "topics_key = ?", [topics_key], assignments)
        self._replace("topic_models", "topics_key = ?", [topics_key], pd.DataFrame([model]))

    def current_topics(self, lineage: str) -> dict | None:
        """The latest topic model generation of a lineage (same config and embeddings), if any."""
        if not self.has("topic_generations"):
            return None
        rows = self.query(
            "SELECT * FROM topic_generations WHERE lineage = ? AND model_dir IS NOT NULL "
            "ORDER BY seq DESC LIMIT 1",
            [lineage],
        )
        return None if rows.empty else rows.iloc[0].to_dict()

    def save_topic_generation(self, row: dict) -> None:
        """Record a fitted generation after its model, info and assignments are stored."""
        self._replace(
            "topic_generations", "topics_key = ?", [row["topics_key"]], pd.DataFrame([row])
        )

    def last_topic_seq(self, lineage: str) -> int:
        """Sequence number of the lineage's latest generation (0: none yet)."""
        seq = self._scalar("SELECT max(seq) FROM topic_generations WHERE lineage = ?", [lineage])
        return 0 if seq is None else int(seq)

    def topic_mappings(self, lineage: str) -> list[str]:
        """Each generation's mapping (JSON: fitted topic -> stable ID) of a lineage."""
        rows = self.con.execute(
            "SELECT mapping FROM topic_generations WHERE lineage = ?", [lineage]
        ).fetchall()
        return [str(r[0]) for r in rows]

    def topic_assigned(self, topics_key: str) -> pd.DataFrame:
        """(recording_id, utt_idx) of every utterance already assigned in a generation."""
        return self.query(
            "SELECT recording_id, utt_idx FROM topic_assignments WHERE topics_key = ?", [topics_key]
        )

    def append_topic_assignments(self, topics_key: str, frame: pd.DataFrame) -> None:
        """Add assignments of new utterances and recount the topic sizes, in one transaction."""
        with self.transaction():
            self.con.register("new_assignments", frame)
            self.con.execute(
                "INSERT INTO topic_assignments SELECT topics_key, recording_id, utt_idx, topic_id "
                "FROM new_assignments"
            )
            self.con.unregister("new_assignments")
            self.con.execute(
                "UPDATE topic_info SET size = (SELECT count(*) FROM topic_assignments a "
                "WHERE a.topics_key = topic_info.topics_key AND a.topic_id = topic_info.topic_id) "
                "WHERE topics_key = ?",
                [topics_key],
            )

    def topic_info(self, topics_key: str, order: str = "size") -> pd.DataFrame:
        """Every column of a generation's topics, largest first (`order="topic_id"`: by ID)."""
        by = "size DESC" if order == "size" else "topic_id"
        return self.query(
            f"SELECT * FROM topic_info WHERE topics_key = ? ORDER BY {by}", [topics_key]
        )

    def topic_sizes(self, topics_key: str) -> dict[int, int]:
        """Utterances per topic ID in a generation."""
        rows = self.con.execute(
            "SELECT topic_id, size FROM topic_info WHERE topics_key = ?", [topics_key]
        ).fetchall()
        return {int(t): int(s) for t, s in rows}

    def topic_ids(self, topics_key: str) -> list[int]:
        """Topic IDs of one fitted generation."""
        rows = self.con.execute(
            "SELECT topic_id FROM topic_info WHERE topics_key = ? ORDER BY topic_id", [topics_key]
        ).fetchall()
        return [int(r[0]) for r in rows]

    def topic_model(self, topics_key: str) -> pd.DataFrame:
        """The generation's model row (method, note, sizes), empty if it was never fitted."""
        return self.query("SELECT * FROM topic_models WHERE topics_key = ?", [topics_key])

    def topic_agency_shares(self, topics_key: str) -> pd.DataFrame:
        """Per topic and agency, the percentage of the agency's clustered interviews with it."""
        return self.query(
            "WITH per AS (SELECT DISTINCT a.topic_id, r.agency_id, a.recording_id "
            "FROM topic_assignments a JOIN recordings r USING (recording_id) "
            "WHERE a.topics_key = ?), "
            "tot AS (SELECT agency_id, count(DISTINCT recording_id) AS n FROM per GROUP BY agency_id) "
            "SELECT per.topic_id, per.agency_id, round(100.0 * count(*) / any_value(tot.n)) AS pct "
            "FROM per JOIN tot USING (agency_id) GROUP BY per.topic_id, per.agency_id",
            [topics_key],
        )

    def topic_utterances(self, topics_key: str, classify_key: str) -> pd.DataFrame:
        """Topic x agency x month x labels, one row per assigned utterance (the view)."""
        if not self.has("topic_utterances"):
            return pd.DataFrame(columns=_TOPIC_UTTERANCE_COLUMNS)
        return self.query(
            "SELECT * FROM topic_utterances WHERE topics_key = ? AND classify_key = ?",
            [topics_key, classify_key],
        )

    def topic_names(self, lineage: str) -> dict[int, str]:
        """Analyst-given topic names of a lineage, by stable topic ID."""
        if not self.has("topic_names"):
            return {}
        rows = self.query("SELECT topic_id, label FROM topic_names WHERE lineage = ?", [lineage])
        return {int(r.topic_id): str(r.label) for r in rows.itertuples()}

    def rename_topic(self, lineage: str, topic_id: int, label: str) -> None:
        """Give a stable topic ID a name that every later generation keeps."""
        row: dict[str, Any] = {"lineage": lineage, "topic_id": topic_id, "label": label,
                               "renamed_at": now()}  # fmt: skip
        self._replace(
            "topic_names", "lineage = ? AND topic_id = ?", [lineage, topic_id], pd.DataFrame([row])
        )
