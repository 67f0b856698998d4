import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ascolto.cli import app

runner = CliRunner()


def _command_tree(
    command: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_tree(sub, (*path, name))


COMMANDS = list(_command_tree(typer.main.get_command(app)))


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "ascolto" for p, _ in COMMANDS]
)
def test_every_command_has_help(path, command):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    first_line = (command.help or "").strip().splitlines()[0]
    assert first_line and _flat(first_line) in _flat(result.output)


def test_the_command_tree_is_complete():
    names = {" ".join(p) for p, _ in COMMANDS}
    expected = {"", "run", "demo", "rerun", "serve", "redact", "forget", "purge", "export",
                "report", "review", "transcribe", "classify", "evaluate", "train", "status", "topics",
                "topics refit", "topics rename", "topics fit", "models", "models convert-openai"}  # fmt: skip
    assert names == expected


def test_counted_and_flag_options_show_no_value_type():
    result = runner.invoke(app, ["run", "--help"])
    rows = {
        line.split()[1]: line
        for line in result.output.splitlines()
        if "--verbose" in line or "--log-json" in line
    }
    assert set(rows) == {"--verbose", "--log-json"}
    assert not any("<int>" in row or "<bool>" in row for row in rows.values()), rows


def test_an_ascolto_error_is_one_red_line_with_its_exit_code(tmp_path, monkeypatch):
    nowhere = runner.invoke(app, ["status", "--data-dir", str(tmp_path / "nowhere")], color=True)
    assert nowhere.exit_code == 2
    assert "\x1b[31merror: no ascolto store in" in nowhere.output
    assert "Traceback" not in nowhere.output

    import pipeline.store
    from pipeline.errors import AscoltoError

    class Odd(AscoltoError):
        exit_code = 3

    def refuse(data_dir: Path) -> None:
        raise Odd(f"cannot use {data_dir.name}")

    monkeypatch.setattr(pipeline.store, "require_store", refuse)
    odd = runner.invoke(app, ["status", "--data-dir", str(tmp_path / "d")])
    assert odd.exit_code == 3 and "error: cannot use d" in odd.output


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["rerun", "transcribe"], "cannot rerun 'transcribe'; one of: embed, classify, topics, scoring, report"),
        (["demo", "--from", "asr"], "unknown stage 'asr'; one of: transcribe, embed, classify, topics, scoring, report"),
        (["report", "-o", "r.html", "--lang", "fr"], "'fr' is not one of: it, en"),
        (["export", "-o", "out", "--format", "xlsx"], "'xlsx' is not one of: csv, parquet"),
        (["transcribe", "a.wav", "-o", "o.jsonl", "--backend", "whisper"], "'whisper' is not one of: faster-whisper, openai-whisper"),
        (["transcribe", "a.wav", "-o", "o.jsonl", "--compute-type", "int4"], "'int4' is not one of: auto, int8,"),
        (["purge", "--older-than", "-1"], "'--older-than': Input should be greater than or equal to 0"),
        (["forget"], "give exactly one of --case or --customer"),
    ],
)  # fmt: skip
def test_wrong_choices_are_usage_errors_listing_the_choices(tmp_path, monkeypatch, args, expect):
    monkeypatch.chdir(tmp_path)  # the default --data-dir, ascolto-data, would be made here
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expect in _flat(result.output.replace("│", " ")), result.output
    assert list(tmp_path.iterdir()) == []


def test_json_lines_helpers_name_bad_lines_by_number_only(tmp_path):
    from pipeline.files import read_jsonl, write_jsonl

    path = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": "è già"}, {"id": 2, "text": "b"}])
    assert path.read_text(encoding="utf-8").splitlines()[0] == '{"id": 1, "text": "è già"}'
    with path.open("a", encoding="utf-8") as fh:
        fh.write('\n[1, 2]\n{"id": 3}\nnot json: Mario Rossi\n{"text": 4}\n')
    records, skipped = read_jsonl(path)
    assert [(n, r["id"]) for n, r in records] == [(1, 1), (2, 2)]
    assert skipped == [4, 5, 6, 7]
    assert len(read_jsonl(path, text_field=None).records) == 4  # {"id": 3} and {"text": 4} too


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and "ascolto" in result.output


