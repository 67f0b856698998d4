"""Stage functions in data-flow order, free of any orchestrator.

Each stage reads what it needs from the store, does only the work its key says is missing, and
writes its outputs back. Keys chain: transcript -> classify / embed -> topics, so a changed
classifier or theme file reruns classification and never transcription. The raw ASR text exists
only inside `transcribe_recording`, which returns redacted segments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline import __version__
from pipeline.asr.audio import Audio, decode
from pipeline.asr.roles import ScriptMatcher, assign_mono, assign_stereo, to_turns
from pipeline.asr.transcribe import Transcriber, make_transcriber
from pipeline.classify.classifier import (
    classifier_fingerprint,
    make_classifier,
    summarize_interview,
)
from pipeline.classify.taxonomy import Taxonomy, load_taxonomy
from pipeline.config import ConfigError, Settings, load_yaml
from pipeline.embed import Embedder, make_embedder
from pipeline.faults import checkpoint
from pipeline.files import write_atomic
from pipeline.ingest import load_cases, load_manifest
from pipeline.privacy.redact import Pseudonyms, Redactor, redactor_fingerprint
from pipeline.privacy.retention import case_hash, erased_case_hashes, erased_recordings
from pipeline.records import Quarantined, Recording, Segment, Transcript
from pipeline.report.charts import (
    empathy_vs_recovery,
    losses,
    monthly_trend,
    themes_by_agency,
    topics_by_month,
)
from pipeline.report.html import LABELS, ReportData, render_html
from pipeline.scoring import agency_scorecard
from pipeline.stats import case_table, findings, sentence
from pipeline.store import Store
from pipeline.topics import (
    assign,
    fit_topics,
    load_model,
    match_topics,
    save_model,
    theme_seeds,
    topic_vectors,
)

log = logging.getLogger("ascolto")
Period = tuple[date | None, date | None]  # first and last day, both included; None: open


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


# -- ingest --------------------------------------------------------------------------------
def ingest(
    store: Store,
    run_id: str,
    recordings_dir: Path,
    manifest: Path,
    cases: Path,
    agencies: list[str] | None = None,
    period: Period = (None, None),
) -> tuple[list[Recording], list[Quarantined], int]:
    """Validate inputs, register good recordings and cases; return recordings, rejects, skipped.

    Recordings and cases erased earlier (`ascolto forget`, `ascolto purge`) are skipped, not
    re-created: `skipped` counts them so the summary can tell the analyst. With `agencies` or
    `period` (interview dates, both ends included) only the manifest rows in that selection are
    taken; the others are left for another run, not registered.
    """
    recordings, rejected = load_manifest(recordings_dir, manifest)
    recordings = [r for r in recordings if _selected(r, agencies, period)]
    case_frame, bad_cases = load_cases(cases)
    rejected += bad_cases
    erased_audio, erased_cases = erased_recordings(store), erased_case_hashes(store)
    keep = [
        r
        for r in recordings
        if r.recording_id not in erased_audio and case_hash(r.case_id) not in erased_cases
    ]
    case_frame = case_frame[~case_frame["case_id"].astype(str).map(case_hash).isin(erased_cases)]
    store.upsert_recordings(keep)
    store.replace_cases(case_frame)
    store.add_quarantine(run_id, rejected)
    return keep, rejected, len(recordings) - len(keep)


def _selected(recording: Recording, agencies: list[str] | None, period: Period) -> bool:
    first, last = period
    return (
        (not agencies or recording.agency_id in agencies)
        and (first is None or recording.interview_date >= first)
        and (last is None or recording.interview_date <= last)
    )


# -- transcribe + roles + redact (one recording, no store access) --------------------------
def transcribe_audio(
    path: Path, settings: Settings, transcriber: Transcriber
) -> tuple[Audio, list[Segment]]:
    """Decode one file and transcribe it with speaker roles. The text is NOT redacted.

    Stereo files are transcribed per channel and mapped by `roles.stereo_channels`; mono files
    are matched against the interviewer's script. Raises AudioError on unusable audio.
    """
    audio = decode(path, settings.asr.max_duration_s)
    channel_roles = settings.roles.stereo_channels
    if audio.channels == 2 and channel_roles:
        by_channel = {
            ch: transcriber.transcribe(audio.samples[ch], settings.language)
            for ch in sorted(channel_roles)
            if ch < audio.channels
        }
        return audio, assign_stereo(by_channel, dict(channel_roles))
    questions = tuple(load_yaml(settings.interview_file).get("questions") or [])
    matcher = ScriptMatcher(questions, settings.roles.script_similarity)
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


# -- classify ------------------------------------------------------------------------------
def classify_pending(
    store: Store, settings: Settings, keys: StageKeys, embedder: Embedder, force: bool = False
) -> dict[str, int]:
    """Label customer utterances of recordings not yet labelled under the classify key.

    `force`: label every transcribed recording again (`--from classify`).

    Runs after `embed_pending`: when the heads were trained on the configured embedder, the
    stored utterance embeddings are reused instead of computed again.
    """
    done = set() if force else store.labelled_ids(keys.classify)
    transcribed = store.transcribed_ids(keys.transcript)
    todo = sorted(transcribed - done)
    if not todo:  # loading the classifier costs seconds: not for nothing
        return {"classified": 0, "cached": len(transcribed & done)}
    taxonomy = load_taxonomy(settings.themes_file)
    classifier = make_classifier(settings, embedder)
    utterances = store.customer_utterances(keys.transcript)
    stored = (
        store.embedded(keys.embed).set_index(["recording_id", "utt_idx"])["vector"]
        if todo and classifier.embedder_id == embedder.model_id
        else None
    )
    for recording_id in todo:
        rows = utterances[utterances["recording_id"] == recording_id]
        texts = rows["text"].tolist()
        labels = classifier.classify_many(texts, _stored_vectors(stored, recording_id, rows))
        utt_frame = pd.DataFrame(
            [
                {
                    "recording_id": recording_id,
                    "utt_idx": int(idx),
                    "classify_key": keys.classify,
                    "sentiment": lab.sentiment,
                    "p_positive": lab.sentiment_scores["positive"],
                    "p_neutral": lab.sentiment_scores["neutral"],
                    "p_negative": lab.sentiment_scores["negative"],
                    "themes": lab.themes,
                    "theme_scores": json.dumps(lab.theme_scores),
                    "threatened": lab.threatened,
                    "evidence": json.dumps(lab.evidence, ensure_ascii=False),
                }
                for idx, lab in zip(rows["utt_idx"], labels, strict=True)
            ]
        )
        # Quotes the recognizer was unsure of carry a visible "(?)" in the report and exports.
        quotes = [
            f"(?) {text}" if unsure else text
            for text, unsure in zip(texts, rows["low_confidence"].fillna(False), strict=True)
        ]
        summary = summarize_interview(labels, quotes, taxonomy)
        interview = pd.DataFrame(
            [
                {
                    "recording_id": recording_id,
                    "classify_key": keys.classify,
                    "sentiment": summary.sentiment,
                    "themes": summary.themes,
                    "threatened": summary.threatened,
                    "empathy_score": summary.empathy_score,
                    "n_utterances": len(texts),
                    "quotes": json.dumps(summary.quotes, ensure_ascii=False),
                }
            ]
        )
        store.save_labels(recording_id, keys.classify, utt_frame, interview)
        checkpoint("classified")
    return {"classified": len(todo), "cached": len(transcribed & done)}


def _stored_vectors(stored: pd.Series | None, recording_id: str, rows: pd.DataFrame) -> Any:
    """This recording's stored embeddings in utterance order, or None if any is missing."""
    if stored is None:
        return None
    index = [(recording_id, int(i)) for i in rows["utt_idx"]]
    if not all(i in stored.index for i in index):
        return None
    import numpy as np

    return np.vstack([stored.loc[i] for i in index]) if index else None


