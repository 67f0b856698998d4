"""Person names: gazetteer, kinship and role cues, capitalised and lower-case sequences."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from pipeline.privacy.spans import Span, _spans


# -- person names --------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    def words(name: str) -> frozenset[str]:
        raw = resources.files("pipeline.privacy.data").joinpath(name).read_text(encoding="utf-8")
        lines = [line for line in raw.splitlines() if not line.startswith("#")]
        return frozenset(w.replace("_", " ") for line in lines for w in line.split())

    return (
        words("nomi.txt") | words("nomi_faker.txt"),
        words("cognomi.txt") | words("cognomi_faker.txt"),
    )


_CAP_WORD = r"[A-ZÀ-Ý][a-zà-ÿ']+(?:\s(?:De|Di|Da|Del|Della|Lo|La)\s[A-ZÀ-Ý][a-zà-ÿ']+)?"
_ANY_WORD = r"[A-Za-zÀ-ÿ']+"
# After these cues ASR often lowercases the name, so any word is taken.
_STRONG_CUE = re.compile(
    rf"\b(?:mi\s+chiamo|il\s+mio\s+nome\s+è)\s+({_ANY_WORD}(?:\s+{_ANY_WORD})?)",
    re.IGNORECASE,
)
_OWNER_CUE = re.compile(
    rf"\b(?:a\s+nome\s+di|intestat\w+\s+a|chiesto\s+di|chiedete\s+di)\s+({_CAP_WORD}(?:\s+{_CAP_WORD})?)"
)
_HONORIFIC = re.compile(
    r"\b(?:signor|signore|signora|signorina|sig\.|sig\.ra|sig\.na|dottor|dottore|dottoressa|"
    r"dott\.|dott\.ssa|avvocato|avv\.|ingegner|ing\.|geometra|geom\.|ragionier|rag\.)\s+"
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD})?)"
)
_WEAK_CUE = re.compile(
    rf"\b(?:[Ss]ono|[Pp]arlo\s+con|[Pp]arla|[Hh]o\s+parlato\s+con)\s+(?:il\s+|la\s+)?"
    rf"({_CAP_WORD}(?:\s+{_CAP_WORD})?)"
)
_CAPITALISED = re.compile(rf"\b{_CAP_WORD}(?:\s+{_CAP_WORD})?")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)$")
_NOT_NAMES = {"Buongiorno", "Buonasera", "Grazie", "Salve", "Pronto", "Certo", "Allora"}


def _strip_non_names(text: str, start: int, end: int) -> Span | None:
    words = list(re.finditer(r"\S+", text[start:end]))
    kept = [w for w in words if w.group(0).strip(",.") not in _NOT_NAMES]
    if not kept:
        return None
    return start + kept[0].start(), start + kept[-1].end()


def find_name(text: str) -> Iterable[Span]:
    """Person names from context and a gazetteer of Italian given names and surnames.

    No Italian NER model installs offline, so a name is: whatever follows "mi chiamo" (one or two
    words, any case); a capitalised word after an honorific ("signora Esposito"); a capitalised
    known name after "sono"/"parlo con"; a capitalised known given name, with the capitalised word
    after it; a capitalised known surname that does not open a sentence.
    """
    given, surnames = _gazetteer()
    known = given | surnames
    for m in _STRONG_CUE.finditer(text):
        span = m.span(1)
        words = m.group(1).split()
        if len(words) == 2 and not (words[1][:1].isupper() or words[1].capitalize() in known):
            span = (m.start(1), m.start(1) + len(words[0]))
        yield span
    yield from _spans(_HONORIFIC, text, group=1)
    yield from _spans(_OWNER_CUE, text, group=1)
    for m in _WEAK_CUE.finditer(text):
        if m.group(1).split()[0] in known:
            yield m.span(1)
    common = _lower_gazetteer()[2]
    for m in _CAPITALISED.finditer(text):
        words = m.group(0).split()
        if (
            words[0].lower() in common
            and _SENTENCE_START.search(text[: m.start()])
            and (len(words) == 1 or words[1] not in known)
        ):
            continue  # "Chiara, precisa e gentile.": a capital that only opens the sentence
        if words[0] in given:
            yield (
                m.span()
                if len(words) == 1 or words[1] not in _NOT_NAMES
                else (
                    m.start(),
                    m.start() + len(words[0]),
                )
            )
        elif words[0] in surnames and not _SENTENCE_START.search(text[: m.start()]):
            yield m.start(), m.start() + len(words[0])
    yield from find_lower_name(text)


# Lower-case names (Whisper often writes them so): a run of one to three gazetteer words is a name
# after a kinship or role word ("mia figlia giulia", "intestato a", "la signora"), or, without a
# cue, when it is a given name that is not also an ordinary word ("giulia", "paolo conti"; not
# "rosa", "franco", "serena" alone). A lone surname needs a cue: "esposito", "ferrari" are words
# or brands too.
_KIN = (
    r"(?:figli[ao]?|marito|moglie|madre|padre|mamma|papà|babbo|sorella|fratello|suocer[oa]|"
    r"nipote|cognat[oa]|genero|nuora|zi[oa]|nonn[oa]|cugin[oa]|compagn[oa]|fidanzat[oa]|"
    r"vicin[oa]|collega|amic[oa]|convivente|badante|coinquilin[oa]|socio|socia|capo)"
)
_NAME_CUE = re.compile(
    r"(?:\b(?:mi[oa]|su[oa]|il|la|l'|lo|al|alla|del|della|col|con\s+(?:il|la|mi[oa]))\s+"
    rf"(?:ex\s+)?{_KIN}|\bex\s+{_KIN}"
    r"|(?<!\buna\s)(?<!\bun\s)\b(?:signor[ae]?|signorina|sig\.(?:ra|na)?|dottor[e]?|dottoressa|"
    r"dott\.(?:ssa)?|avvocato|avv\.|ingegner[e]?|geometra|ragionier[e]?|professor(?:e|essa)?)"
    r"|\b(?:titolare|intestatari[oa]|cliente)\s+(?:è|e')|\bintestat\w*\s+a|\ba\s+nome\s+(?:di|del)"
    r"|\b(?:un|una)\s+cert[oa]|\bsi\s+chiama(?:va)?|\bmi\s+chiamo"
    r"|\b(?:il\s+)?(?:mio\s+)?nome\s+(?:è|e')|\bchiesto\s+di|\bparlato\s+con|\bparlo\s+con)"
    r"\s+$",
    re.IGNORECASE,
)
_WEAK_NAME_CUE = re.compile(
    r"\b(?:sono|io\s+sono|qui\s+è|sono\s+io|operat(?:ore|rice))\s+$", re.IGNORECASE
)
_LOWER_WORD = re.compile(r"[a-zà-ÿ]+(?:'[a-zà-ÿ]+)?", re.IGNORECASE)
_PARTICLES = {"de", "di", "del", "della", "da", "lo", "la", "dal", "dalla", "dello", "degli"}


@lru_cache(maxsize=1)
def _lower_gazetteer() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    given, surnames = _gazetteer()
    common = resources.files("pipeline.privacy.data").joinpath("nomi_comuni.txt")
    words = common.read_text(encoding="utf-8").split("\n")
    return (
        frozenset(w.lower() for w in given),
        frozenset(w.lower() for w in surnames),
        frozenset(w.replace("_", " ") for w in words if w and not w.startswith("#")),
    )


def _name_run(text: str, words: list[re.Match[str]], i: int) -> tuple[int, list[str]]:
    """How many words from `words[i]` form a run of gazetteer names (at most three names)."""
    given, surnames, _ = _lower_gazetteer()
    parts: list[str] = []
    j = i
    while j < len(words) and len(parts) < 3:
        if j > i and not text[words[j - 1].end() : words[j].start()].isspace():
            break  # "marco, luca": two runs
        word = words[j].group(0).lower()
        nxt = words[j + 1].group(0).lower() if j + 1 < len(words) else ""
        if parts and word in _PARTICLES and f"{word} {nxt}" in surnames:
            parts.append(f"{word} {nxt}")
            j += 2
        elif word in given or word in surnames:
            parts.append(word)
            j += 1
        else:
            break
    return j - i, parts


def find_lower_name(text: str) -> Iterable[Span]:
    """Names in any case after kinship and role cues, and lower-case given names without one."""
    given, _surnames, common = _lower_gazetteer()
    words = list(_LOWER_WORD.finditer(text))
    i = 0
    while i < len(words):
        count, parts = _name_run(text, words, i)
        if not count:
            i += 1
            continue
        start, end = words[i].start(), words[i + count - 1].end()
        before = text[max(0, start - 40) : start]
        plain = [p for p in parts if p not in common]
        cued = bool(_NAME_CUE.search(before))
        weakly_cued = bool(_WEAK_NAME_CUE.search(before)) and (bool(plain) or len(parts) >= 2)
        bare = parts[0] in given and (parts[0] not in common or len(parts) >= 2 and bool(plain))
        if cued or weakly_cued or bare:
            yield start, end
        i += count
