"""Topic quality, stability and speed: ascolto's settings beside BERTopic's defaults.

    python benchmarks/topics.py [--out benchmarks/results/topics.json]

Data: the statements of `models/training/statements_it.jsonl` that carry exactly one theme (the
theme is the human category). CAUTION: this corpus is ours (written for the classifier), not a
public one; no public labelled Italian corpus can be downloaded on these machines.
Measured per method: NMI and ARI against the themes, ARI between two seeds, outlier share, topic
diversity (unique share of the top-10 words), coherence (mean NPMI of top-10 word pairs, by
co-occurrence within a statement; gensim is not installed), fit time with embeddings precomputed. Then, for
ascolto's method: fit time on 10,000 utterances (the corpus repeated with small noise on the
embeddings, MMR topic words included) and the time to assign a new batch of 1,000 with the saved
model; and the topic words (labels) of each `topics.representation`, with their diversity.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.classify.taxonomy import load_taxonomy  # noqa: E402
from pipeline.config import TopicsConfig, load_settings  # noqa: E402
from pipeline.embed import UseEmbedder  # noqa: E402
from pipeline.topics import (  # noqa: E402
    LemmaTokenizer,
    assign,
    fit_topics,
    italian_stop_words,
    load_model,
    save_model,
    theme_seeds,
)


def corpus() -> tuple[list[str], list[str]]:
    """Single-theme statements and their theme."""
    rows = map(json.loads, (ROOT / "models/training/statements_it.jsonl").read_text().splitlines())
    kept = [r for r in rows if len(r["themes"]) == 1]
    return [r["text"] for r in kept], [r["themes"][0] for r in kept]


def bertopic_defaults(texts: list[str], embeddings: np.ndarray, seed: int) -> list[int]:
    """BERTopic as shipped (UMAP 5-d + HDBSCAN min_cluster_size 10), our lemma tokenizer."""
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer
    from umap import UMAP

    model = BERTopic(
        language="multilingual",
        umap_model=UMAP(
            n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed
        ),
        vectorizer_model=CountVectorizer(tokenizer=LemmaTokenizer(), token_pattern=None),
    )
    topics, _ = model.fit_transform(texts, embeddings=embeddings)
    return [int(t) for t in topics]


def ours(
    texts: list[str],
    embeddings: np.ndarray,
    seed: int,
    n_topics="auto",
    init="ward",
    start: np.ndarray | None = None,
) -> list[int]:
    """ascolto's fit (k-means on the embeddings, k from the corpus size unless given)."""
    config = TopicsConfig(seed=seed, min_words=1, n_topics=n_topics, init=init)
    fit = fit_topics(texts, embeddings, config, start=start)
    out = [-1] * len(texts)
    for i, t in zip(fit.assignments["doc_index"], fit.assignments["topic_id"], strict=True):
        out[int(i)] = int(t)
    return out


def _content_words(text: str, stop: set[str]) -> set[str]:
    return {w for w in text.lower().split() if w.isalpha() and w not in stop}


def top_words(texts: list[str], topics: list[int], n: int = 10) -> list[list[str]]:
    """Each topic's n most frequent content words (outliers excluded)."""
    from collections import Counter

    stop = set(italian_stop_words())
    out = []
    for topic in sorted(set(topics) - {-1}):
        words = Counter(
            w
            for text, t in zip(texts, topics, strict=True)
            if t == topic
            for w in _content_words(text, stop)
        )
        out.append([w for w, _ in words.most_common(n)])
    return out


def diversity(tops: list[list[str]]) -> float:
    """Share of unique words among all topics' top words."""
    flat = [w for words in tops for w in words]
    return round(len(set(flat)) / len(flat), 3) if flat else 0.0


def npmi(texts: list[str], tops: list[list[str]]) -> float:
    """Mean normalised PMI of top-word pairs, by co-occurrence in the same statement (-1..1)."""
    stop = set(italian_stop_words())
    docs = [_content_words(t, stop) for t in texts]
    n = len(docs)
    scores = []
    for words in tops:
        pairs = []
        for i, a in enumerate(words):
            for b in words[i + 1 :]:
                pa = sum(a in d for d in docs) / n
                pb = sum(b in d for d in docs) / n
                pab = sum(a in d and b in d for d in docs) / n
                pairs.append(
                    -1.0
                    if pab == 0
                    else (1.0 if pab == 1 else np.log(pab / (pa * pb)) / -np.log(pab))
                )
        if pairs:
            scores.append(float(np.mean(pairs)))
    return round(float(np.mean(scores)), 3) if scores else 0.0


