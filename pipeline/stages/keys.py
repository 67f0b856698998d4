"""Cache keys of every stage: what a stored result was computed from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.classify.classifier import (
    classifier_fingerprint,
)
from pipeline.config import Settings
from pipeline.privacy.redact import redactor_fingerprint


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class StageKeys:
    """Cache keys of each stage for one configuration."""

    transcript: str
    classify: str
    embed: str
    classifier: str = ""  # method and weights digest, shown in reports

    @classmethod
    def from_settings(
        cls, settings: Settings, transcriber_id: str = "", transcript_key: str | None = None
    ) -> StageKeys:
        """Hash each stage's settings, the files it reads, and the key of its input stage.

        `transcript_key`: build on transcripts already stored under this key (a rerun of later
        stages that must not transcribe again) instead of today's ASR settings.
        """
        transcript = transcript_key or settings.stage_key(
            "language",
            "asr",
            "roles",
            "redact",
            extra=[redactor_fingerprint(), _file_hash(settings.interview_file), transcriber_id],
        )
        # The heads folder is identified by its weights digest, not its path on this machine.
        classifier = classifier_fingerprint(settings)
        classify = settings.stage_key(
            extra=[
                transcript,
                settings.classify.model_dump(mode="json", exclude={"heads"}),
                classifier,
                _file_hash(settings.themes_file),
            ]
        )
        embed = settings.stage_key("embed", extra=[transcript])
        return cls(transcript, classify, embed, classifier)
