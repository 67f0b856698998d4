"""Embed stage: one vector per customer utterance and embed key, reused by classify and topics."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.embed import Embedder, make_embedder
from pipeline.stages.keys import StageKeys
from pipeline.store import Store


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


def default_embedder(settings: Settings) -> Embedder:
    """The configured embedder (kept here so flows need not know the backends)."""
    return make_embedder(settings.embed)
