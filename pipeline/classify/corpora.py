"""The labelled corpora the classifier learns from and is measured on, with their fixed splits.

- **Interview statements** (`models/training/train.jsonl`, `dev.jsonl`): written by the team,
  every label known. The domain. Later authors' statements (`statements_NAME_it.jsonl`), split
  the same way into `train_NAME.jsonl` / `dev_NAME.jsonl`: `extra` (the issue's hard patterns),
  `third` to `fourteenth` and `seventeenth` (every theme, each in its own voice, by authors who
  opened neither the other files nor the model).
- **FEEL-IT** (`models/training/feel_it/`, MIT): 2,037 Italian tweets by the public with an
  emotion; joy -> positive, anger / fear / sadness -> negative, no neutral. Teaches sentiment
  that transfers beyond our own sentences. Its themes are unknown, except that a joyful tweet
  reports no threat, so joyful tweets are negatives for the threat heads only.
- **Benign Italian** (`models/training/benign_it.jsonl`, written by
  `scripts/benign_sentences.py` from Debian's Italian documentation and fortunes): ordinary
  sentences in which nobody is threatened, negatives for every theme, sentiment neutral.
- **Everyday Italian** (`models/training/everyday_it.jsonl`, written by `scripts/everyday.py`
  from independent authors' files): product and service reviews with their stars, turns of
  diet-coaching conversations and social-media comments, each with its sentiment. Nobody in them
  is threatened by a collector, so they are negatives for the threat heads only (a hotel's
  "personale gentile" says nothing about an agency's courtesy). A stand-in, written by people
  outside the model's training, for the public review, dialogue and social corpora we cannot
  reach here.

Each corpus has a seeded split; `dev` rows are never trained on.

- **Held-out authors** (`models/heldout/statements_NAME_it.jsonl`): whole sets by later authors
  that are never split and never trained on, so a classifier can always be measured on voices it
  has never read, as the issue's held-out statements will be. A test checks that none of their
  texts is in any training or dev file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pipeline.classify.evaluate import Example
from pipeline.errors import AscoltoError

TRAINING_DIR = Path(__file__).resolve().parents[2] / "models" / "training"
HELDOUT_DIR = TRAINING_DIR.parent / "heldout"
FEEL_IT = TRAINING_DIR / "feel_it" / "feel_it.csv"
BENIGN = TRAINING_DIR / "benign_it.jsonl"
# Every author's training split that has its dev split beside it (the dev files are never in
# here, nor a stray file). The shipped heads list the ones they were trained on in heads.json
# (`heads_training_files`): one author's retrain was measured and not kept.
SHIPPED_TRAINING = (TRAINING_DIR / "train.jsonl",) + tuple(
    path
    for path in sorted(TRAINING_DIR.glob("train_*.jsonl"))
    if (TRAINING_DIR / path.name.replace("train_", "dev_", 1)).is_file()
)
FEEL_IT_DEV_SHARE = 0.25
FEEL_IT_SEED = "feel-it-2026"
EVERYDAY = TRAINING_DIR / "everyday_it.jsonl"
EVERYDAY_DEV_SHARE = 0.5
EVERYDAY_SEED = "everyday-2026"
Split = Literal["train", "dev"]


class CorpusError(AscoltoError):
    """A labelled file that cannot be read as a corpus."""


def heads_training_files(meta: dict[str, object]) -> tuple[Path, ...]:
    """The statement files heads were trained on, from their heads.json `sources`.

    Relative paths are read from the project folder, where `ascolto train` is run. Heads that
    list none (trained before `sources` was written) get `SHIPPED_TRAINING`.
    """
    sources = meta.get("sources")
    listed = str(sources.get("train") or "") if isinstance(sources, dict) else ""
    paths = [Path(part.strip()) for part in listed.split(", ") if part.strip()]
    if not paths:
        return SHIPPED_TRAINING
    root = TRAINING_DIR.parents[1]
    resolved = tuple(path if path.is_absolute() else root / path for path in paths)
    missing = [str(path) for path in resolved if not path.is_file()]
    if missing:
        raise CorpusError(
            f"the configured heads were trained on files not found here ({', '.join(missing)}): "
            "give the training JSON Lines files on the command line"
        )
    return resolved


def read_labelled(path: Path) -> list[Example]:
    """Interview statements from JSON Lines `{"id", "text", "sentiment", "themes"}`."""
    examples = []
    for number, line in enumerate(_lines(path), start=1):
        try:
            row = json.loads(line)
            examples.append(
                Example(
                    row["id"],
                    row["text"],
                    row["sentiment"],
                    frozenset(row["themes"]),
                    source=path.stem,
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise CorpusError(
                f"{path}, line {number}: {error!r}; each line must be a JSON object with id, "
                "text, sentiment and themes (a list of theme codes)"
            ) from error
    return examples


def _lines(path: Path) -> Iterable[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CorpusError(f"cannot read {path}: {error.strerror}") from error
    return [line for line in text.splitlines() if line.strip()]


def plain_text(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed: how two lines are compared for repeats."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def heldout_authors(folder: Path = HELDOUT_DIR) -> list[Path]:
    """Whole statement sets never trained on (`models/heldout/statements_NAME_it.jsonl`)."""
    return sorted(folder.glob("statements_*_it.jsonl"))


def later_author_devs(folder: Path = TRAINING_DIR) -> list[Path]:
    """The dev splits of the statements written after the first set (`dev_extra.jsonl`...)."""
    return sorted(folder.glob("dev_*.jsonl"))


def hashed_split(key: str, seed: str, dev_share: float) -> Split:
    """The fixed split of one row: a hash of its key, so adding rows never moves old ones."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return "dev" if digest[0] / 256 < dev_share else "train"