def test_help_imports_no_heavy_library():
    code = (
        "import sys, ascolto.cli; "
        "heavy = [m for m in ('prefect', 'faster_whisper', 'bertopic', 'torch', 'duckdb', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_missing_folder_is_a_clear_error_with_exit_2(tmp_path):
    result = runner.invoke(
        app,
        [
            "run",
            "--recordings",
            str(tmp_path / "nowhere"),
            "--manifest",
            str(tmp_path / "m.csv"),
            "--cases",
            str(tmp_path / "c.csv"),
            "--data-dir",
            str(tmp_path / "d"),
        ],
    )
    assert result.exit_code == 2
    assert "recordings folder not found" in result.output


@pytest.mark.parametrize("command", [["demo", "--limit", "1"], ["rerun", "classify"]])
def test_a_bad_settings_file_fails_before_prefect_starts(tmp_path, monkeypatch, command):
    import ascolto.run_commands

    def no_prefect(*args: object) -> None:
        raise AssertionError("Prefect was started with an invalid settings file")

    monkeypatch.setattr(ascolto.run_commands, "prepare_prefect", no_prefect)
    bad = tmp_path / "bad.yaml"
    bad.write_text("asr:\n  beam_size: 0\n", encoding="utf-8")
    data = tmp_path / "d"
    result = runner.invoke(app, [*command, "--config", str(bad), "--data-dir", str(data)])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "bad.yaml" in result.output
    assert "beam_size" in result.output and "Traceback" not in result.output
    assert not data.exists()


def test_redact_command_writes_placeholders_and_offsets(tmp_path):
    import json

    source = tmp_path / "in.jsonl"
    lines = [
        {"id": 1, "text": "mi chiamo Giulia Bianchi, il mio numero è 347 218 5590"},
        {"id": 2, "text": "dovevo 250 euro e ho pagato il 15/04/2026"},
    ]
    secret_line = "questa riga non è JSON: Mario Rossi RSSMRA80A01H501U"
    source.write_text(
        "\n".join([json.dumps(lines[0]), secret_line, json.dumps(lines[1])]) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["redact", str(source), "-o", str(out)])
    assert result.exit_code == 1  # one bad line, the good ones are still written
    assert f"{source}:2" in result.output and "RSSMRA" not in result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == [1, 2]
    first = records[0]
    assert first["redacted"] == "mi chiamo [NOME], il mio numero è [TELEFONO]"
    spans = [first["text"][e["start"] : e["end"]] for e in first["entities"]]
    assert spans == ["Giulia Bianchi", "347 218 5590"]
    assert records[1]["redacted"] == lines[1]["text"] and records[1]["entities"] == []


def test_export_neutralises_formulas(tmp_path):
    import pandas as pd

    from pipeline.report.export import export_csv, safe_cell

    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("-2") == "'-2"
    assert safe_cell("ok") == "ok" and safe_cell(-2) == -2
    out = export_csv(
        pd.DataFrame({"agency_id": ["@SUM(A1)", "AG1"], "n": [1, 2]}), tmp_path / "x.csv"
    )
    text = out.read_text(encoding="utf-8-sig")
    assert "'@SUM(A1)" in text and "\nAG1," in text


def test_classify_and_evaluate_commands(tmp_path):
    import json

    texts = [
        {
            "id": "a",
            "text": "mi hanno minacciato con l'avvocato",
            "sentiment": "negative",
            "themes": ["LEGAL_THREAT"],
        },
        {
            "id": "b",
            "text": "non mi hanno mai minacciato, molto gentili",
            "sentiment": "positive",
            "themes": ["COURTESY"],
        },
        {"id": "c", "text": "   ", "sentiment": "neutral", "themes": []},
        {"id": "d", "text": "the agent was rude", "sentiment": "neutral", "themes": []},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(t) for t in texts) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["classify", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert rows["a"]["threatened"] and rows["a"]["evidence"]["LEGAL_THREAT"]
    assert not rows["b"]["threatened"] and rows["b"]["sentiment"] == "positive"
    assert rows["c"]["themes"] == [] and rows["c"]["sentiment"] == "neutral"  # blank: no crash
    assert set(rows["a"]["sentiment_scores"]) == {"positive", "neutral", "negative"}

    metrics = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate", str(source), "-o", str(metrics)])
    assert result.exit_code == 0, result.output
    figures = json.loads(metrics.read_text(encoding="utf-8"))
    assert figures["examples"] == 4 and figures["threatened"]["f1"] == 1.0
    assert figures["themes"]["LEGAL_THREAT"]["recall"] == 1.0


def test_demo_limit_runs_only_the_first_recordings(tmp_path):
    from flows.process import use_models
    from pipeline.asr.transcribe import FakeTranscriber
    from pipeline.embed import FakeEmbedder

    with use_models(transcriber=FakeTranscriber(), embedder=FakeEmbedder()):
        result = runner.invoke(app, ["demo", "--limit", "2", "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "recordings 2: transcribed 2, cached 0" in result.output


def test_train_command_writes_heads_and_reports_dev(tmp_path):
    import json

    rows = (Path(__file__).parents[1] / "models/training/train.jsonl").read_text().splitlines()
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(rows[::6]) + '\n{"text": "no labels"}\n', encoding="utf-8")
    dev = tmp_path / "dev.jsonl"
    dev.write_text("\n".join(rows[1::40]) + "\n", encoding="utf-8")
    out = tmp_path / "heads"
    result = runner.invoke(app, ["train", str(train), "--dev", str(dev), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{train}:{len(rows[::6]) + 1}: skipped" in result.output
    assert "dev: " in result.output and "sentiment macro-F1" in result.output
    meta = json.loads((out / "heads.json").read_text(encoding="utf-8"))
    assert meta["training"]["statements"] == len(rows[::6])
    assert meta["sources"]["dev"] == str(dev)
