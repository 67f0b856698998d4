"""Topics of customer utterances with BERTopic, on embeddings computed once upstream.

Choices, measured in `benchmarks/topics.py`: no UMAP (identity reduction: k-means works on the
normalised embeddings directly) and k-means instead of HDBSCAN, whose default settings leave a
third of short Italian sentences as outliers; k-means starts from the centroids of a Ward
clustering (deterministic, no seed), or at a refit from the current topics.
k is `topics.n_topics`, or with "auto"
round(sqrt(n / 2)) clamped to 2..12. Topic words are spaCy lookup lemmas ("minacciato",
"minacciavano" -> "minacciare") without Italian stop words and spoken fillers, n-grams 1-2,
re-ranked by `topics.representation` (MaximalMarginalRelevance by default, so a label does not
repeat one word in three forms).
Utterances shorter than `topics.min_words` words (answers such as "Direi otto.") are left out,
and below `topics.min_utterances` no topics are fitted: on so few texts they would be noise.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import TopicsConfig
from pipeline.imports import import_bertopic, spacy_stop_words

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
    model: object | None = None  # the fitted BERTopic, when topics were fitted


def italian_stop_words() -> list[str]:
    """SpaCy's Italian stop words plus spoken fillers."""
    return sorted(spacy_stop_words("it") | FILLERS)


class LemmaTokenizer:
    """CountVectorizer tokenizer: lower-cased spaCy lookup lemmas, stop words and fillers dropped.

    Lemmas group inflections ("minacciato", "minacciavano"), but the lookup tables also turn
    nouns into verbs ("fattura" -> "fatturare"), so labels show each lemma as the form customers
    said most often (`display`). Stop words are checked on the spoken word and on its lemma.
    BERTopic's safetensors format does not keep a tokenizer, so a loaded model has the vocabulary
    only; that is enough for `transform` with embeddings, which never tokenizes.
    """

    def __init__(self) -> None:
        self._nlp: Any = None
        self._stop = frozenset(italian_stop_words())
        self._said: dict[str, Counter[str]] = {}

    def __call__(self, text: str) -> list[str]:
        """Content lemmas of one text, in order."""
        if self._nlp is None:
            from pipeline.classify.cues import italian_nlp

            self._nlp = italian_nlp()
        lemmas = []
        for token in self._nlp(text.lower()):
            lemma = token.lemma_.lower() or token.lower_
            if token.is_alpha and len(token) > 1 and not {token.lower_, lemma} & self._stop:
                lemmas.append(lemma)
                self._said.setdefault(lemma, Counter())[token.lower_] += 1
        return lemmas

    def display(self, phrase: str) -> str:
        """A lemma n-gram in the words customers used most often."""
        return " ".join(
            self._said[w].most_common(1)[0][0] if w in self._said else w for w in phrase.split()
        )


def _embedder_backend(embedder: Any) -> Any:
    """Our embedder seen as a BERTopic backend, for word-level representations (MMR, KeyBERT).

    Defined here rather than at import: importing BERTopic takes seconds.
    """
    import_bertopic()
    from bertopic.backend import BaseEmbedder

    class EmbedderBackend(BaseEmbedder):  # type: ignore[misc]
        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            return np.asarray(embedder.embed(list(documents)))

    return EmbedderBackend()


def _representation(config: TopicsConfig, embedder: Any) -> Any:
    """BERTopic representation model for `topics.representation` (None: plain c-TF-IDF)."""
    if config.representation == "ctfidf" or embedder is None:
        return None
    import_bertopic()
    from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance

    if config.representation == "keybert":
        return KeyBERTInspired(top_n_words=10, random_state=config.seed)
    return MaximalMarginalRelevance(diversity=0.3, top_n_words=10)


def choose_k(n_docs: int, config: TopicsConfig) -> int:
    """Number of clusters: configured, or round(sqrt(n/2)) within 2..12."""
    if config.n_topics != "auto":
        return int(config.n_topics)
    return int(min(12, max(2, round(math.sqrt(n_docs / 2)))))