# -- embed + topics ------------------------------------------------------------------------
def embed_pending(
    store: Store, keys: StageKeys, embedder: Embedder, force: bool = False
) -> dict[str, int]:
    """Embed customer utterances once per recording and embed key (`force`: all again)."""
    utterances = store.customer_utterances(keys.transcript)
    done = set() if force else set(store.embedded(keys.embed)["recording_id"])
    todo = sorted(set(utterances["recording_id"]) - done)
    if todo:
        rows = utterances[utterances["recording_id"].isin(todo)]
        vectors = embedder.embed(rows["text"].tolist())
        frame = rows[["recording_id", "utt_idx"]].assign(embed_key=keys.embed, vector=list(vectors))
        for recording_id, part in frame.groupby("recording_id"):
            store.save_embeddings(str(recording_id), keys.embed, part)
    return {"embedded": len(todo), "cached": len(done)}


def topics_lineage(settings: Settings, keys: StageKeys) -> str:
    """Topic IDs are stable within a lineage: one topics config on one set of embeddings."""
    return settings.stage_key("topics", extra=[keys.embed])


def _topic_corpus(store: Store, settings: Settings, keys: StageKeys) -> pd.DataFrame:
    """Customer utterances long enough to carry a topic, with their stored embeddings."""
    utterances = store.customer_utterances(keys.transcript)
    vectors = store.embedded(keys.embed)
    merged = utterances.merge(vectors, on=["recording_id", "utt_idx"], how="inner")
    long_enough = merged["text"].str.split().str.len() >= settings.topics.min_words
    return merged[long_enough].reset_index(drop=True)


