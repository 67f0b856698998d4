"""Topics of customer utterances with BERTopic, on embeddings computed once upstream.

v1 choices, for small corpora: no UMAP (identity reduction: k-means works on the normalised
embeddings directly) and k-means instead of HDBSCAN, whose default settings collapse a few hundred
short Italian sentences into two or three clusters. k is `topics.n_topics`, or with "auto"
round(sqrt(n / 2)) clamped to 2..12. Topic words use Italian stop words (spaCy) and n-grams 1-2.
Utterances shorter than `topics.min_words` words (answers such as "Direi otto.") are left out,
and below `topics.min_utterances` no topics are fitted: on so few texts they would be noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.config import TopicsConfig

# Spoken fillers and redaction placeholders carry no topic.
FILLERS = {
    "ehm",
    "cioè",
    "allora",
    "niente",
    "insomma",
    "diciamo",
    "praticamente",
    "comunque",
    "beh",
    "boh",
    "ecco",
    "sì",
    "no",
    "ok",
    "okay",
    "va",
    "bene",
    "direi",
    "mi",
    "hanno",
    "ha",
    "nome",
    "telefono",
    "email",
    "iban",
    "cf",
    "carta",
    "indirizzo",
}


@dataclass
class TopicFit:
    """Assignments (one row per document) and topic descriptions, or a note saying why none."""

    assignments: pd.DataFrame  # columns: doc_index, topic_id
    info: pd.DataFrame  # columns: topic_id, label, size, top_words, quotes
    method: str
    note: str = ""


def italian_stop_words() -> list[str]:
    """SpaCy's Italian stop words plus spoken fillers."""
    from spacy.lang.it.stop_words import STOP_WORDS

    return sorted(set(STOP_WORDS) | FILLERS)


def choose_k(n_docs: int, config: TopicsConfig) -> int:
    """Number of clusters: configured, or round(sqrt(n/2)) within 2..12."""
    if config.n_topics != "auto":
        return int(config.n_topics)
    return int(min(12, max(2, round(math.sqrt(n_docs / 2)))))


def fit_topics(texts: list[str], embeddings: np.ndarray, config: TopicsConfig) -> TopicFit:
    """Fit BERTopic on redacted customer utterances with precomputed embeddings."""
    empty = TopicFit(
        pd.DataFrame(columns=["doc_index", "topic_id"]),
        pd.DataFrame(columns=["topic_id", "label", "size", "top_words", "quotes"]),
        method="none",
    )
    kept = [i for i, text in enumerate(texts) if len(text.split()) >= config.min_words]
    if len(kept) < config.min_utterances:
        empty.note = (
            f"{len(kept)} customer utterances of at least {config.min_words} words, fewer than "
            f"topics.min_utterances={config.min_utterances}: no topics fitted"
        )
        return empty
    texts = [texts[i] for i in kept]
    embeddings = embeddings[kept]
    from bertopic import BERTopic  # deferred: a cold import takes many seconds
    from bertopic.dimensionality import BaseDimensionalityReduction
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import CountVectorizer

    k = choose_k(len(texts), config)
    model = BERTopic(
        # Any language but "english": BERTopic's English preprocessing deletes every non-ASCII
        # character ("già" -> "gi"). With embeddings passed in, no model is downloaded.
        language="multilingual",
        umap_model=BaseDimensionalityReduction(),
        hdbscan_model=KMeans(n_clusters=k, random_state=config.seed, n_init=10),
        vectorizer_model=CountVectorizer(stop_words=italian_stop_words(), ngram_range=(1, 2)),
        calculate_probabilities=False,
    )
    topics, _ = model.fit_transform(texts, embeddings=embeddings)
    rows = []
    representative = model.get_representative_docs() or {}
    for topic_id in sorted(set(topics)):
        words = [w for w, _ in (model.get_topic(topic_id) or [])][:8]
        rows.append(
            {
                "topic_id": int(topic_id),
                "label": readable_label(words) or f"topic {topic_id}",
                "size": int(sum(1 for t in topics if t == topic_id)),
                "top_words": ", ".join(words),
                "quotes": list(representative.get(topic_id, []))[:3],
            }
        )
    return TopicFit(
        assignments=pd.DataFrame({"doc_index": kept, "topic_id": [int(t) for t in topics]}),
        info=pd.DataFrame(rows),
        method=f"bertopic-kmeans(k={k},seed={config.seed})",
    )


def readable_label(keywords: list[str], size: int = 3) -> str:
    """Up to `size` keyphrases, skipping any whose words all appeared in earlier ones."""
    chosen: list[str] = []
    seen: set[str] = set()
    for phrase in keywords:
        words = set(phrase.split())
        if words and not words <= seen:
            chosen.append(phrase)
            seen |= words
        if len(chosen) == size:
            break
    return " · ".join(chosen)
