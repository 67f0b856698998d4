"""The stages in data-flow order, each in its own module; flows and the CLI call these.

ingest -> transcribe (decode, ASR, roles, redact) -> embed -> classify -> topics -> scoring ->
report. Each stage reads what it needs from the store, does only the work its key says is
missing, and writes its outputs back. Keys chain (`keys.StageKeys`): transcript -> classify /
embed -> topics, so a changed classifier reruns classification and never transcription.
"""

from pipeline.stages.classify import classify_pending
from pipeline.stages.embed import default_embedder, embed_pending
from pipeline.stages.ingest import ingest
from pipeline.stages.keys import StageKeys
from pipeline.stages.report import build_report, report_data
from pipeline.stages.scoring import interviews_frame, score
from pipeline.stages.topics import topic_names, topic_table, topics_lineage, topics_stage
from pipeline.stages.transcribe import save_transcript, transcribe_audio, transcribe_recording

__all__ = [
    "StageKeys",
    "build_report",
    "classify_pending",
    "default_embedder",
    "embed_pending",
    "ingest",
    "interviews_frame",
    "report_data",
    "save_transcript",
    "score",
    "topic_names",
    "topic_table",
    "topics_lineage",
    "topics_stage",
    "transcribe_audio",
    "transcribe_recording",
]