def fit_topics(
    texts: list[str],
    embeddings: np.ndarray,
    config: TopicsConfig,
    start: np.ndarray | None = None,
    embedder: Any = None,
) -> TopicFit:
    """Fit BERTopic on redacted customer utterances with precomputed embeddings.

    `embedder` (the one that made `embeddings`) embeds candidate topic words for the MMR or
    KeyBERT representation; without it topic words are plain c-TF-IDF.

    `start`: topic embeddings of the previous generation (largest first). A refit starts k-means
    from them, so topics move only as far as the data pulls them and keep their identity; with
    random starts, k-means on a few hundred short sentences regroups topics from one fit to the
    next (measured: 7 of 9 topics kept after dropping 5% of the demo, against 9 of 9 warm).
    """
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
    import_bertopic()  # deferred: a cold import takes seconds
    from bertopic import BERTopic
    from bertopic.dimensionality import BaseDimensionalityReduction
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import CountVectorizer

    distinct = len({" ".join(t.lower().split()) for t in texts})
    if distinct < 2:
        empty.note = f"{len(texts)} utterances but fewer than 2 distinct ones: no topics fitted"
        return empty
    if embedder is not None and embedder.embed(["prova"]).shape[1] != embeddings.shape[1]:
        raise ValueError(
            f"the embedder {getattr(embedder, 'model_id', embedder)!r} does not match the "
            f"embeddings ({embeddings.shape[1]} dimensions): pass the embedder that made them"
        )
    k = choose_k(len(texts), config)
    if start is not None and config.n_topics == "auto":
        k = max(k, len(start))  # a refit or a seeded fit never has fewer topics than its start
    k = min(k, distinct)
    if start is not None and len(start):
        kmeans = KMeans(n_clusters=k, init=_initial_centroids(start, embeddings, k), n_init=1)
    elif config.init == "ward":
        kmeans = KMeans(n_clusters=k, init=_ward_centroids(embeddings, k), n_init=1)
    else:
        kmeans = KMeans(n_clusters=k, random_state=config.seed, n_init=10)
    tokenizer = LemmaTokenizer()
    model = BERTopic(
        # Any language but "english": BERTopic's English preprocessing deletes every non-ASCII
        # character ("già" -> "gi"). With embeddings passed in, no model is downloaded.
        language="multilingual",
        umap_model=BaseDimensionalityReduction(),
        hdbscan_model=kmeans,
        vectorizer_model=CountVectorizer(
            tokenizer=tokenizer, lowercase=False, token_pattern=None, ngram_range=(1, 2)
        ),
        embedding_model=_embedder_backend(embedder) if embedder is not None else None,
        representation_model=_representation(config, embedder),
        calculate_probabilities=False,
    )
    topics, _ = model.fit_transform(texts, embeddings=embeddings)
    rows = []
    representative = model.get_representative_docs() or {}
    for topic_id in sorted(set(topics)):
        words = [tokenizer.display(w) for w, _ in (model.get_topic(topic_id) or []) if w][:8]
        quotes = list(dict.fromkeys(representative.get(topic_id, [])))[:3]
        rows.append(
            {
                "topic_id": int(topic_id),
                "label": readable_label(words) or _quoted(quotes) or f"topic {topic_id}",
                "size": int(sum(1 for t in topics if t == topic_id)),
                "top_words": ", ".join(words),
                "quotes": quotes,
            }
        )
    return TopicFit(
        assignments=pd.DataFrame({"doc_index": kept, "topic_id": [int(t) for t in topics]}),
        info=pd.DataFrame(rows),
        method=(
            f"bertopic-kmeans(k={k},init={'previous' if start is not None else config.init},"
            f"words={config.representation if embedder is not None else 'ctfidf'})"
        ),
        model=model,
    )


def theme_seeds(taxonomy: Any, embedder: Any) -> np.ndarray:
    """One starting centroid per theme with examples: the mean of its example embeddings."""
    rows = [
        _unit(embedder.embed(list(theme.examples))).mean(axis=0)
        for theme in taxonomy.themes
        if theme.examples
    ]
    return np.vstack(rows) if rows else np.zeros((0, 1))


WARD_SAMPLE = 2000  # Ward needs memory quadratic in its input: it runs on an even sample


def _ward_centroids(embeddings: np.ndarray, k: int) -> np.ndarray:
    """Centroids of a Ward clustering of (an evenly spaced sample of) the embeddings.

    Deterministic, and on our labelled statements better than k-means++ restarts (NMI 0.40 vs
    0.37 with the themes, `benchmarks/topics.py`), whose solutions also vary with the seed.
    """
    from sklearn.cluster import AgglomerativeClustering

    data = np.asarray(embeddings, dtype=np.float64)
    sample = data[:: max(1, int(np.ceil(len(data) / WARD_SAMPLE)))]
    labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(sample)
    return np.stack([sample[labels == i].mean(axis=0) for i in range(k)])


def _initial_centroids(start: np.ndarray, embeddings: np.ndarray, k: int) -> np.ndarray:
    """Starting centroids: the previous topics (largest first), then farthest points.

    Extra centroids (when the corpus now calls for more topics) are the points farthest from
    every centroid chosen so far.
    """
    centroids = [np.asarray(c, dtype=np.float64) for c in start[:k]]
    data = np.asarray(embeddings, dtype=np.float64)
    while len(centroids) < k:
        distance = np.min(
            np.linalg.norm(data[:, None, :] - np.stack(centroids)[None, :, :], axis=2), axis=1
        )
        centroids.append(data[int(np.argmax(distance))])
    return np.stack(centroids)


