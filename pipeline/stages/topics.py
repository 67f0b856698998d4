"""Topics stage: assign new utterances to stable topic IDs, fit or refit generations."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from pipeline.classify.taxonomy import load_taxonomy
from pipeline.config import ConfigError, Settings, load_yaml
from pipeline.embed import Embedder, make_embedder
from pipeline.faults import checkpoint
from pipeline.stages.keys import StageKeys
from pipeline.store import Store
from pipeline.topics import (
    assign,
    fit_topics,
    load_model,
    match_topics,
    save_model,
    saved_topic_vectors,
    theme_seeds,
    topic_vectors,
)


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
    done = store.topic_assigned(key)
    pending = corpus.merge(done, on=["recording_id", "utt_idx"], how="left", indicator=True)
    pending = pending[pending["_merge"] == "left_only"]
    if pending.empty:
        return {"topics_key": key, "fitted": False, "assigned": 0}
    mapping = {int(k): int(v) for k, v in json.loads(current["mapping"]).items()}
    model = load_model(store.resolve(str(current["model_dir"])))
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
    old = _stable_vectors(store, current) if current else {}
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
            "model_dir": store.relative(model_dir),
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


def _stable_vectors(store: Store, generation: dict) -> dict[int, Any]:
    """Topic embeddings of a stored generation, keyed by stable ID."""
    mapping = {int(k): int(v) for k, v in json.loads(generation["mapping"]).items()}
    vectors = saved_topic_vectors(store.resolve(str(generation["model_dir"])))
    return {mapping[t]: v for t, v in vectors.items() if t in mapping}


def _largest_first(store: Store, current: dict | None, vectors: dict[int, Any]) -> Any:
    """The previous generation's topic embeddings, largest topic first (None: no previous)."""
    if current is None or not vectors:
        return None
    import numpy as np

    size = store.topic_sizes(str(current["topics_key"]))
    order = sorted(vectors, key=lambda t: -size.get(t, 0))
    return np.vstack([vectors[t] for t in order])


def _last_seq(store: Store, lineage: str) -> int:
    return store.last_topic_seq(lineage)


def _next_topic_id(store: Store, lineage: str) -> int:
    """One past every ID this lineage ever used or named: IDs are never reused."""
    used = [int(v) for m in store.topic_mappings(lineage) for v in json.loads(m).values()]
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
    info = store.topic_info(topics_key, order="topic_id")[
        ["topic_id", "label", "size", "top_words"]
    ]
    shares = store.topic_agency_shares(topics_key)
    wide = shares.pivot_table(index="topic_id", columns="agency_id", values="pct", fill_value=0)
    wide.columns = [f"% {c}" for c in wide.columns]
    info["label"] = [
        names.get(int(t), label) for t, label in zip(info["topic_id"], info["label"], strict=True)
    ]
    return info.merge(wide, left_on="topic_id", right_index=True, how="left")