def _matrix(corpus: pd.DataFrame) -> Any:
    import numpy as np

    return np.vstack(corpus["vector"].to_numpy()) if len(corpus) else np.zeros((0, 1))


def topics_stage(
    store: Store,
    settings: Settings,
    keys: StageKeys,
    refit: bool = False,
    embedder: Embedder | None = None,
) -> dict[str, object]:
    """Assign new utterances to the current topics; fit only when there are none (or refit).

    Existing utterances keep their topic ID across runs. A refit maps its topics onto the old
    IDs by topic-embedding similarity (`topics.match_similarity`) and lists new and vanished ones.
    """
    lineage = topics_lineage(settings, keys)
    current = store.current_topics(lineage)
    corpus = _topic_corpus(store, settings, keys)
    if current is None or refit:
        return _fit_generation(store, settings, lineage, current, corpus, embedder)
    key = str(current["topics_key"])
    done = store.query(
        "SELECT recording_id, utt_idx FROM topic_assignments WHERE topics_key = ?", [key]
    )
    pending = corpus.merge(done, on=["recording_id", "utt_idx"], how="left", indicator=True)
    pending = pending[pending["_merge"] == "left_only"]
    if pending.empty:
        return {"topics_key": key, "fitted": False, "assigned": 0}
    mapping = {int(k): int(v) for k, v in json.loads(current["mapping"]).items()}
    model = load_model(Path(current["model_dir"]))
    found = assign(model, pending["text"].tolist(), _matrix(pending))
    frame = pd.DataFrame(
        {
            "topics_key": key,
            "recording_id": pending["recording_id"].to_numpy(),
            "utt_idx": pending["utt_idx"].to_numpy(),
            "topic_id": [mapping.get(t, -1) for t in found],
        }
    )
    store.append_topic_assignments(key, frame)
    return {"topics_key": key, "fitted": False, "assigned": len(frame)}


