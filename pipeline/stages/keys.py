"""Cache keys of every stage: what a stored result was computed from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.asr.audio import DECODER
from pipeline.asr.transcribe import make_transcriber
from pipeline.classify.classifier import (
    classifier_fingerprint,
)
from pipeline.config import Settings, load_yaml
from pipeline.privacy.redact import redactor_fingerprint


def _content_hash(path: Path) -> str:
    """Hash of a YAML file's parsed content: comments and layout never invalidate a cache."""
    content = json.dumps(load_yaml(path), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StageKeys:
    """Cache keys of each stage for one configuration."""

    transcript: str
    classify: str
    embed: str
    classifier: str = ""  # method and weights digest, shown in reports

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transcriber_id: str | None = None,
        transcript_key: str | None = None,
    ) -> StageKeys:
        """Hash each stage's settings, the files it reads, and the key of its input stage.

        `transcript_key`: build on transcripts already stored under this key (a rerun of later
        stages that must not transcribe again) instead of today's ASR settings.
        `transcriber_id`: the model id of the transcriber in use (a fake one in tests); by default
        the configured one's. Nothing is loaded: keys come from config and file contents.
        """
        if transcriber_id is None:
            transcriber_id = make_transcriber(settings.asr).model_id
        transcript = transcript_key or settings.stage_key(
            "language",
            "asr",
            "roles",
            "redact",
            extra=[
                redactor_fingerprint(),
                _content_hash(settings.interview_file),
                transcriber_id,
                DECODER,
            ],
        )
        # The heads folder is identified by its weights digest, not its path on this machine.
        classifier = classifier_fingerprint(settings)
        classify = settings.stage_key(
            extra=[
                transcript,
                settings.classify.model_dump(mode="json", exclude={"heads"}),
                classifier,
                _content_hash(settings.themes_file),
            ]
        )
        embed = settings.stage_key("embed", extra=[transcript])
        return cls(transcript, classify, embed, classifier)
