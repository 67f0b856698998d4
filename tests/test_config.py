from pathlib import Path

import pytest

from pipeline.config import ConfigError, Settings, load_settings


def test_default_config_loads_and_points_at_shipped_files():
    settings = load_settings()
    assert settings.language == "it"
    assert settings.themes_file.is_file() and settings.interview_file.is_file()


def test_unknown_key_is_rejected_naming_the_file(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("asr:\n  modle: tiny\n")
    with pytest.raises(ConfigError, match=r"(?s)bad\.yaml.*modle"):
        load_settings(path)


def test_out_of_range_value_is_rejected(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("asr:\n  beam_size: 99\n")
    with pytest.raises(ConfigError, match="beam_size"):
        load_settings(path)


def test_missing_and_invalid_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("asr: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)


def test_stage_key_changes_only_with_its_own_section():
    base = Settings()
    other_classifier = Settings(classify={"negation_window": 2})
    assert base.stage_key("asr") == other_classifier.stage_key("asr")
    assert base.stage_key("classify") != other_classifier.stage_key("classify")


def test_a_partial_config_overrides_only_its_keys(tmp_path):
    from pipeline.config import load_settings

    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "classify:\n  negation_window: 6\nredact:\n  pseudonyms: true\n", encoding="utf-8"
    )
    shipped, merged = load_settings(), load_settings(mine)
    assert merged.classify.negation_window == 6 and merged.redact.pseudonyms
    assert merged.redact.allow_list == shipped.redact.allow_list  # from default.yaml, not code
    assert merged.themes_file == shipped.themes_file


def test_classify_key_follows_the_heads_weights_not_their_folder(tmp_path):
    import shutil

    from pipeline.config import load_settings
    from pipeline.stages import StageKeys

    shipped = load_settings()
    copy = tmp_path / "elsewhere" / "heads"
    shutil.copytree(shipped.classify.heads, copy)
    config = tmp_path / "mine.yaml"
    config.write_text("classify:\n  heads: elsewhere/heads\n", encoding="utf-8")
    moved = load_settings(config)
    assert moved.classify.heads == copy.resolve()
    assert StageKeys.from_settings(moved).classify == StageKeys.from_settings(shipped).classify
    rules = load_settings(config).model_copy(
        update={"classify": moved.classify.model_copy(update={"method": "rules"})}
    )
    assert StageKeys.from_settings(rules).classify != StageKeys.from_settings(shipped).classify


def test_a_typo_in_redact_entities_fails_at_load_naming_the_file(tmp_path):
    config = tmp_path / "typo.yaml"
    config.write_text("redact:\n  entities: [CF, IBNA]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"(?s)typo\.yaml.*IBNA") as caught:
        load_settings(config)
    assert "redact.entities" in str(caught.value)


def test_relative_paths_are_read_from_the_config_files_folder(tmp_path):
    folder = tmp_path / "analyst"
    folder.mkdir()
    config = folder / "my.yaml"
    config.write_text("themes_file: themes.yaml\nclassify:\n  heads: ../heads\n", encoding="utf-8")
    settings = load_settings(config)
    assert settings.themes_file == folder / "themes.yaml"
    assert settings.classify.heads == tmp_path / "heads"
    assert settings.interview_file == load_settings().interview_file  # the default's, untouched