def _fit_generation(
    store: Store,
    settings: Settings,
    lineage: str,
    current: dict | None,
    corpus: pd.DataFrame,
    embedder: Embedder | None,
) -> dict[str, object]:
    seq = _last_seq(store, lineage) + 1
    key = f"{lineage}-{seq}"
    old = _stable_vectors(current) if current else {}
    start = _largest_first(store, current, old)
    if start is None and settings.topics.seed_with_themes:
        start = theme_seeds(
            load_taxonomy(settings.themes_file), embedder or make_embedder(settings.embed)
        )
    fit = fit_topics(
        corpus["text"].tolist(), _matrix(corpus), settings.topics, start=start, embedder=embedder
    )
    row = {
        "topics_key": key,
        "fitted_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
        "n_docs": len(corpus),
        "n_topics": len(fit.info),
        "method": fit.method,
        "note": fit.note,
    }
    if fit.model is None:  # too few utterances: say so, keep any earlier generation current
        store.save_topics(key, row, None, None)
        return {"topics_key": key, "fitted": False, "n_topics": 0, "note": fit.note}
    match = match_topics(
        old,
        topic_vectors(fit.model),
        settings.topics.match_similarity,
        _next_topic_id(store, lineage),
    )
    stable = fit.assignments["topic_id"].map(lambda t: match.mapping.get(int(t), -1))
    assignments = pd.DataFrame(
        {
            "topics_key": key,
            "recording_id": corpus["recording_id"].iloc[fit.assignments["doc_index"]].to_numpy(),
            "utt_idx": corpus["utt_idx"].iloc[fit.assignments["doc_index"]].to_numpy(),
            "topic_id": stable.to_numpy(),
        }
    )
    info = fit.info.assign(
        topics_key=key,
        topic_id=fit.info["topic_id"].map(lambda t: match.mapping.get(int(t), -1)),
        quotes=fit.info["quotes"].map(json.dumps),
    )
    model_dir = store.data_dir / "topics" / key
    save_model(fit.model, model_dir, {"topics_key": key, "lineage": lineage} | row)
    store.save_topics(key, row, info, assignments)
    checkpoint("topics-saved")
    store.save_topic_generation(
        {
            "lineage": lineage,
            "seq": seq,
            "topics_key": key,
            "created_at": row["fitted_at"],
            "model_dir": str(model_dir),
            "mapping": json.dumps(match.mapping),
            "kept": match.kept,
            "added": match.added,
            "vanished": match.vanished,
        }
    )
    return {
        "topics_key": key,
        "fitted": True,
        "n_topics": len(fit.info),
        "note": fit.note,
        "kept": match.kept,
        "added": match.added,
        "vanished": match.vanished,
    }


def _stable_vectors(generation: dict) -> dict[int, Any]:
    """Topic embeddings of a stored generation, keyed by stable ID."""
    mapping = {int(k): int(v) for k, v in json.loads(generation["mapping"]).items()}
    vectors = topic_vectors(load_model(Path(generation["model_dir"])))
    return {mapping[t]: v for t, v in vectors.items() if t in mapping}


def _largest_first(store: Store, current: dict | None, vectors: dict[int, Any]) -> Any:
    """The previous generation's topic embeddings, largest topic first (None: no previous)."""
    if current is None or not vectors:
        return None
    import numpy as np

    sizes = store.query(
        "SELECT topic_id, size FROM topic_info WHERE topics_key = ?", [current["topics_key"]]
    )
    size = dict(zip(sizes["topic_id"].astype(int), sizes["size"], strict=True))
    order = sorted(vectors, key=lambda t: -size.get(t, 0))
    return np.vstack([vectors[t] for t in order])


def _last_seq(store: Store, lineage: str) -> int:
    seq = store.query("SELECT max(seq) AS s FROM topic_generations WHERE lineage = ?", [lineage])
    return 0 if pd.isna(seq["s"].iloc[0]) else int(seq["s"].iloc[0])


def _next_topic_id(store: Store, lineage: str) -> int:
    """One past every ID this lineage ever used or named: IDs are never reused."""
    generations = store.query("SELECT mapping FROM topic_generations WHERE lineage = ?", [lineage])[
        "mapping"
    ]
    used = [int(v) for m in generations for v in json.loads(m).values()]
    used += list(store.topic_names(lineage))
    return max(used, default=-1) + 1


