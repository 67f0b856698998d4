"""Heavy libraries imported once, without the optional packages they pull in and ascolto never uses.

spaCy imports torch through thinc when torch is installed; Presidio's analyzer imports
transformers for an NLP engine ascolto does not use and torch to pick a device (and spaCy loads
Presidio when it builds its first pipeline, through an entry point); BERTopic imports
transformers, umap and hdbscan for representations, plots and a clustering ascolto replaces.
Each library falls back cleanly when they are missing, and together they cost about 9 s of
every run on 2 cores (measured with `python -X importtime` and py-spy on `ascolto demo`; see
README, Throughput).

While one of these libraries loads, the skipped packages look not installed. A package already
imported (torch, by the openai-whisper or sentence-transformers backends) is used as is, and a
skipped package imported later is imported normally: nothing is hidden outside these calls.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import runpy
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

SKIPPED = ("torch", "transformers", "umap", "hdbscan", "pynndescent")


class _SkipOptional(importlib.abc.MetaPathFinder):
    """Refuse the skipped packages; leave every other import to the normal finders."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        """Raise for a skipped package, else return None (the next finder decides)."""
        if name.split(".")[0] in SKIPPED:
            raise ModuleNotFoundError(f"No module named {name!r} (skipped by ascolto)", name=name)


@contextmanager
def _skipping_optional() -> Iterator[None]:
    finder = _SkipOptional()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _import_without_optional(*modules: str) -> ModuleType:
    """Import `modules` with the skipped packages hidden, unless the first is already loaded."""
    if modules[0] not in sys.modules:
        with _skipping_optional():
            for name in modules:
                importlib.import_module(name)
    return sys.modules[modules[0]]


def import_spacy() -> ModuleType:
    """spaCy, without torch (ascolto's spaCy pipelines are blank and lookup-based)."""
    return _import_without_optional("spacy")


def spacy_blank(language: str) -> Any:
    """`spacy.blank(language)`, without torch or transformers.

    The first pipeline spaCy builds loads every package registering spaCy factories, Presidio's
    analyzer among them, which would import both.
    """
    spacy = import_spacy()
    with _skipping_optional():
        return spacy.blank(language)


def import_presidio_analyzer() -> ModuleType:
    """Presidio's analyzer, without transformers (its spaCy engine is the one used)."""
    import_spacy()
    return _import_without_optional(
        "presidio_analyzer",
        "presidio_analyzer.nlp_engine",
        "presidio_analyzer.predefined_recognizers",
    )


def import_bertopic() -> None:
    """BERTopic with the representations and backends ascolto uses, without the rest."""
    import_spacy()  # bertopic.representation imports spaCy
    _import_without_optional("bertopic", "bertopic.dimensionality", "bertopic.representation")


@cache
def spacy_stop_words(language: str) -> frozenset[str]:
    """The stop words spaCy lists for a language, read without importing spaCy's language class.

    `import spacy.lang.fr.stop_words` runs `spacy/lang/fr/__init__.py`, which compiles the
    French tokenizer exceptions (about 4 s); the list itself is one small file.
    """
    spec = importlib.util.find_spec("spacy")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("spaCy is not installed", name="spacy")
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / language / "stop_words.py"
    return frozenset(runpy.run_path(str(path))["STOP_WORDS"])
