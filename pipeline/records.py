"""Typed records passed between stages. Each stage output carries the key of what produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

Role = Literal["interviewer", "customer", "unknown"]
# Choices shared by the config, the flows' parameters and the CLI's options (one definition).
Stage = Literal["transcribe", "embed", "classify", "topics", "scoring", "report"]
RerunStage = Literal["embed", "classify", "topics", "scoring", "report"]
Language = Literal["it", "en"]
ExportFormat = Literal["csv", "parquet"]
AsrBackend = Literal["faster-whisper", "openai-whisper"]
ComputeType = Literal["auto", "int8", "int8_float32", "int8_float16", "float16", "float32"]
FoldsBy = Literal["statement", "source"]  # how training's cross-validation folds are cut
# Personal-data types the redactor removes (placeholders `[CF]`, `[NOME]`...), most specific first.
PiiType = Literal[
    "CF", "PIVA", "IBAN", "TELEFONO", "CARTA", "EMAIL", "POD", "PDR", "DATA_NASCITA", "INDIRIZZO",
    "NOME", "CODICE_CLIENTE", "DOCUMENTO", "TARGA", "PRATICA", "NUMERO",
]  # fmt: skip
Sentiment = Literal["positive", "neutral", "negative"]
Period = tuple[date | None, date | None]  # first and last day, both included; None: open
SENTIMENTS: tuple[Sentiment, ...] = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Recording:
    """One interview recording that passed ingest checks (the manifest row it came from)."""

    recording_id: str  # sha256 of the audio bytes
    path: Path
    file: str  # as written in the manifest
    case_id: str
    agency_id: str
    interview_date: date
    manifest_row: int
    written_ids: tuple[str, str] = ("", "")  # case and agency id as the manifest wrote them


@dataclass(frozen=True)
class Quarantined:
    """A file or row that was set aside, with the reason and the fix."""

    stage: str
    source: str
    reason: str
    row: int | None = None


@dataclass(frozen=True)
class InputWarning:
    """An input that was accepted but may skew the numbers: what to check, and where."""

    stage: str
    source: str
    message: str
    row: int | None = None


@dataclass
class Segment:
    """A stretch of speech. `text` is redacted once it leaves `pipeline.privacy.redact`."""

    start: float
    end: float
    text: str
    role: Role = "unknown"
    channel: int | None = None
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    low_confidence: bool = False


@dataclass
class Turn:
    """Consecutive segments of one speaker: the unit we classify for customers."""

    role: Role
    start: float
    end: float
    text: str
    low_confidence: bool


@dataclass
class Transcript:
    """Redacted segments of one recording with the provenance of the ASR that made them."""

    recording_id: str
    transcript_key: str
    segments: list[Segment]
    duration_s: float
    channels: int
    language: str
    backend: str
    model: str
    elapsed_s: float
    redacted_counts: dict[str, int] = field(default_factory=dict)
    detected_language: str | None = None  # set when asr.detect_language is on
    language_probability: float | None = None

    @property
    def language_mismatch(self) -> bool:
        """The file sounds like another language than the one transcription was forced to."""
        return self.detected_language is not None and self.detected_language != self.language


@dataclass
class UtteranceLabel:
    """Sentiment and themes of one customer utterance, with the words behind each theme."""

    sentiment: Sentiment
    sentiment_scores: dict[str, float]
    themes: list[str]
    theme_scores: dict[str, float]
    threatened: bool
    evidence: dict[str, list[str]]
    note: str | None = None  # why a text was not (fully) classified: empty, not Italian, truncated
    # Why the labels need an analyst's eye (far from the training text, cues and heads
    # disagreeing); an uncertain utterance is never counted as threatened. None: not uncertain.
    uncertain: str | None = None


@dataclass
class InterviewLabel:
    """Roll-up of one interview's customer utterances."""

    sentiment: str
    themes: list[str]
    threatened: bool
    empathy_score: float
    quotes: dict[str, list[str]]