def topic_names(store: Store, settings: Settings, lineage: str) -> dict[int, str]:
    """Analysts' topic names: `ascolto topics rename`, overridden by `configs/topics.yaml`.

    The YAML file (`names: {7: "Minacce di azioni legali"}`) is optional; IDs are stable across
    assignments and refits, so a name given once stays with its topic.
    """
    names = store.topic_names(lineage)
    path = settings.topics_file
    if not path.is_file():
        return names
    raw = load_yaml(path) or {}
    chosen = raw.get("names") if isinstance(raw, dict) else None
    if not isinstance(chosen, dict) or not all(
        isinstance(k, int) and isinstance(v, str) for k, v in chosen.items()
    ):
        raise ConfigError(f'{path}: expected `names:` mapping topic IDs to labels, e.g. 7: "..."')
    return names | {k: v.strip() for k, v in chosen.items() if v.strip()}


def topic_table(store: Store, topics_key: str, names: dict[int, str]) -> pd.DataFrame:
    """One row per topic with the share of each agency's interviews that mention it."""
    info = store.query(
        "SELECT topic_id, label, size, top_words FROM topic_info WHERE topics_key = ? "
        "ORDER BY topic_id",
        [topics_key],
    )
    shares = store.query(
        "WITH per AS (SELECT DISTINCT a.topic_id, r.agency_id, a.recording_id "
        "FROM topic_assignments a JOIN recordings r USING (recording_id) WHERE a.topics_key = ?), "
        "tot AS (SELECT agency_id, count(DISTINCT recording_id) AS n FROM per GROUP BY agency_id) "
        "SELECT per.topic_id, per.agency_id, round(100.0 * count(*) / any_value(tot.n)) AS pct "
        "FROM per JOIN tot USING (agency_id) GROUP BY per.topic_id, per.agency_id",
        [topics_key],
    )
    wide = shares.pivot_table(index="topic_id", columns="agency_id", values="pct", fill_value=0)
    wide.columns = [f"% {c}" for c in wide.columns]
    info["label"] = [
        names.get(int(t), label) for t, label in zip(info["topic_id"], info["label"], strict=True)
    ]
    return info.merge(wide, left_on="topic_id", right_index=True, how="left")


# -- scoring + report ----------------------------------------------------------------------
def interviews_frame(store: Store, keys: StageKeys) -> pd.DataFrame:
    """Interview labels joined to recording metadata, for the current keys."""
    return store.interview_labels(keys.classify)


def score(store: Store, settings: Settings, keys: StageKeys, run_id: str) -> pd.DataFrame:
    """Compute and store the agency scorecard."""
    cases = store.query("SELECT * FROM cases")
    scorecard = agency_scorecard(interviews_frame(store, keys), cases, settings.scoring)
    store.save_scorecard(run_id, scorecard)
    return scorecard


BENCHMARK_ID = "__others__"


def _month(day: date | None) -> date | None:
    return day.replace(day=1) if day else None


def _in_period(frame: pd.DataFrame, column: str, period: Period) -> pd.DataFrame:
    """Rows whose date column falls in the period (both ends included, None: open)."""
    first, last = period
    if first is None and last is None:
        return frame
    dates = pd.to_datetime(frame[column]).dt.date
    keep = pd.Series(True, index=frame.index)
    if first is not None:
        keep &= dates >= first
    if last is not None:
        keep &= dates <= last
    return frame[keep.fillna(False).astype(bool)]


