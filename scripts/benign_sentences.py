"""Ordinary Italian sentences in which nobody is threatened, from Debian's Italian packages.

    python scripts/benign_sentences.py [--debs DIR] [--out models/training/benign_it.jsonl]

Why: the classifier's "felt threatened" heads must learn what ordinary Italian looks like, and we
must be able to measure how often they fire on it. The sentences come from four Debian packages,
fetched with `apt-get download` (no root needed) and unpacked with `dpkg-deb -x`:

| source | package | licence | what it is |
|---|---|---|---|
| `manpages` | manpages-it | GPL-3+ | translated manual pages |
| `debian-reference` | debian-reference-it | GPL-2+ | the Debian Reference, in Italian |
| `libreoffice-help` | libreoffice-help-it | MPL-2.0 | LibreOffice's Italian help pages |
| `fortunes` | fortunes-it | (see its copyright file) | Italian jokes, quotes and dialogue |

Sentences are split with a punctuation rule, kept when 5-40 words long, mostly letters and
Italian-looking, deduplicated, then sampled with a fixed seed: `TRAIN_PER_SOURCE` per source for
training from the first three sources, and `DEV_PER_SOURCE` per source held apart (split "dev")
from all four. `fortunes` is never in the training split: it is the unseen source, closest to
everyday speech, on which the false-alarm rate is reported separately. Only the sample is
committed (models/training/benign_it.jsonl), never the packages.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import random
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "manpages": "manpages-it",
    "debian-reference": "debian-reference-it",
    "libreoffice-help": "libreoffice-help-it",
    "fortunes": "fortunes-it",
}
TRAINING_SOURCES = ("manpages", "debian-reference", "libreoffice-help")
TRAIN_PER_SOURCE, DEV_PER_SOURCE = 800, 300
SEED = 2026
ITALIAN = {
    "il", "lo", "la", "i", "gli", "le", "di", "che", "non", "un", "una", "per", "con", "del",
    "della", "è", "e", "si", "da", "in", "sono", "ho", "al", "alla", "se", "come", "anche",
}  # fmt: skip


def fetch(debs: Path) -> Path:
    """Download the packages into `debs` (if missing) and unpack them under debs/root."""
    debs.mkdir(parents=True, exist_ok=True)
    missing = [p for p in PACKAGES.values() if not list(debs.glob(f"{p}_*.deb"))]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    root = debs / "root"
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


class _Text(HTMLParser):
    """Visible text of an HTML page, one block per paragraph-like element."""

    BLOCKS = {"p", "li", "td", "h1", "h2", "h3", "h4", "dd", "dt", "div", "br", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "pre", "code"):
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "pre", "code"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(page: str) -> str:
    """Visible text of an HTML page."""
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


def man_text(source: str) -> str:
    """Prose of a groff manual page: requests and font escapes dropped."""
    lines = []
    for line in source.splitlines():
        if line.startswith((".", "'")):
            if line.startswith((".SH", ".SS", ".TP", ".PP", ".IP", ".br")):
                lines.append("")
            continue
        line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)
        line = re.sub(r"\\[-&/,]", lambda m: "-" if m.group() == "\\-" else "", line)
        lines.append(line)
    return "\n".join(lines)


def documents(root: Path) -> Iterator[tuple[str, str]]:
    """(source, text) of every document in the unpacked packages."""
    for page in sorted((root / "usr/share/man/it").rglob("*.gz")):
        yield "manpages", man_text(gzip.decompress(page.read_bytes()).decode("utf-8", "replace"))
    for page in sorted((root / "usr/share/debian-reference").glob("*.it.html")):
        yield "debian-reference", html_text(page.read_text("utf-8", "replace"))
    for page in sorted((root / "usr/share/libreoffice/help/it").rglob("*.html")):
        yield "libreoffice-help", html_text(page.read_text("utf-8", "replace"))
    for jar in sorted((root / "usr/share/games/fortunes/it").glob("*.u8")):
        for fortune in jar.read_text("utf-8", "replace").split("\n%\n"):
            # The attribution line ("-- Groucho Marx") is not part of what was said.
            yield "fortunes", re.sub(r"\n\s*--.*", "", fortune)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"«(]?[A-ZÀÈÉÌÒÙ])")


def sentences(text: str) -> Iterator[str]:
    """Candidate sentences: paragraph blocks split after . ! ? before a capital."""
    for block in re.split(r"\n\s*\n", html.unescape(text)):
        block = " ".join(block.split())
        yield from SENTENCE_END.split(block)


def acceptable(sentence: str) -> bool:
    """5-40 words, mostly letters, no code or paths, with Italian function words."""
    words = sentence.split()
    if not 5 <= len(words) <= 40:
        return False
    letters = sum(c.isalpha() or c.isspace() for c in sentence)
    if letters < 0.85 * len(sentence) or re.search(r"[/\\=<>{}\[\]_#$|@]|\.\w{2,4}\b", sentence):
        return False
    lower = [w.strip(".,;:!?\"'()«»").lower() for w in words]
    return sum(w in ITALIAN for w in lower) >= max(2, len(words) // 8)


def sample(root: Path) -> list[dict[str, str]]:
    """The seeded train/dev sample, source by source."""
    pools: dict[str, list[str]] = {source: [] for source in PACKAGES}
    seen: set[str] = set()
    for source, text in documents(root):
        for sentence in sentences(text):
            key = sentence.lower()
            if acceptable(sentence) and key not in seen:
                seen.add(key)
                pools[source].append(sentence)
    rng = random.Random(SEED)
    rows = []
    for source, pool in pools.items():
        rng.shuffle(pool)
        n_train = TRAIN_PER_SOURCE if source in TRAINING_SOURCES else 0
        for i, text in enumerate(pool[: n_train + DEV_PER_SOURCE]):
            split = "train" if i < n_train else "dev"
            rows.append({"id": f"{source}-{i:04d}", "text": text, "source": source, "split": split})
        print(f"{source}: {len(pool)} sentences, kept {min(len(pool), n_train + DEV_PER_SOURCE)}")
    return rows


def main() -> None:
    """Fetch, extract, sample, write JSON Lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debs", type=Path, help="folder for the .deb files (default: a temp dir)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "models" / "training" / "benign_it.jsonl"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = sample(fetch(args.debs or Path(tmp)))
    args.out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    print(f"wrote {len(rows)} sentences to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
