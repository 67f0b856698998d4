"""Strict settings for every stage, loaded from `configs/*.yaml`.

Analysts edit YAML, never code: an unknown key or a value out of range fails at load time with the
file and the field named. Each stage hashes only its own section (`stage_key`), so a changed
classifier never invalidates transcripts.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from pipeline.errors import AscoltoError
from pipeline.records import AsrBackend, ComputeType, PiiType

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


class ConfigError(AscoltoError, ValueError):
    """A configuration file is missing, unreadable or invalid."""


def _relative_to_config(value: Path, info: ValidationInfo) -> Path:
    """A relative path in a config file is read from that file's folder, not the working dir."""
    base = (info.context or {}).get("base_dir")
    return (base / value).resolve() if base is not None and not value.is_absolute() else value


ConfigPath = Annotated[Path, AfterValidator(_relative_to_config)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AsrConfig(_Strict):
    """Speech recognition options (they key the transcript cache)."""

    backend: AsrBackend = "faster-whisper"
    model: str = Field(
        "bundled:whisper-base",
        description="bundled alias, a local model folder (faster-whisper) or .pt file / official "
        "name (openai-whisper)",
    )
    device: Literal["cpu", "cuda", "auto"] = "auto"
    compute_type: ComputeType = "auto"
    cpu_threads: int = Field(2, ge=1, le=256)
    batch_size: int = Field(
        0, ge=0, le=64, description="above 1: faster-whisper's batched pipeline (GPU throughput)"
    )
    detect_language: bool = Field(
        False, description="also identify each file's language and flag a mismatch"
    )
    beam_size: int = Field(5, ge=1, le=10)
    vad_filter: bool = True
    # Silero's default 0.5 cuts the first words of sentences on band-limited 8 kHz calls, whose
    # speech probabilities run lower (benchmarks/asr.py); 0.2 keeps them and still gives no words
    # on silence, hum or noise.
    vad_threshold: float = Field(0.2, gt=0, lt=1, description="Silero speech probability")
    vad_speech_pad_ms: int = Field(600, ge=0, le=2000, description="audio kept around speech")
    initial_prompt: str = Field(
        "", description="text Whisper sees before the audio (a domain prompt); empty: none"
    )
    # Measured on the demo's held-out files (benchmarks/asr.py): conditioning on the previous
    # window's text helps on telephone-band audio and hurts on 16 kHz audio.
    condition_on_previous_text: bool | Literal["narrowband"] = Field(
        "narrowband",
        description="true, false, or narrowband: on only for telephone-band audio (nothing "
        "above 4 kHz: an 8 kHz call, even when stored at a higher rate)",
    )
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    low_confidence_logprob: float = Field(-1.0, description="segments below are flagged")
    max_duration_s: float = Field(1800, gt=0, description="longer files are quarantined")


class RolesConfig(_Strict):
    """Who speaks: stereo channel map, else matching against the interviewer's script."""

    stereo_channels: dict[int, Literal["interviewer", "customer"]] = {
        0: "interviewer",
        1: "customer",
    }
    script_similarity: float = Field(
        0.45, ge=0, le=1, description="min similarity to a scripted question to call it interviewer"
    )


class RedactConfig(_Strict):
    """Which personal-data recognizers run before any text is stored."""

    entities: list[PiiType] = [
        "CF",
        "PIVA",
        "IBAN",
        "CARTA",
        "POD",
        "PDR",
        "TELEFONO",
        "EMAIL",
        "DATA_NASCITA",
        "INDIRIZZO",
        "NOME",
        "CODICE_CLIENTE",
        "DOCUMENTO",
        "TARGA",
        "PRATICA",
        "NUMERO",
    ]
    # Phrases never redacted even when they look like a name (agency and company names).
    allow_list: list[str] = []
    # `[NOME_1]`, `[NOME_2]`... consistent within one interview instead of plain `[NOME]`.
    pseudonyms: bool = False


class EmbedConfig(_Strict):
    """Sentence embedder: offline multilingual default or any sentence-transformers model."""

    backend: Literal["use-multilingual", "sentence-transformers", "e5-small", "use+e5-small"] = (
        "use-multilingual"
    )
    model: str = Field("", description="sentence-transformers model name or local path")
    threads: int = Field(2, ge=1)


class ClassifyConfig(_Strict):
    """Sentiment and theme classifier (the taxonomy itself lives in themes.yaml)."""

    method: Literal["hybrid", "rules"] = Field(
        "hybrid", description="hybrid: trained heads + cues; rules: cues from themes.yaml only"
    )
    heads: ConfigPath = Field(
        CONFIG_DIR.parent / "models" / "classifier",
        description="folder written by `ascolto train` (heads.json + heads.npz)",
    )
    negation_window: int = Field(
        4, ge=0, le=10, description="tokens before a cue that can negate it"
    )
    example_similarity: float = Field(
        0.5, ge=0, le=1, description="cosine to a theme's examples that detects an untrained theme"
    )
    max_chars: int = Field(
        5000, ge=100, description="longer texts are classified on their first max_chars characters"
    )
    unbacked_threat_score: float = Field(
        0.0,
        ge=0,
        le=1,
        description="a threat with no threat word in the line is counted only from this head "
        "score up; below it the line goes to an analyst as uncertain",
    )
    threat_margin: float = Field(
        0.05,
        ge=0,
        le=0.5,
        description="added to the trained thresholds of the threat themes and of the pooled "
        "'felt threatened' head: a threat needs that much more head score (precision first)",
    )


class TopicsConfig(_Strict):
    """BERTopic options for clustering customer utterances."""

    min_utterances: int = Field(30, ge=2, description="below this no topics are fitted")
    min_words: int = Field(
        4, ge=1, description="shorter utterances ('Direi otto.') are not clustered"
    )
    n_topics: int | Literal["auto"] = "auto"
    init: Literal["ward", "random"] = Field(
        "ward",
        description="k-means start: ward (deterministic, from a Ward clustering) or random (seed)",
    )
    seed: int = Field(42, description="used by init: random")
    seed_with_themes: bool = Field(
        False,
        description="first fit starts from the themes' example sentences, so known themes line "
        "up with topics while other centroids stay free for what the taxonomy does not name",
    )
    match_similarity: float = Field(
        0.8, ge=0, le=1, description="cosine between topic embeddings that keeps an ID at refit"
    )
    representation: Literal["mmr", "keybert", "ctfidf"] = Field(
        "mmr",
        description="topic words: c-TF-IDF re-ranked by maximal marginal relevance (mmr), by "
        "closeness to the topic's documents (keybert), or plain c-TF-IDF",
    )


class ScoringConfig(_Strict):
    """KPI windows and thresholds for agency scorecards."""

    churn_window_days: int = Field(90, ge=1)
    min_interviews: int = Field(5, ge=1, description="below this an agency is not ranked")


class ReportConfig(_Strict):
    """Report language and contents."""

    language: Literal["it", "en"] = "it"
    quotes_per_theme: int = Field(3, ge=0, le=20)
    benchmark_min_agencies: int = Field(
        2,
        ge=2,
        description="an agency's report pools the other agencies only when at least this many "
        "had interviews in the period (one would be identifiable)",
    )
    benchmark_min_interviews: int = Field(
        10,
        ge=1,
        description="... and when the pooled agencies had at least this many interviews in it",
    )
    topic_words_min_utterances: int = Field(
        3,
        ge=1,
        description="an agency's report lists a topic's words (from its own customers only) "
        "when the agency has at least this many utterances in the topic",
    )
    retrain_margin: float = Field(
        0.10,
        ge=0,
        le=1,
        description="the headline says 'retrain' for an agency whose felt-threatened share is "
        "more than this (0.10: 10 points) above the other agencies' average",
    )
    plotly_js: str = Field(
        "basic",
        description="plotly.js to embed: basic (the shipped 1.2 MB partial bundle), empty "
        "(plotly.py's full 4.8 MB one), or a bundle file of the same plotly.js version",
    )


class RetentionConfig(_Strict):
    """How long interviews and everything derived from them are kept (`ascolto purge`)."""

    days: int = Field(730, ge=1, description="interviews older than this are purged")


class ServiceConfig(_Strict):
    """`ascolto serve`: the scheduled deployments."""

    drop_folder: ConfigPath | None = Field(
        None,
        description="nightly batch: <drop_folder>/recordings/, manifest.csv and cases.csv; "
        "none: no nightly deployment",
    )
    nightly_cron: str = Field("0 2 * * *", description="when the nightly batch runs")
    purge_cron: str = Field("30 3 * * *", description="when retention purges run (daily)")
    timezone: str = "Europe/Rome"
    lock_wait_s: int = Field(
        3600, ge=0, description="a served run waits this long for another on the same data dir"
    )
    reports_port: int = Field(
        8765, ge=0, le=65535, description="`ascolto serve` shows reports/ on 127.0.0.1 (0: off)"
    )


class ReviewConfig(_Strict):
    """`ascolto review`: the local page where analysts confirm or correct labels."""

    host: str = Field(
        "127.0.0.1", description="address to bind; any other than loopback requires a token"
    )
    port: int = Field(8766, ge=1, le=65535)
    audio: bool = Field(
        False,
        description="play each quote's segment from the original recording (decoded on request, "
        "never written; off: the audio holds personal data)",
    )
    recordings: ConfigPath | None = Field(
        None, description="folder of the original recordings, for audio (the one given to run)"
    )
    reviewer: str = Field("", description="name stored with each review (empty: the login name)")
    page_size: int = Field(200, ge=1, le=5000, description="quotes listed at once")


class Settings(_Strict):
    """Every setting of a run; one section per stage."""

    language: str = Field("it", description="Whisper language code forced for transcription")
    asr: AsrConfig = AsrConfig()
    roles: RolesConfig = RolesConfig()
    redact: RedactConfig = RedactConfig()
    embed: EmbedConfig = EmbedConfig()
    classify: ClassifyConfig = ClassifyConfig()
    topics: TopicsConfig = TopicsConfig()
    scoring: ScoringConfig = ScoringConfig()
    report: ReportConfig = ReportConfig()
    retention: RetentionConfig = RetentionConfig()
    service: ServiceConfig = ServiceConfig()
    review: ReviewConfig = ReviewConfig()
    themes_file: ConfigPath = CONFIG_DIR / "themes.yaml"
    interview_file: ConfigPath = CONFIG_DIR / "interview.yaml"
    topics_file: ConfigPath = Field(
        CONFIG_DIR / "topics.yaml", description="analysts' topic names (optional file)"
    )

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str) -> str:
        if not value.isalpha() or not 2 <= len(value) <= 3:
            raise ValueError("use a Whisper language code such as 'it' or 'en'")
        return value.lower()

    def stage_key(self, *sections: str, extra: Any = None) -> str:
        """Short hash of the named sections (plus extra), keying one stage's cached results."""
        payload = {name: _jsonable(getattr(self, name)) for name in sections}
        payload["extra"] = extra
        blob = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    return raw


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _file_settings(path: Path) -> dict[str, Any]:
    """The settings one file sets (validated, its relative paths resolved against its folder)."""
    try:
        parsed = Settings.model_validate(_read_config(path), context={"base_dir": path.parent})
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid settings:\n{exc}") from exc
    return parsed.model_dump(exclude_unset=True)


def load_settings(path: Path | None = None) -> Settings:
    """Load the shipped defaults, overridden by the keys of `path` when one is given.

    A user's file only needs the settings it changes: everything else keeps the value in
    configs/default.yaml (not the code's defaults), so results stay comparable across runs.
    """
    raw = _file_settings(DEFAULT_CONFIG)
    if path is not None and path.resolve() != DEFAULT_CONFIG.resolve():
        raw = _merge(raw, _file_settings(path))
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path or DEFAULT_CONFIG}: invalid settings:\n{exc}") from exc


def load_yaml(path: Path) -> Any:
    """Read an auxiliary YAML file (themes, interview script) with a clear error."""
    if not path.is_file():
        raise ConfigError(f"file not found: {path}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