def _quoted(quotes: list[str], width: int = 60) -> str:
    """Its most representative quote, for a topic whose words are all stop words.

    ("No, va bene così, grazie a lei." has no content word to make a label from.)
    """
    if not quotes:
        return ""
    text = " ".join(quotes[0].split())
    return f"«{text if len(text) <= width else text[: width - 1].rstrip() + '…'}»"


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


# -- lifecycle: persist, assign new batches, refit with stable IDs -------------------------
def _quiet_bertopic() -> None:
    import logging

    logging.getLogger("BERTopic").setLevel(logging.ERROR)


def save_model(model: object, folder: Path, about: dict) -> None:
    """BERTopic's safetensors format (no pickle) plus `ascolto.json` naming the embedder."""
    _quiet_bertopic()
    folder.mkdir(parents=True, exist_ok=True)
    model.save(  # type: ignore[attr-defined]
        str(folder), serialization="safetensors", save_ctfidf=True, save_embedding_model=False
    )
    (folder / "ascolto.json").write_text(json.dumps(about, indent=2, default=str), encoding="utf-8")


def load_model(folder: Path) -> object:
    """A model saved by `save_model`; it assigns by similarity to the topic embeddings."""
    _quiet_bertopic()
    import_bertopic()
    from bertopic import BERTopic

    return BERTopic.load(str(folder))


def saved_topic_vectors(folder: Path) -> dict[int, np.ndarray]:
    """`topic_vectors` of a model saved by `save_model`, read from its files without BERTopic.

    A refit only needs the previous topics' embeddings to keep their IDs; loading the whole
    model would build a UMAP and an HDBSCAN it never uses.
    """
    from safetensors.numpy import load_file

    vectors = load_file(str(folder / "topic_embeddings.safetensors"))["topic_embeddings"]
    offset = int(json.loads((folder / "topics.json").read_text(encoding="utf-8"))["_outliers"])
    return {i - offset: vectors[i] for i in range(len(vectors)) if i - offset >= 0}


def assign(model: object, texts: list[str], embeddings: np.ndarray) -> list[int]:
    """BERTopic topic of each text (its own numbering), without refitting."""
    if not texts:
        return []
    topics, _ = model.transform(texts, embeddings=embeddings)  # type: ignore[attr-defined]
    return [int(t) for t in topics]


def topic_vectors(model: object) -> dict[int, np.ndarray]:
    """Topic embedding per BERTopic topic id (outlier topic -1 excluded)."""
    vectors = np.asarray(model.topic_embeddings_)  # type: ignore[attr-defined]
    offset = int(model._outliers)  # type: ignore[attr-defined]
    return {i - offset: vectors[i] for i in range(len(vectors)) if i - offset >= 0}


@dataclass
class TopicMatch:
    """How a refit's topics map onto the IDs analysts already know."""

    mapping: dict[int, int]  # new model's topic -> stable ID
    kept: list[int]  # stable IDs carried over
    added: list[int]  # stable IDs created by this refit
    vanished: list[int]  # stable IDs with no counterpart any more


def match_topics(
    old: dict[int, np.ndarray], new: dict[int, np.ndarray], min_similarity: float, next_id: int
) -> TopicMatch:
    """One-to-one matching of new topics to old stable IDs (Hungarian, on cosine similarity).

    A pair counts only at `min_similarity` or above; unmatched new topics get fresh IDs from
    `next_id` (IDs are never reused), unmatched old ones are reported as vanished.
    """
    from scipy.optimize import linear_sum_assignment

    mapping: dict[int, int] = {}
    if old and new:
        old_ids, new_ids = sorted(old), sorted(new)
        a = _unit(np.vstack([new[i] for i in new_ids]))
        b = _unit(np.vstack([old[i] for i in old_ids]))
        similarity = a @ b.T
        rows, cols = linear_sum_assignment(-similarity)
        for r, c in zip(rows, cols, strict=True):
            if similarity[r, c] >= min_similarity:
                mapping[new_ids[r]] = old_ids[c]
    kept = sorted(mapping.values())
    added = []
    for topic in sorted(new):
        if topic not in mapping:
            mapping[topic] = next_id
            added.append(next_id)
            next_id += 1
    vanished = sorted(set(old) - set(kept))
    return TopicMatch(mapping, kept, added, vanished)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)
