"""Operating ascolto: forced and selective reruns, the service flows, and clear refusals."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ascolto.cli import app
from flows.process import agency_report, purge_expired, rerun_stage, use_models
from pipeline.asr.transcribe import FakeTranscriber
from pipeline.embed import FakeEmbedder
from pipeline.errors import NoRunYet
from pipeline.store import Store
from tests.conftest import FOLLOW_UP, QUESTION, run_flow

TEXTS = [
    QUESTION,
    "Mi hanno minacciato con l'avvocato e chiamavano tutti i giorni.",
    FOLLOW_UP,
    "Dopo è stata gentile e abbiamo fatto tre rate.",
]


def _count(data: Path, sql: str) -> int:
    with Store(data, read_only=True) as store:
        return int(store.con.execute(sql).fetchone()[0])


def test_from_stage_forces_that_stage_and_what_follows(batch, tmp_path):
    data, fake = tmp_path / "data", FakeTranscriber(TEXTS)
    run_flow(batch, data, fake)
    assert fake.calls == 4  # three recordings, one of them stereo (two channels)
    with use_models(transcriber=fake, embedder=FakeEmbedder()):
        from flows.process import process_recordings

        again = process_recordings(batch["recordings"], batch["manifest"], batch["cases"], data,
                                   from_stage="classify")  # fmt: skip
    assert fake.calls == 4 and again["transcribed"] == 0 and again["cached"] == 3
    assert again["classified"] == 3 and again["embedded"] == 0
    assert again["forced"] == ["classify", "topics", "scoring", "report"]
    assert set(again["timings"]) == {"ingest", "transcribe", "asr_within_transcribe", "embed",
                                     "classify", "topics", "scoring", "report"}  # fmt: skip
    # the same labels again, under the same key: replaced, never duplicated
    assert _count(data, "SELECT count(*) FROM interview_labels") == 3


def test_changed_themes_rerun_classification_changed_asr_reruns_transcription(batch, tmp_path):
    from pipeline.config import DEFAULT_CONFIG

    data, fake = tmp_path / "data", FakeTranscriber(TEXTS)
    run_flow(batch, data, fake)
    shipped = (DEFAULT_CONFIG.parent / "themes.yaml").read_text(encoding="utf-8")
    themes = tmp_path / "themes.yaml"
    config = tmp_path / "themes-changed.yaml"
    config.write_text(f"themes_file: {themes}\n", encoding="utf-8")
    # a comment is not a change: the key hashes the parsed taxonomy, not the file's bytes
    themes.write_text(shipped + "\n# edited\n", encoding="utf-8")
    commented = run_flow(batch, data, fake, config=config)
    assert (fake.calls, commented["transcribed"], commented["classified"]) == (4, 0, 0)
    themes.write_text(shipped.replace('- "avvocato"', '- "avvocato"\n      - "legale"', 1),
                      encoding="utf-8")  # fmt: skip
    new_themes = run_flow(batch, data, fake, config=config)
    assert (fake.calls, new_themes["transcribed"], new_themes["classified"]) == (4, 0, 3)
    asr = tmp_path / "asr-changed.yaml"
    asr.write_text(f"themes_file: {themes}\nasr:\n  beam_size: 3\n", encoding="utf-8")
    new_asr = run_flow(batch, data, fake, config=asr)
    assert (fake.calls, new_asr["transcribed"], new_asr["classified"]) == (8, 3, 3)


def test_rerun_stage_never_transcribes(batch, tmp_path):
    data, fake = tmp_path / "data", FakeTranscriber(TEXTS)
    run_flow(batch, data, fake)
    with use_models(transcriber=fake, embedder=FakeEmbedder()):
        classify = rerun_stage("classify", data)
        report = rerun_stage("report", data)
    assert fake.calls == 4
    assert (classify["classified"], classify["embedded"]) == (3, 0)
    assert report["classified"] == 0 and report["rerun_from"] == "report"
    assert Path(report["report"]).is_file()
    with pytest.raises(NoRunYet, match="no completed run"):
        rerun_stage("report", tmp_path / "empty")


def test_agency_report_for_a_period_and_selective_ingest(batch, tmp_path):
    data = tmp_path / "data"
    with use_models(transcriber=FakeTranscriber(TEXTS), embedder=FakeEmbedder()):
        from flows.process import process_recordings

        only_ag1 = process_recordings(batch["recordings"], batch["manifest"], batch["cases"],
                                      data, agencies=["AG1"])  # fmt: skip
        assert only_ag1["recordings"] == 2
        september = process_recordings(batch["recordings"], batch["manifest"], batch["cases"],
                                       data, until=__import__("datetime").date(2026, 9, 30))  # fmt: skip
        assert (september["recordings"], september["transcribed"]) == (2, 1)  # a.wav, b.wav
    from datetime import date

    path = Path(agency_report("AG1", data, since=date(2026, 9, 1), until=date(2026, 9, 30)))
    assert path.name == "agency-AG1_2026-09-01_2026-09-30-it.html"
    html = path.read_text(encoding="utf-8")
    assert "AG1" in html and "AG2" not in html


def test_purge_flow_uses_retention_and_copes_with_no_store(batch, tmp_path):
    assert purge_expired(tmp_path / "nothing")["recordings"] == 0
    data = tmp_path / "data"
    run_flow(batch, data, FakeTranscriber(TEXTS))
    assert purge_expired(data, older_than_days=100_000)["recordings"] == 0
    assert purge_expired(data, older_than_days=0)["recordings"] == 3
    assert _count(data, "SELECT count(*) FROM recordings") == 0


def _cli_run(batch, data: Path, *extra: str):
    args = ["run", "--recordings", str(batch["recordings"]), "--manifest", str(batch["manifest"]),
            "--cases", str(batch["cases"]), "--data-dir", str(data), *extra]  # fmt: skip
    with use_models(transcriber=FakeTranscriber(TEXTS), embedder=FakeEmbedder()):
        return CliRunner().invoke(app, args)


def test_unreachable_dask_scheduler_is_refused_before_anything_is_written(batch, tmp_path):
    data = tmp_path / "data"
    result = _cli_run(batch, data, "--dask", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and "cannot reach a Dask scheduler" in result.output
    assert not data.exists()
    bad = _cli_run(batch, data, "--dask", "local:zero")
    assert bad.exit_code == 2 and "local:N" in bad.output


def test_a_prefect_server_that_is_down_is_refused(batch, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    data = tmp_path / "data"
    result = _cli_run(batch, data)
    assert result.exit_code == 2 and "does not answer" in result.output
    assert not data.exists()
    served = CliRunner().invoke(app, ["serve", "--data-dir", str(data)])
    assert served.exit_code == 2 and "does not answer" in served.output


def test_serve_needs_a_prefect_server(monkeypatch, tmp_path):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "prefect server start" in result.output


def test_an_unwritable_data_dir_is_refused(batch, tmp_path):
    if os.geteuid() == 0:  # root writes through permissions: use a place nobody can write
        data = Path("/proc/ascolto-data")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        data = locked / "data"
    result = _cli_run(batch, data)
    assert result.exit_code == 2 and "cannot write to the data directory" in result.output


def test_unknown_stage_names_are_refused(batch, tmp_path):
    result = _cli_run(batch, tmp_path / "data", "--from", "transcription")
    assert result.exit_code == 2 and "unknown stage" in result.output
    rerun = CliRunner().invoke(app, ["rerun", "transcribe", "--data-dir", str(tmp_path)])
    assert rerun.exit_code == 2 and "cannot rerun" in rerun.output


def test_a_library_warning_is_a_json_line_too():
    """Importing BERTopic ahead of a run can warn ("Data map plotting is unavailable...")."""
    import json
    import subprocess
    import sys

    code = (
        "from ascolto.shared import prepare_prefect; prepare_prefect(0, log_json=True)\n"
        "import flows.process, warnings\n"  # the CLI imports the flow before any model loads
        "warnings.warn('Data map plotting is unavailable unless datamapplot is installed.')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_LOGGING")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line]
    assert lines and all(line.startswith("{") for line in lines), lines
    assert any("Data map plotting" in json.loads(line)["message"] for line in lines), lines


@pytest.mark.slow  # a CLI process of its own (logging is configured when Prefect loads)
def test_json_logs_are_json_lines_without_personal_data(batch, tmp_path):
    import json
    import subprocess
    import sys

    from tests.test_flow import PII_TEXTS, PLANTED

    env = dict(os.environ, ASCOLTO_FAKE_TEXTS=json.dumps(PII_TEXTS))
    env.pop("PREFECT_LOGGING_LEVEL", None)  # -vv decides
    args = ["run", "--recordings", str(batch["recordings"]), "--manifest", str(batch["manifest"]),
            "--cases", str(batch["cases"]), "--data-dir", str(tmp_path / "data"), "--log-json",
            "-vv"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "tests.fake_cli", *args], env=env,
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert len(lines) > 10 and {"time", "level", "logger", "message"} <= set(lines[0])
    assert any("transcribed 1/3" in line["message"] for line in lines)
    other = [line for line in done.stderr.splitlines() if line and not line.startswith("{")]
    assert not other, other[:5]
    everything = (done.stdout + done.stderr).lower()
    for secret in PLANTED:
        assert secret not in everything, secret


def test_transcription_reports_progress(batch, tmp_path):
    from flows.process import reporting_progress

    calls: list[tuple[str, int, int]] = []
    with reporting_progress(lambda stage, done, total: calls.append((stage, done, total))):
        run_flow(batch, tmp_path / "data", FakeTranscriber(TEXTS))
    assert [c for c in calls if c[0] == "transcribe"] == [("transcribe", i, 3) for i in range(4)]
    # one display across all stages: each later stage starts (0/1) and ends (1/1) in order
    later = [c for c in calls if c[0] != "transcribe"]
    stages = ["ingest", "embed", "classify", "topics", "scoring", "report"]
    assert later == [(s, d, 1) for s in stages for d in (0, 1)]


def test_a_served_run_fails_with_one_sentence_in_the_forms_words(batch, tmp_path, monkeypatch):
    from flows.parameters import SERVED_ENV
    from flows.process import process_recordings

    monkeypatch.setenv(SERVED_ENV, "1")
    records: list[logging.LogRecord] = []
    catch = logging.Handler()
    catch.emit = records.append  # type: ignore[method-assign]
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logging.getLogger(name).addHandler(catch)
    missing = tmp_path / "no-such-manifest.csv"
    try:
        state = process_recordings(
            batch["recordings"], missing, batch["cases"], tmp_path / "data", return_state=True
        )
    finally:
        for name in ("prefect.task_runs", "prefect.flow_runs"):
            logging.getLogger(name).removeHandler(catch)
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and not errors[0].exc_info  # one sentence, no traceback
    assert "the field 'manifest'" in errors[0].getMessage()
    assert state.is_failed()
    assert "no-such-manifest.csv" in state.message and "Traceback" not in state.message
    assert "--manifest" not in state.message  # the form has a field, not a flag
    nothing = rerun_stage("report", tmp_path / "empty", return_state=True)
    assert nothing.is_failed() and "no completed run" in nothing.message
    monkeypatch.delenv(SERVED_ENV)
    with pytest.raises(NoRunYet):  # the CLI still gets the exception (and its exit code)
        rerun_stage("report", tmp_path / "empty")


def test_flags_in_advice_become_the_forms_field_names():
    from flows.parameters import in_form_words

    message = "manifest.csv not found: pass --manifest or use another --data-dir; see `ascolto forget --dry-run`"
    assert in_form_words(message, ["manifest", "data_dir"]) == (
        "manifest.csv not found: pass the field 'manifest' or use another the field 'data_dir'; "
        "see `ascolto forget --dry-run`"
    )