def feel_it_split(tweet_id: str) -> Split:
    """The fixed split of one FEEL-IT tweet, by its id."""
    return hashed_split(tweet_id, FEEL_IT_SEED, FEEL_IT_DEV_SHARE)


def feel_it(split: Split, path: Path = FEEL_IT) -> list[Example]:
    """FEEL-IT tweets of one split, as sentiment examples (themes known only for joy)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Example(
            f"feel-it-{row['id']}",
            row["text"],
            row["sentiment"],
            frozenset(),
            known="threats" if row["emotion"] == "joy" else "none",
        )
        for row in rows
        if feel_it_split(row["id"]) == split
    ]


def benign(split: Split, path: Path = BENIGN, source: str | None = None) -> list[Example]:
    """Ordinary Italian sentences of one split (optionally one source): no theme, neutral."""
    rows = [json.loads(line) for line in _lines(path)]
    return [
        Example(row["id"], row["text"], "neutral", frozenset())
        for row in rows
        if row["split"] == split and source in (None, row["source"])
    ]


def benign_sources(path: Path = BENIGN) -> list[str]:
    """The sources of the benign sample, in file order."""
    return list(dict.fromkeys(json.loads(line)["source"] for line in _lines(path)))


def everyday(split: Split | None, path: Path = EVERYDAY, genre: str | None = None) -> list[Example]:
    """Everyday Italian of one split (None: both) and optionally one genre, sentiment labelled.

    A conversation's turns share one split (the key is its `group`), so no conversation is
    both trained on and measured.
    """
    rows = [json.loads(line) for line in _lines(path)] if path.is_file() else []
    return [
        # "everyday-review-rv0003": the kind before the last dash, as for the other corpora
        Example(
            f"everyday-{row['genre']}-{row['id']}",
            row["text"],
            row["sentiment"],
            frozenset(),
            known="threats",
        )
        for row in rows
        if genre in (None, row["genre"])
        and split in (None, hashed_split(row["group"], EVERYDAY_SEED, EVERYDAY_DEV_SHARE))
    ]


def everyday_genres(path: Path = EVERYDAY) -> list[str]:
    """The genres of the everyday sample, in file order."""
    if not path.is_file():
        return []
    return list(dict.fromkeys(json.loads(line)["genre"] for line in _lines(path)))


def general_training() -> list[Example]:
    """The training splits of FEEL-IT, the benign sentences and the everyday Italian."""
    return feel_it("train") + benign("train") + everyday("train")
