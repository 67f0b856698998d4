"""Transcribe stage: decode, transcribe, assign roles and redact one recording; what is pending."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from pipeline.asr.audio import Audio, AudioError, decode
from pipeline.asr.roles import ScriptMatcher, assign_mono, assign_stereo, to_turns
from pipeline.asr.transcribe import Transcriber, make_transcriber
from pipeline.config import Settings, load_yaml
from pipeline.privacy.redact import Pseudonyms, Redactor
from pipeline.records import InputWarning, Quarantined, Recording, Segment, Transcript
from pipeline.store import Store


def transcribe_audio(
    path: Path, settings: Settings, transcriber: Transcriber
) -> tuple[Audio, list[Segment]]:
    """Decode one file and transcribe it with speaker roles. The text is NOT redacted.

    Stereo files are transcribed per channel and mapped by `roles.stereo_channels`; mono files
    are matched against the interviewer's script. Raises AudioError on unusable audio.
    """
    audio = decode(path, settings.asr.max_duration_s)
    channel_roles = settings.roles.stereo_channels
    questions = tuple(load_yaml(settings.interview_file).get("questions") or [])
    matcher = ScriptMatcher(questions, settings.roles.script_similarity)
    if audio.channels == 2 and channel_roles:
        by_channel = {
            ch: transcriber.transcribe(audio.samples[ch], settings.language)
            for ch in sorted(channel_roles)
            if ch < audio.channels
        }
        return audio, assign_stereo(by_channel, dict(channel_roles), matcher)
    return audio, assign_mono(transcriber.transcribe(audio.mono(), settings.language), matcher)


def transcribe_recording(
    recording: Recording,
    settings: Settings,
    transcript_key: str,
    transcriber: Transcriber | None = None,
) -> Transcript:
    """Decode, transcribe, assign roles and redact one recording. Raises AudioError on bad audio.

    The raw text lives only inside this function: what it returns is redacted.
    """
    from threadpoolctl import threadpool_limits

    transcriber = transcriber or make_transcriber(settings.asr)
    started = time.perf_counter()
    # BLAS threads as configured, whatever the process inherited: Dask workers start with one,
    # and the feature extraction's sums (hence Whisper's words) depend on it.
    with threadpool_limits(limits=settings.asr.cpu_threads):
        audio, segments = transcribe_audio(recording.path, settings, transcriber)
    detected = (
        transcriber.detect_language(audio.mono()) if settings.asr.detect_language else (None, None)
    )
    redactor = Redactor(settings.redact.entities, allow_list=settings.redact.allow_list)
    pseudonyms = Pseudonyms() if settings.redact.pseudonyms else None  # one per interview
    counts: Counter[str] = Counter()
    for segment in segments:
        redaction = redactor.redact(segment.text, pseudonyms)
        segment.text = redaction.text
        counts.update(redaction.counts)
    return Transcript(
        recording_id=recording.recording_id,
        transcript_key=transcript_key,
        segments=segments,
        duration_s=round(audio.duration_s, 2),
        channels=audio.channels,
        language=settings.language,
        backend=transcriber.backend,
        model=transcriber.model_id,
        elapsed_s=round(time.perf_counter() - started, 2),
        redacted_counts=dict(counts),
        detected_language=detected[0],
        language_probability=detected[1],
    )


def save_transcript(store: Store, transcript: Transcript) -> None:
    """Persist a redacted transcript and its speaker turns."""
    store.save_transcript(transcript, to_turns(transcript.segments))


def pending(
    store: Store, transcript_key: str, recordings: list[Recording], force: bool = False
) -> list[Recording]:
    """Recordings with no transcript under `transcript_key` (all of them with `force`)."""
    done = set() if force else store.transcribed_ids(transcript_key)
    return [r for r in recordings if r.recording_id not in done]


def unusable(recording: Recording, error: AudioError) -> Quarantined:
    """The quarantine entry of a recording whose audio cannot be transcribed."""
    return Quarantined("transcribe", recording.file, str(error), recording.manifest_row)


def no_customer_speech(recording: Recording, transcript: Transcript) -> InputWarning | None:
    """A warning when a recording holds no customer words: it is left out of every rate."""
    if any(s.role == "customer" and s.text.strip() for s in transcript.segments):
        return None
    return InputWarning(
        "transcribe",
        recording.file,
        f"{recording.file}: no customer speech (silent customer channel, truncated or empty "
        "recording); left out of the rates, never counted as a neutral interview",
        recording.manifest_row,
    )
