"""Heavy libraries load without the optional packages ascolto never uses (pipeline/imports.py)."""

import subprocess
import sys

import pytest

from pipeline.imports import spacy_stop_words


def _loaded_after(code: str) -> list[str]:
    """The skipped packages present in sys.modules after running `code` in a fresh interpreter."""
    probe = (
        f"import sys; {code}; "
        "print(sorted(m for m in ('torch', 'transformers', 'umap', 'hdbscan') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return eval(out.stdout.strip().splitlines()[-1])  # noqa: S307  # our own probe's list


@pytest.mark.parametrize(
    "code",
    [
        "from pipeline.classify.cues import italian_nlp; italian_nlp()('Mi hanno minacciato.')",
        "from pipeline.privacy.redact import _analyzer; _analyzer()",
        "from pipeline.imports import import_bertopic; import_bertopic(); from bertopic import BERTopic",
    ],
    ids=["spacy", "presidio", "bertopic"],
)
def test_heavy_libraries_load_without_torch_or_transformers(code):
    assert _loaded_after(code) == []


def test_a_package_imported_before_is_kept():
    # the openai-whisper backend imports torch first: spaCy must then see and keep it
    code = "import torch; from pipeline.imports import import_spacy; import_spacy()"
    assert "torch" in _loaded_after(code)


def test_stop_words_are_spacys_lists_read_without_the_language_classes():
    from spacy.lang.it.stop_words import STOP_WORDS as ITALIAN

    assert spacy_stop_words("it") == frozenset(ITALIAN) and "di" in spacy_stop_words("it")
    assert {"le", "les", "des"} <= spacy_stop_words("fr")
    with pytest.raises(FileNotFoundError):
        spacy_stop_words("xx-not-a-language")
