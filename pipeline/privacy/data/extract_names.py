"""Write the name gazetteers of `pipeline.privacy.pii` from licensed offline sources.

    .venv/bin/pip install "faker==40.63.0"   # only to re-run this script; not a runtime dependency
    .venv/bin/python pipeline/privacy/data/extract_names.py

- `nomi_faker.txt`, `cognomi_faker.txt`: the given names and surnames of Faker's `it_IT` person
  provider (Faker, MIT License, (c) joke2k and contributors), minus Italian function words
  (spaCy's Italian stop words: "durante", "dalla", "salvo"...).
- `nomi_comuni.txt`: every name of these lists and of the hand-written `nomi.txt`/`cognomi.txt`
  that is also an ordinary Italian word form ("rosa", "franco", "serena", "rossi", "conti"), by
  the morph-it lexicon as spacy-lookups-data ships it (lookup tables MIT; morph-it by Baroni and
  Zanchetta, CC BY-SA 2.0 / LGPL), plus `_ALSO_WORDS` below. Only the intersection with the name
  lists is written. Such names are taken as names only with a cue or next to another name.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Words that morph-it lacks or spells with an accent, but which Whisper writes for ordinary words.
_ALSO_WORDS = {
    "sara",
    "mia",
    "pia",
    "gioia",
    "speranza",
    "primo",
    "sole",
    "vera",
    "luce",
    "ida",
    "pasqua",
    "natale",
    "epifania",
    "befana",
    "assunta",
    "immacolata",
}
_FEASTS = {"pasqua", "natale", "epifania", "befana", "ferragosto", "pasquetta"}
# Forms morph-it lists (rare words, abbreviations) that in a phone interview are nearly always names.
_NAMES_FIRST = {
    "luca", "marco", "barbara", "elisa", "patrizia", "veronica", "letizia", "isabella",
    "giuliana", "giuliano", "giada", "annetta", "annunziata", "cristiano", "germana", "graziano",
    "gustavo", "laureano", "liana", "lolita", "marcantonio", "mariana", "melina", "panfilo",
    "patrizio", "romeo", "santino", "silvana", "tonino", "benedetta", "bruna", "linda",
}  # fmt: skip


def _read(name: str) -> set[str]:
    raw = (HERE / name).read_text(encoding="utf-8")
    lines = [line for line in raw.splitlines() if not line.startswith("#")]
    return {w.replace("_", " ") for line in lines for w in line.split()}


def _ordinary_words() -> set[str]:
    import spacy_lookups_data
    import srsly

    data = Path(spacy_lookups_data.__file__).parent / "data"
    words: set[str] = set()
    for table in sorted(data.glob("it_lemma_lookup_*.json.gz")):
        words |= set(srsly.read_gzip_json(table))
    return words


def _write(name: str, header: str, words: set[str]) -> None:
    body = "\n".join(sorted(w.replace(" ", "_") for w in words))
    (HERE / name).write_text(f"# {header}\n{body}\n", encoding="utf-8")


def main() -> None:
    """Extract the lists and print their sizes."""
    from faker.providers.person.it_IT import Provider
    from spacy.lang.it.stop_words import STOP_WORDS

    version = importlib.metadata.version("faker")
    source = f"Faker {version} it_IT person provider (MIT License); extract_names.py writes it"
    given = {n for n in (*Provider.first_names_male, *Provider.first_names_female)}
    surnames = set(Provider.last_names)
    # Function words and feast days ("il giorno di Pasqua") are never taken as names.
    never = set(STOP_WORDS) | _FEASTS
    given = {n for n in given if n.lower() not in never}
    surnames = {n for n in surnames if n.lower() not in never}
    _write("nomi_faker.txt", f"Italian given names: {source}", given)
    _write("cognomi_faker.txt", f"Italian surnames: {source}", surnames)
    names = {n.lower() for n in given | surnames | _read("nomi.txt") | _read("cognomi.txt")}
    common = (names & (_ordinary_words() | _ALSO_WORDS)) - _NAMES_FIRST
    _write(
        "nomi_comuni.txt",
        "names that are also ordinary Italian words (morph-it via spacy-lookups-data, "
        "CC BY-SA 2.0 / LGPL; extract_names.py writes it)",
        common,
    )
    sys.stdout.write(f"given {len(given)}, surnames {len(surnames)}, also words {len(common)}\n")


if __name__ == "__main__":
    main()
