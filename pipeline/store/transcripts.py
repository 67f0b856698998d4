"""Transcripts, their segments and speaker turns (redacted text only)."""

from __future__ import annotations

import json

import pandas as pd

from pipeline.records import Transcript, Turn
from pipeline.store.base import StoreBase, now

_SEGMENT_COLUMNS = ["recording_id", "transcript_key", "seg_idx", "start_s", "end_s", "channel",
                    "role", "text", "avg_logprob", "no_speech_prob", "compression_ratio",
                    "low_confidence"]  # fmt: skip
_UTTERANCE_COLUMNS = ["recording_id", "transcript_key", "utt_idx", "role", "start_s", "end_s",
                      "text", "low_confidence"]  # fmt: skip
# Everything derived from a transcript: replaced with it, so no stale text survives.
_DERIVED = (
    "transcripts",
    "utterance_labels",
    "interview_labels",
    "embeddings",
    "topic_assignments",
)


class TranscriptsMixin(StoreBase):
    """Tables written by the transcribe stage."""

    def transcribed_ids(self, transcript_key: str) -> set[str]:
        """Recordings already transcribed under this key."""
        return self._column(
            "SELECT recording_id FROM transcripts WHERE transcript_key = ?", [transcript_key]
        )

    def save_transcript(self, transcript: Transcript, turns: list[Turn]) -> None:
        """Store one recording's redacted segments and turns, then mark it transcribed."""
        key = [transcript.recording_id, transcript.transcript_key]
        segments = pd.DataFrame(
            [
                [
                    *key,
                    i,
                    s.start,
                    s.end,
                    s.channel,
                    s.role,
                    s.text,
                    s.avg_logprob,
                    s.no_speech_prob,
                    s.compression_ratio,
                    s.low_confidence,
                ]  # fmt: skip
                for i, s in enumerate(transcript.segments)
            ],
            columns=_SEGMENT_COLUMNS,
        )
        utterances = pd.DataFrame(
            [
                [*key, i, t.role, t.start, t.end, t.text, t.low_confidence]
                for i, t in enumerate(turns)
            ],
            columns=_UTTERANCE_COLUMNS,
        )
        meta = pd.DataFrame(
            [
                {
                    "recording_id": key[0],
                    "transcript_key": key[1],
                    "backend": transcript.backend,
                    "model": transcript.model,
                    "language": transcript.language,
                    "duration_s": transcript.duration_s,
                    "channels": transcript.channels,
                    "elapsed_s": transcript.elapsed_s,
                    "n_segments": len(transcript.segments),
                    "redacted_counts": json.dumps(transcript.redacted_counts, sort_keys=True),
                    "created_at": now(),
                    "detected_language": transcript.detected_language,
                    "language_probability": transcript.language_probability,
                    "language_mismatch": transcript.language_mismatch,
                }
            ]
        )
        # One current transcript per recording: rows made under an older key (older redactor
        # included) are deleted with everything derived from them.
        rec = [transcript.recording_id]
        for table in _DERIVED:
            self.con.execute(f"DELETE FROM {table} WHERE recording_id = ?", rec)
        # Segments and turns first, the transcripts row last: a crash in between leaves the
        # recording "not transcribed", so the next run redoes it instead of trusting half a write.
        self._replace("segments", "recording_id = ?", rec, segments)
        self._replace("utterances", "recording_id = ?", rec, utterances)
        self._replace("transcripts", "recording_id = ? AND transcript_key = ?", key, meta)

    def language_mismatches(self, transcript_key: str) -> list[str]:
        """Files whose detected language differs from the forced one (detection must be on)."""
        return self.query(
            "SELECT r.file FROM transcripts t JOIN recordings r USING (recording_id) "
            "WHERE t.transcript_key = ? AND t.language_mismatch ORDER BY r.file",
            [transcript_key],
        )["file"].tolist()

    def customer_utterances(self, transcript_key: str) -> pd.DataFrame:
        """Customer turns of every recording transcribed under `transcript_key`."""
        return self.query(
            "SELECT u.recording_id, u.utt_idx, u.text, u.start_s, u.end_s, u.low_confidence, "
            "r.agency_id, r.case_id, r.interview_date FROM utterances u "
            "JOIN transcripts t USING (recording_id, transcript_key) "
            "JOIN recordings r USING (recording_id) "
            "WHERE u.transcript_key = ? AND u.role = 'customer' ORDER BY u.recording_id, u.utt_idx",
            [transcript_key],
        )

    def asr_models(self, transcript_key: str | None = None) -> pd.DataFrame:
        """Distinct (backend, model) pairs that made the stored transcripts (of one key)."""
        if transcript_key is None:
            return self.query("SELECT DISTINCT backend, model FROM transcripts")
        return self.query(
            "SELECT DISTINCT backend, model FROM transcripts WHERE transcript_key = ?",
            [transcript_key],
        )
