"""BERTopic with the offline multilingual embedder on the demo's customer lines."""

import json

import pytest

from pipeline.config import TopicsConfig
from pipeline.embed import UseEmbedder
from pipeline.topics import fit_topics
from tests.conftest import DEMO

pytestmark = pytest.mark.slow


def _customer_lines() -> list[str]:
    lines = []
    for row in (DEMO / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        for turn in json.loads(row)["turns"]:
            lines += [line["text"] for line in turn.get("lines", [])]
    return lines


def test_topics_are_fitted_readable_and_deterministic():
    texts = _customer_lines()
    embeddings = UseEmbedder().embed(texts)
    assert embeddings.shape == (len(texts), 512)
    config = TopicsConfig(seed=3)
    first = fit_topics(texts, embeddings, config)
    second = fit_topics(texts, embeddings, config)
    assert len(first.info) >= 3
    assert first.assignments["topic_id"].tolist() == second.assignments["topic_id"].tolist()
    assert all(label and "topic" not in label for label in first.info["label"])
    assert all(len(q) >= 1 for q in first.info["quotes"])


def test_too_few_utterances_fit_nothing_and_say_why():
    fit = fit_topics(["una frase"] * 3, UseEmbedder().embed(["una frase"] * 3), TopicsConfig())
    assert fit.info.empty and "fewer than" in fit.note