def report_data(
    store: Store,
    settings: Settings,
    keys: StageKeys,
    topics_key_: str,
    run_id: str,
    notice: str = "",
    agency: str | None = None,
    language: str | None = None,
    period: Period = (None, None),
) -> ReportData:
    """Everything the report shows, from the store.

    With `agency`, the report is for that agency alone: every other agency is pooled into one
    anonymous benchmark row, and nothing that names or quotes another agency is included.
    With `period` (first and last interview date, either open), only interviews in it count,
    and only the cases they belong to.
    """
    lang = language or settings.report.language
    taxonomy = load_taxonomy(settings.themes_file)
    interviews = _in_period(interviews_frame(store, keys), "interview_date", period)
    cases = store.query("SELECT * FROM cases")
    if period != (None, None):
        cases = cases[cases["case_id"].isin(interviews["case_id"])]
    if agency is not None:
        known = set(interviews["agency_id"]) | set(cases["agency_id"])
        if agency not in known:
            raise ValueError(f"agency {agency!r} not in the store; known: {sorted(known)}")
        interviews, cases = _pool_others(interviews, agency), _pool_others(cases, agency)
    scorecard = agency_scorecard(interviews, cases, settings.scoring)
    agencies = scorecard["agency_id"].tolist()
    theme_rows = _theme_rows(interviews, agencies, taxonomy, lang)
    verbatims = _verbatims(interviews[interviews["agency_id"] != BENCHMARK_ID], taxonomy, lang,
                           settings.report.quotes_per_theme)  # fmt: skip
    table = case_table(interviews, cases, settings.scoring.churn_window_days)
    found = [{"key": f.key, "sentence": sentence(f, lang)} for f in findings(table)]
    info = store.query(
        "SELECT * FROM topic_info WHERE topics_key = ? ORDER BY size DESC", [topics_key_]
    )
    model = store.query("SELECT * FROM topic_models WHERE topics_key = ?", [topics_key_])
    names = topic_names(store, settings, topics_key_.rsplit("-", 1)[0])
    views = (
        store.query(
            "SELECT * FROM topic_utterances WHERE topics_key = ? AND classify_key = ?",
            [topics_key_, keys.classify],
        )
        if store.has("topic_utterances")
        else pd.DataFrame(
            columns=[
                "topic_id",
                "recording_id",
                "utt_idx",
                "agency_id",
                "month",
                "sentiment",
                "threatened",
            ]
        )  # fmt: skip
    )
    views = _in_period(views, "month", (_month(period[0]), period[1]))
    if agency is not None:
        views = _pool_others(views, agency)
    topics = [
        # topic examples may quote any agency: an agency's own report shows keywords only
        dict(
            r,
            label=names.get(int(r["topic_id"]), r["label"]),
            quotes=json.loads(r["quotes"]) if agency is None else [],
        )
        | _topic_view(views, int(r["topic_id"]), agencies)
        for r in info.to_dict(orient="records")
    ]
    quarantine = store.query(
        "SELECT source, row_number, reason FROM quarantine WHERE run_id = ?", [run_id]
    )
    labels = LABELS[lang]
    shown = scorecard.assign(
        agency_id=scorecard["agency_id"].replace({BENCHMARK_ID: labels["benchmark"]})
    )
    charts = {
        "scatter": empathy_vs_recovery(shown, labels, first=True),
        "themes": themes_by_agency(theme_rows, shown["agency_id"].tolist(), first=False),
        "trend": monthly_trend(
            interviews, {BENCHMARK_ID: labels["benchmark"]}, labels, first=False
        ),
        "losses": losses(shown, labels, first=False),
    }
    if topics:
        topic_rows = [
            {"label": f"{t['topic_id']} · {t['label']}", "threat": False, "shares": t["shares"]}
            for t in topics
        ]
        charts["topics"] = themes_by_agency(topic_rows, shown["agency_id"].tolist(), first=False)
        charts["topics_trend"] = topics_by_month(views, {t["topic_id"]: t["label"] for t in topics})
    return ReportData(
        scorecard=shown,
        theme_rows=theme_rows,
        topics=topics,
        verbatims=verbatims,
        meta=_report_meta(store, keys, interviews, model, topics_key_, run_id, notice),
        topics_note=str(model["note"].iloc[0]) if len(model) else "",
        quarantine=quarantine.to_dict(orient="records") if agency is None else [],
        findings=found,
        charts=charts,
    )


