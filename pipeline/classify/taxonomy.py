"""The theme taxonomy of `configs/themes.yaml`: codes, labels, polarity, cues and examples."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pipeline.config import ConfigError, load_yaml
from pipeline.records import SENTIMENTS

_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Theme:
    """One taxonomy entry with its compiled cues."""

    code: str
    label_it: str
    label_en: str
    polarity: str
    patterns: tuple[re.Pattern[str], ...]
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """Themes, the threatened composite and sentiment cues, as loaded from YAML."""

    themes: tuple[Theme, ...]
    threatened: frozenset[str]
    positive: tuple[re.Pattern[str], ...]
    negative: tuple[re.Pattern[str], ...]
    irony: tuple[re.Pattern[str], ...]
    # The customer's own steps ("ho chiamato il mio avvocato"): cues inside are not the collector's.
    own_actions: tuple[re.Pattern[str], ...] = ()
    # A threat word denied by contrast ("più che minacciato mi sono sentito confuso").
    contrasts: tuple[re.Pattern[str], ...] = ()
    # The customer says outright there was no threat ("non mi sono sentita minacciata").
    denials: tuple[re.Pattern[str], ...] = ()

    @property
    def codes(self) -> list[str]:
        """Theme codes in taxonomy order."""
        return [t.code for t in self.themes]

    def label(self, code: str, language: str = "it") -> str:
        """Human label of a theme code in the report language."""
        for theme in self.themes:
            if theme.code == code:
                return theme.label_it if language == "it" else theme.label_en
        return code


def _compile(patterns: list | None, where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns or []:
        try:
            compiled.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(
                f"{where}: pattern {pattern!r} is not a valid regular expression: {exc}"
            ) from exc
    return tuple(compiled)


def _strings(entry: dict, key: str, where: str) -> tuple[str, ...]:
    values = entry.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise ConfigError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(v.strip() for v in values)


@lru_cache(maxsize=4)
def load_taxonomy(path: Path) -> Taxonomy:
    """Parse and check themes.yaml, naming the theme and field at fault."""
    raw = load_yaml(path) or {}
    themes = []
    for i, entry in enumerate(raw.get("themes") or []):
        where = f"{path} theme #{i + 1}"
        code = str(entry.get("code", ""))
        if not _CODE.match(code):
            raise ConfigError(f"{where}: code {code!r} must be UPPER_SNAKE_CASE")
        where = f"{where} ({code})"
        polarity = entry.get("polarity", "negative")
        if polarity not in SENTIMENTS:
            raise ConfigError(f"{where}: polarity must be one of {SENTIMENTS}")
        keywords = _strings(entry, "keywords", where)
        examples = _strings(entry, "examples", where)
        if not (entry.get("patterns") or keywords or examples):
            raise ConfigError(f"{where}: give at least one of keywords, patterns or examples")
        themes.append(
            Theme(
                code=code,
                label_it=str(entry.get("label_it", code)),
                label_en=str(entry.get("label_en", code)),
                polarity=polarity,
                patterns=_compile(entry.get("patterns"), where),
                keywords=keywords,
                examples=examples,
            )
        )
    codes = [t.code for t in themes]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"{path}: theme codes repeat")
    threatened = frozenset(raw.get("threatened") or [])
    if unknown := threatened - set(codes):
        raise ConfigError(f"{path}: 'threatened' names unknown theme(s) {sorted(unknown)}")
    sentiment = raw.get("sentiment") or {}
    return Taxonomy(
        themes=tuple(themes),
        threatened=threatened,
        positive=_compile(sentiment.get("positive"), f"{path} sentiment.positive"),
        negative=_compile(sentiment.get("negative"), f"{path} sentiment.negative"),
        irony=_compile(sentiment.get("irony"), f"{path} sentiment.irony"),
        own_actions=_compile(raw.get("own_actions"), f"{path} own_actions"),
        contrasts=_compile(raw.get("contrasts"), f"{path} contrasts"),
        denials=_compile(raw.get("denials"), f"{path} denials"),
    )
