from pathlib import Path

import pytest
import yaml

from pipeline.classify import RuleClassifier, load_taxonomy, summarize_interview
from pipeline.config import ConfigError, load_settings

THEMES = load_settings().themes_file


@pytest.fixture(scope="module")
def classifier() -> RuleClassifier:
    return RuleClassifier(load_taxonomy(THEMES))


def test_threat_is_found_with_its_evidence(classifier):
    text = "mi ha detto che avrebbero avviato un'azione esecutiva sulla casa"
    label = classifier.classify(text)
    assert "LEGAL_THREAT" in label.themes and label.threatened
    assert label.sentiment == "negative"
    assert all(span in text for span in label.evidence["LEGAL_THREAT"])


@pytest.mark.parametrize(
    "text",
    [
        "non mi hanno mai minacciato, questo devo dirlo",
        "nessuno mi ha intimidito",
    ],
)
def test_negation_cancels_the_cue(classifier, text):
    label = classifier.classify(text)
    assert not label.threatened, label.evidence


def test_negation_does_not_cross_a_clause(classifier):
    label = classifier.classify("non ho pagato perché mi hanno minacciato")
    assert label.threatened


def test_irony_is_not_courtesy(classifier):
    label = classifier.classify("gentilissimi, come no")
    assert "COURTESY" not in label.themes
    assert label.sentiment == "negative"


def test_empty_and_foreign_text_are_neutral_without_themes(classifier):
    for text in ["", "   ", "the weather is lovely today"]:
        label = classifier.classify(text)
        assert (label.sentiment, label.themes, label.threatened) == ("neutral", [], False)


def test_very_long_text_does_not_crash(classifier):
    label = classifier.classify("mi hanno messo fretta. " * 2000)
    assert "UNDUE_PRESSURE" in label.themes


def test_a_theme_added_in_yaml_is_detected_without_code(tmp_path: Path):
    taxonomy = yaml.safe_load(THEMES.read_text(encoding="utf-8"))
    taxonomy["themes"].append(
        {
            "code": "DISCONNECTION_THREAT",
            "label_it": "Minaccia di distacco",
            "label_en": "Disconnection threat",
            "polarity": "negative",
            "patterns": [r"\bstacc\w* (la luce|il gas|la corrente)"],
        }
    )
    path = tmp_path / "themes.yaml"
    path.write_text(yaml.safe_dump(taxonomy, allow_unicode=True), encoding="utf-8")
    label = RuleClassifier(load_taxonomy(path)).classify(
        "mi hanno detto che mi staccavano la luce domani"
    )
    assert "DISCONNECTION_THREAT" in label.themes


def test_broken_pattern_names_theme_and_pattern(tmp_path: Path):
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  - code: BAD\n    patterns: ['(unclosed']\n")
    with pytest.raises(ConfigError, match=r"(?s)BAD.*unclosed"):
        load_taxonomy(path)


def test_interview_summary_and_empathy_score(classifier):
    taxonomy = load_taxonomy(THEMES)
    texts = ["molto gentile e educata", "mi hanno proposto una rateizzazione", "mi ha messo fretta"]
    summary = summarize_interview([classifier.classify(t) for t in texts], texts, taxonomy)
    assert summary.threatened
    assert summary.empathy_score == pytest.approx(100 * (2 + 1) / (3 + 2))
    assert summary.quotes["UNDUE_PRESSURE"] == ["mi ha messo fretta"]
    assert summarize_interview([], [], taxonomy).empathy_score == 50.0