def _topic_view(views: pd.DataFrame, topic_id: int, agencies: list[str]) -> dict[str, Any]:
    """Share of each agency's interviews with the topic, and how its utterances were labelled."""
    mine = views[views["topic_id"] == topic_id]
    shares = []
    for agency in agencies:
        interviews = views.loc[views["agency_id"] == agency, "recording_id"].nunique()
        with_topic = mine.loc[mine["agency_id"] == agency, "recording_id"].nunique()
        shares.append(with_topic / interviews if interviews else None)
    return {
        "shares": shares,
        "threatened_share": float(mine["threatened"].mean()) if len(mine) else None,
        "negative_share": float((mine["sentiment"] == "negative").mean()) if len(mine) else None,
    }


def _pool_others(frame: pd.DataFrame, agency: str) -> pd.DataFrame:
    return frame.assign(
        agency_id=frame["agency_id"].where(frame["agency_id"] == agency, BENCHMARK_ID)
    )


def _theme_rows(
    interviews: pd.DataFrame, agencies: list[str], taxonomy: Taxonomy, lang: str
) -> list[dict]:
    rows = []
    for theme in taxonomy.themes:
        shares = []
        for agency in agencies:
            sub = interviews[interviews["agency_id"] == agency]
            has = sub["themes"].map(lambda ts, c=theme.code: c in list(ts))
            shares.append(float(has.mean()) if len(sub) else None)
        rows.append(
            {
                "label": taxonomy.label(theme.code, lang),
                "threat": theme.code in taxonomy.threatened,
                "shares": shares,
            }
        )
    return rows


def _verbatims(
    interviews: pd.DataFrame, taxonomy: Taxonomy, lang: str, per_theme: int
) -> list[dict]:
    blocks = []
    for theme in taxonomy.themes:
        quotes = [
            {"text": text, "agency_id": row["agency_id"]}
            for _, row in interviews.iterrows()
            for text in json.loads(row["quotes"]).get(theme.code, [])
        ]
        if quotes:
            blocks.append({"label": taxonomy.label(theme.code, lang), "quotes": quotes[:per_theme]})
    return blocks


def _report_meta(
    store: Store,
    keys: StageKeys,
    interviews: pd.DataFrame,
    model: pd.DataFrame,
    topics_key_: str,
    run_id: str,
    notice: str,
) -> dict:
    n_utt = store.query(
        "SELECT count(*) AS n FROM utterance_labels WHERE classify_key = ?", [keys.classify]
    )["n"].iloc[0]
    models = store.query(
        "SELECT DISTINCT backend, model FROM transcripts WHERE transcript_key = ?",
        [keys.transcript],
    )
    return {
        "generated_at": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
        "n_interviews": len(interviews),
        "n_utterances": int(n_utt),
        "config_hash": keys.classify,
        "notice": notice,
        "provenance": {
            "ascolto": __version__,
            "ASR": "; ".join(f"{b} {m}" for b, m in models.itertuples(index=False)) or "–",
            "transcript key": keys.transcript,
            "classify key": keys.classify,
            "classifier": keys.classifier,
            "embed key": keys.embed,
            "topics": f"{model['method'].iloc[0]} ({topics_key_})" if len(model) else "–",
            "run": run_id,
        },
    }


def build_report(
    store: Store,
    settings: Settings,
    keys: StageKeys,
    topics_key_: str,
    run_id: str,
    out: Path,
    notice: str = "",
    agency: str | None = None,
    language: str | None = None,
    period: Period = (None, None),
) -> Path:
    """Assemble the report data from the store and write the HTML file."""
    data = report_data(store, settings, keys, topics_key_, run_id, notice, agency, language, period)
    return write_atomic(out, render_html(data, language or settings.report.language))


def default_embedder(settings: Settings) -> Embedder:
    """The configured embedder (kept here so flows need not know the backends)."""
    return make_embedder(settings.embed)