def measure(name: str, method, texts, embeddings, labels) -> dict:  # noqa: ANN001
    """Agreement with the themes, seed stability, outliers, diversity and time of one method."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    started = time.perf_counter()
    first = method(texts, embeddings, 42)
    elapsed = time.perf_counter() - started
    second = method(texts, embeddings, 7)
    return {
        "method": name,
        "topics": len(set(first) - {-1}),
        "nmi": round(normalized_mutual_info_score(labels, first), 3),
        "ari": round(adjusted_rand_score(labels, first), 3),
        "ari_between_seeds": round(adjusted_rand_score(first, second), 3),
        "outlier_share": round(sum(t == -1 for t in first) / len(first), 3),
        "diversity": diversity(top_words(texts, first)),
        "npmi": npmi(texts, top_words(texts, first)),
        "fit_seconds": round(elapsed, 2),
    }


def representations(texts: list[str], embeddings: np.ndarray, embedder) -> list[dict]:  # noqa: ANN001
    """Topic words of ascolto's default clustering under each `topics.representation`.

    Diversity and NPMI here are of the words the model reports (labels), split into single
    words, unlike `measure`, which counts raw words per cluster.
    """
    rows = []
    for name in ("ctfidf", "mmr", "keybert"):
        config = TopicsConfig(min_words=1, representation=name)
        started = time.perf_counter()
        fit = fit_topics(texts, embeddings, config, embedder=embedder)
        elapsed = time.perf_counter() - started
        tops = [
            list(dict.fromkeys(w for phrase in words.split(", ") for w in phrase.split()))[:10]
            for words in fit.info["top_words"]
        ]
        rows.append(
            {
                "representation": name,
                "diversity": diversity(tops),
                "npmi": npmi(texts, tops),
                "fit_seconds": round(elapsed, 2),
                "labels": fit.info["label"].tolist(),
            }
        )
    return rows


def scale(texts: list[str], embeddings: np.ndarray, embedder) -> dict:  # noqa: ANN001
    """Fit 10,000 utterances, save, load, and assign a new batch of 1,000 (ascolto's method)."""
    rng = np.random.default_rng(0)
    reps = int(np.ceil(10_000 / len(texts)))
    big_texts = (texts * reps)[:10_000]
    noisy = np.tile(embeddings, (reps, 1))[:10_000] + rng.normal(
        0, 0.02, (10_000, embeddings.shape[1])
    )
    noisy = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)
    started = time.perf_counter()
    fit = fit_topics(big_texts, noisy, TopicsConfig(min_words=1), embedder=embedder)
    fit_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        save_model(fit.model, Path(folder) / "m", {})
        started = time.perf_counter()
        model = load_model(Path(folder) / "m")
        assign(model, big_texts[:1000], noisy[:1000])
        assign_s = time.perf_counter() - started
    return {
        "fit_10000_seconds": round(fit_s, 2),
        "load_and_assign_1000_seconds": round(assign_s, 2),
    }


def main() -> None:
    """Write the comparison to JSON and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/topics.json")
    args = parser.parse_args()
    texts, labels = corpus()
    started = time.perf_counter()
    embeddings = UseEmbedder().embed(texts)
    embed_s = time.perf_counter() - started
    ours(texts[:100], embeddings[:100], 42)  # warm-up: BERTopic's import is not fit time
    seeds = theme_seeds(load_taxonomy(load_settings().themes_file), UseEmbedder())
    rows = [
        measure("ascolto default: k-means from Ward, k auto", ours, texts, embeddings, labels),
        measure(
            "k-means++ restarts (init: random), k auto",
            lambda t, e, s: ours(t, e, s, init="random"),
            texts,
            embeddings,
            labels,
        ),  # fmt: skip
        measure(
            "k-means from Ward, k = number of themes",
            lambda t, e, s: ours(t, e, s, n_topics=len(set(labels))),
            texts,
            embeddings,
            labels,
        ),  # fmt: skip
        measure(
            "k-means seeded with the themes' examples (topics.seed_with_themes)",
            lambda t, e, s: ours(t, e, s, start=seeds),
            texts,
            embeddings,
            labels,
        ),  # fmt: skip
        measure("BERTopic defaults: UMAP + HDBSCAN", bertopic_defaults, texts, embeddings, labels),
    ]
    result = {
        "data": f"{len(texts)} single-theme statements of models/training/statements_it.jsonl, "
        f"{len(set(labels))} themes (ours, not a public corpus)",
        "embed_seconds": round(embed_s, 2),
        "methods": rows,
        "representations": representations(texts, embeddings, UseEmbedder()),
        "scale": scale(texts, embeddings, UseEmbedder()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
