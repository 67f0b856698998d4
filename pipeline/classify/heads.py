"""Trained linear heads for sentiment and themes: features, prediction, safe storage.

Features of one utterance (`feature_matrix`):
- its sentence embedding (from the `Embedder` the heads were trained with), times `emb_scale`;
- when the heads have one, the logits of their tuned reader (`pipeline/classify/tuned.py`: USE's
  layers fine-tuned on the statements), times its `scale`: read by the sentiment heads only,
  the theme and threat heads give those columns zero weight (`theme_view`);
- cue counts per theme (live and negated) and sentiment cues, irony and negation flags, from
  `CueMatcher`;
- lemma and word unigrams plus lemma bigrams, hashed (CRC32) into `n_hash` binary columns;
  words inside a negation scope get a `NOT_` prefix, so "non minacciato" is its own feature.
Heads: one logistic regression per theme, Platt-calibrated on out-of-fold scores, with an F1-best
threshold; a multinomial logistic regression for sentiment, stacked with a small second one that
also reads the theme probabilities by polarity (`stack_features`), because what customers report
(a threat, a payment plan) largely decides their attitude.
Storage: `heads.json` (metadata) + `heads.npz` (plain float arrays, loaded with
`allow_pickle=False`), so loading weights never runs code; `tuned.npz` likewise for the reader.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import softmax

from pipeline.classify.cues import Analysis, is_content
from pipeline.classify.tuned import TunedReader, load_tuned, save_tuned
from pipeline.config import ConfigError, EmbedConfig
from pipeline.records import SENTIMENTS

FORMAT = "ascolto-heads/2"
TUNED_FILE = "tuned.npz"
THREATENED_HEAD = "__threatened__"
CUE_EXTRA = 4  # positive cues, negative cues, irony, any negation


def lexical_terms(analysis: Analysis) -> list[tuple[str, int, int]]:
    """Hashed-feature terms with the token range each comes from."""
    terms: list[tuple[str, int, int]] = []
    words = [t for t in analysis.doc if not (t.is_punct or t.is_space)]
    previous = None
    for token in words:
        lemma = (token.lemma_ or token.lower_).lower()
        prefix = "NOT_" if analysis.scope[token.i] else ""
        terms.append((f"l:{prefix}{lemma}", token.i, token.i + 1))
        if token.lower_ != lemma:
            terms.append((f"w:{prefix}{token.lower_}", token.i, token.i + 1))
        if previous is not None:
            terms.append((f"b:{previous[1]}_{prefix}{lemma}", previous[0], token.i + 1))
        previous = (token.i, f"{prefix}{lemma}")
    if analysis.ironic:
        terms.append(("IRONY", 0, 0))
    return terms


@lru_cache(maxsize=65536)
def _hash(term: str, n_hash: int) -> int:
    return zlib.crc32(term.encode("utf-8")) % n_hash


def cue_block(analysis: Analysis, codes: list[str]) -> np.ndarray:
    """Live and negated cue indicators per theme, then sentiment cues, irony and negation."""
    out = np.zeros(2 * len(codes) + CUE_EXTRA, dtype=np.float32)
    position = {code: i for i, code in enumerate(codes)}
    for cue in analysis.cues:
        if cue.key in position:
            slot = 2 * position[cue.key] + (1 if cue.negated else 0)
            out[slot] = min(out[slot] + 0.5, 1.0)
        elif cue.key in ("+", "-") and not cue.negated:
            slot = 2 * len(codes) + (0 if cue.key == "+" else 1)
            out[slot] = min(out[slot] + 0.5, 1.0)
    out[-2] = float(analysis.ironic)
    out[-1] = float(any(analysis.scope))
    return out


def feature_matrix(
    analyses: list[Analysis],
    embeddings: np.ndarray,
    codes: list[str],
    n_hash: int,
    emb_scale: float,
    tuned: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """One sparse row per analysis: [embedding * scale | tuned | cue block | hashed terms].

    `tuned`: the tuned reader's feature columns for these analyses (none when the heads have no
    reader). The cue block stays just before the hashed terms (`Heads.cue_columns`).
    """
    blocks = [np.asarray(embeddings, dtype=np.float32) * emb_scale]
    if tuned is not None:
        blocks.append(np.asarray(tuned, dtype=np.float32).reshape(len(analyses), -1))
    dense = np.hstack(blocks + [np.vstack([cue_block(a, codes) for a in analyses])])
    rows, cols = [], []
    for row, analysis in enumerate(analyses):
        hashed = {_hash(term, n_hash) for term, _, _ in lexical_terms(analysis)}
        rows += [row] * len(hashed)
        cols += sorted(hashed)
    lexical = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(analyses), n_hash)
    )
    return sparse.hstack([sparse.csr_matrix(dense), lexical], format="csr")


def theme_view(x: sparse.csr_matrix, start: int, tuned: np.ndarray | None) -> sparse.csr_matrix:
    """The columns the theme and threat heads are fitted on: all but the tuned reader's.

    Only the sentiment heads read the tuned reader: read by every head it cost theme F1 and
    false alarms on fortunes for no gain on threats (README, "A tuned reader").
    """
    if tuned is None:
        return x
    return x[:, np.r_[0:start, start + tuned.shape[1] : x.shape[1]]]


def with_tuned_rows(weights: np.ndarray, start: int, tuned: np.ndarray | None) -> np.ndarray:
    """Theme weights fitted on `theme_view`, with zero rows where the tuned columns sit."""
    if tuned is None:
        return weights
    return np.insert(weights, [start] * tuned.shape[1], 0.0, axis=0)


def stack_features(
    sentiment: np.ndarray, themes: np.ndarray, positive: np.ndarray, cues: np.ndarray
) -> np.ndarray:
    """Second-level sentiment inputs.

    Base sentiment log-probabilities, theme probabilities pooled by polarity (max and sum), and
    the sentiment/irony/negation cue flags.
    """
    positive = positive.astype(bool)
    pooled = [
        themes[:, positive].max(axis=1, initial=0.0),
        themes[:, ~positive].max(axis=1, initial=0.0),
        themes[:, positive].sum(axis=1),
        themes[:, ~positive].sum(axis=1),
    ]
    return np.hstack([np.log(sentiment + 1e-6), np.stack(pooled, axis=1), cues])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Not scipy.special.expit: on these float32 inputs it differs in the last bit (about one value
    # in six), which moves rounded theme scores and threshold decisions; the trained heads and the
    # exported figures are those of this formula.
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


@dataclass
class Heads:
    """Weights and calibration of every head, plus what they were trained on."""

    meta: dict[str, Any]
    theme_w: np.ndarray  # (n_features, n_themes + 1): the last column is the threatened head
    theme_b: np.ndarray  # (n_themes,)
    platt_a: np.ndarray
    platt_b: np.ndarray
    thresholds: np.ndarray
    sent_w: np.ndarray  # (n_features, 3)
    sent_b: np.ndarray
    stack_w: np.ndarray  # (n_stack_features, 3)
    stack_b: np.ndarray
    positive: np.ndarray  # 1.0 where the theme's polarity is positive
    centroids: np.ndarray  # (k, dim): unit centroids of the interview statements trained on
    tuned: TunedReader | None = None  # fine-tuned USE whose logits are feature columns
    _code_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._code_index = {code: i for i, code in enumerate([*self.codes, THREATENED_HEAD])}

    @property
    def codes(self) -> list[str]:
        """Theme codes the heads were trained for."""
        return list(self.meta["codes"])

    @property
    def version(self) -> str:
        """Short identity: training date and weights digest."""
        digest = self.meta.get("weights_sha256", "")[:8]
        return f"trained {self.meta.get('trained_at', '?')[:10]}" + (
            f", {digest}" if digest else ""
        )

    @property
    def embedder_id(self) -> str:
        """model_id of the embedder the heads were trained on."""
        return str(self.meta["embedder_id"])

    @property
    def embed_config(self) -> EmbedConfig:
        """How to rebuild that embedder."""
        return EmbedConfig(**self.meta["embed_config"])

    def familiarity(self, embeddings: np.ndarray) -> np.ndarray:
        """Best cosine of each text to the interview statements' centroids."""
        return (np.asarray(embeddings, dtype=np.float32) @ self.centroids.T).max(axis=1)

    def familiar(self, embeddings: np.ndarray) -> np.ndarray:
        """True where a text is as close to the statements as new statements usually are."""
        return self.familiarity(embeddings) >= float(self.meta["ood_similarity"])

    def threshold(self, code: str) -> float:
        """Calibrated probability at or above which the theme is reported."""
        return float(self.thresholds[self._code_index[code]])

    def features(self, analyses: list[Analysis], embeddings: np.ndarray) -> sparse.csr_matrix:
        """The feature rows these heads read."""
        return feature_matrix(
            analyses,
            embeddings,
            self.codes,
            int(self.meta["n_hash"]),
            float(self.meta["emb_scale"]),
            self.tuned.features([a.text for a in analyses]) if self.tuned else None,
        )

    def probabilities(
        self, analyses: list[Analysis], embeddings: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(sentiment (n, 3), calibrated theme probabilities (n, n_themes + 1, last: threatened))."""
        x = self.features(analyses, embeddings)
        themes = _sigmoid(self.platt_a * (x @ self.theme_w + self.theme_b) + self.platt_b)
        base = softmax(x @ self.sent_w + self.sent_b, axis=1)
        cues = x[:, self.cue_columns].toarray()
        z = stack_features(base, themes[:, : len(self.codes)], self.positive, cues)
        return softmax(z @ self.stack_w + self.stack_b, axis=1), themes

    @property
    def cue_columns(self) -> slice:
        """The sentiment-cue, irony and negation columns of the feature matrix."""
        end = len(self.theme_w) - int(self.meta["n_hash"])
        return slice(end - CUE_EXTRA, end)

    def predict(
        self, analyses: list[Analysis], embeddings: np.ndarray
    ) -> list[tuple[dict[str, float], dict[str, float]]]:
        """Per analysis: sentiment probabilities and theme probabilities by code.

        THREATENED_HEAD is added: the probability that the customer felt threatened at all.
        """
        sentiment, themes = self.probabilities(analyses, embeddings)
        names = [*self.codes, THREATENED_HEAD]
        return [
            (
                {s: round(float(p), 4) for s, p in zip(SENTIMENTS, srow, strict=True)},
                {c: float(p) for c, p in zip(names, trow, strict=True)},
            )
            for srow, trow in zip(sentiment, themes, strict=True)
        ]

    def strongest_span(self, analysis: Analysis, code: str) -> str | None:
        """The content words whose hashed features push this theme up the most.

        Up to six tokens around the strongest content word, starting and ending on content words
        ("mi hanno messo alle strette" -> "messo alle strette"); None when no content word pushes
        the theme up, so a label is never justified by "sono" or "per" alone. A complaint is
        never carried by the customer's own steps ("li denuncio io", "il mio avvocato") or by a
        threat denied by contrast ("più che minacciato").
        """
        column = self.theme_w[:, self._code_index[code]]
        offset = len(column) - int(self.meta["n_hash"])
        doc = analysis.doc
        contribution = np.zeros(len(doc))
        for term, start, end in lexical_terms(analysis):
            if end > start:
                contribution[start:end] += column[offset + _hash(term, int(self.meta["n_hash"]))]
        content = np.array([is_content(t) for t in doc], dtype=bool)
        if code in self.codes and not self.positive[self._code_index[code]]:
            content[list(analysis.aside)] = False
        if not content.any() or contribution[content].max() <= 0:
            return None
        start = end = int(np.flatnonzero(content)[np.argmax(contribution[content])])
        while start > 0 and contribution[start - 1] > 0 and end - start < 5:
            start -= 1
        while end + 1 < len(doc) and contribution[end + 1] > 0 and end - start < 5:
            end += 1
        while not content[start]:
            start += 1
        while not content[end]:
            end -= 1
        return analysis.text[doc[start].idx : doc[end].idx + len(doc[end].text)]


ARRAYS = (
    "theme_w", "theme_b", "platt_a", "platt_b", "thresholds", "sent_w", "sent_b", "stack_w",
    "stack_b", "positive", "centroids",
)  # fmt: skip


def save_heads(heads: Heads, folder: Path) -> None:
    """Write heads.npz (arrays only) and heads.json (metadata incl. the arrays' digest)."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {
        name: np.asarray(getattr(heads, name), dtype=np.float32) for name in ARRAYS
    }
    np.savez_compressed(folder / "heads.npz", **arrays)
    tuned_path = folder / TUNED_FILE
    tuned_path.unlink(missing_ok=True)  # never left beside heads that do not read it
    heads.meta.pop("tuned", None)
    if heads.tuned is not None:
        heads.meta["tuned"] = {
            "file": TUNED_FILE,
            "sha256": save_tuned(heads.tuned, tuned_path),
            "scale": heads.tuned.scale,
            "outputs": heads.tuned.outputs,
        }
    heads.meta["weights_sha256"] = hashlib.sha256((folder / "heads.npz").read_bytes()).hexdigest()
    write_meta(heads, folder)


def write_meta(heads: Heads, folder: Path) -> None:
    """(Re)write heads.json; the weights digest inside still guards heads.npz."""
    meta = {"format": FORMAT} | {k: v for k, v in heads.meta.items() if k != "format"}
    (folder / "heads.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


@lru_cache(maxsize=4)
def load_heads(folder: Path) -> Heads:
    """Load heads written by `save_heads`, checking format and digest."""
    meta_path, weights = folder / "heads.json", folder / "heads.npz"
    if not meta_path.is_file() or not weights.is_file():
        raise ConfigError(
            f"no trained classifier in {folder} (heads.json + heads.npz): run `ascolto train "
            "models/training/train.jsonl --dev models/training/dev.jsonl`, point classify.heads at "
            "another folder, or set classify.method: rules"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ConfigError(f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != meta.get("weights_sha256"):
        raise ConfigError(f"{weights}: digest does not match heads.json; retrain or restore both")
    with np.load(weights, allow_pickle=False) as data:
        arrays = {name: data[name] for name in ARRAYS}
    tuned = meta.get("tuned")
    reader = (
        load_tuned(
            folder / tuned["file"],
            tuned["sha256"],
            float(tuned["scale"]),
            EmbedConfig(**meta["embed_config"]).threads,
        )
        if tuned
        else None
    )
    return Heads(meta=meta, tuned=reader, **arrays)
