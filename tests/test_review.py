"""Analysts' reviews: the store, the API and its security rules, reviews that count (fake models)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_settings
from pipeline.errors import NoRunYet, NoStore
from pipeline.review.app import make_app
from pipeline.review.context import check_ready
from pipeline.stages.report import last_run
from pipeline.store import Store
from tests.conftest import agency_store, case_row

FREQS = {"AG01": 200.0, "AG02": 300.0}
THREAT = "Mi hanno minacciato con l'avvocato e chiamavano tutti i giorni."
SAID = {
    "AG01": (THREAT, "Alla fine abbiamo fatto tre rate."),
    "AG02": ("L'operatrice era gentile e mi ha spiegato tutto.", "Ho pagato subito, tutto bene."),
}
DATES = {"AG01": ["2026-09-02", "2026-09-16", "2026-10-05"], "AG02": ["2026-09-05", "2026-10-10"]}
HOST = "http://127.0.0.1:8766"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A store of five interviews over two agencies, labelled by the shipped classifier."""
    root = tmp_path_factory.mktemp("review")
    return agency_store(root, DATES, FREQS, SAID, lambda a, i, c: case_row(c, a, 100, 50 * i))


@pytest.fixture
def data(built: Path, tmp_path: Path) -> Path:
    """A private copy of the built data directory (tests write reviews into it)."""
    return Path(shutil.copytree(built, tmp_path / "data"))


@pytest.fixture
def client(data: Path):
    from fastapi.testclient import TestClient

    return TestClient(make_app(data, load_settings()), base_url=HOST)


def _quotes(client, **params) -> list[dict]:
    response = client.get("/api/quotes", params=params)
    assert response.status_code == 200, response.text
    return response.json()["quotes"]


def _threat_quote(client) -> dict:
    (quote,) = [q for q in _quotes(client, agency="AG01") if q["text"] == THREAT][:1]
    return quote


def _post(client, body: dict, **headers):
    return client.post("/api/reviews", json=body, headers=headers)


def _clear(quote: dict) -> dict:
    """The analyst says: not threatened, no theme, neutral."""
    return {"quote_id": quote["id"], "sentiment": "neutral", "threatened": False, "themes": []}


# -- the store ----------------------------------------------------------------------------
def test_reviews_table_is_the_last_of_the_schema_and_erased_with_recordings():
    from pipeline.store import erasure

    schema = (Path(erasure.__file__).parent / "schema.sql").read_text(encoding="utf-8")
    assert schema.rstrip().endswith("themes VARCHAR[]);")
    assert schema.rindex("CREATE TABLE IF NOT EXISTS reviews") == schema.rindex("CREATE TABLE")
    assert "reviews" in erasure._RECORDING_TABLES


def test_quotes_list_labels_evidence_and_filters(client):
    quotes = _quotes(client)
    assert len(quotes) == 10  # five interviews, two customer turns each
    threat = _threat_quote(client)
    assert threat["threatened"] is True and threat["agency_id"] == "AG01"
    assert threat["month"] == "2026-09" and threat["review"] is None
    assert any(threat["evidence"].values())  # the words behind the flag
    assert {"id", "text", "agency_id", "themes", "sentiment", "low_confidence", "unsure"} <= set(
        threat
    )
    # the classifier's own uncertain labels first, then the most unsure first
    order = [(q["uncertain"] is None, -q["unsure"]) for q in quotes]
    assert order == sorted(order)
    assert {q["agency_id"] for q in _quotes(client, agency="AG02")} == {"AG02"}
    assert all(q["threatened"] for q in _quotes(client, label="threatened"))
    assert len(_quotes(client, label="threatened")) == 3  # AG01's threat line, three interviews
    theme = threat["themes"][0]
    assert all(theme in q["themes"] for q in _quotes(client, theme=theme))
    assert _quotes(client, status="reviewed") == []


def test_a_review_round_trip_and_status_filter(client, data):
    quote = _threat_quote(client)
    response = _post(client, _clear(quote))
    assert response.status_code == 201, response.text
    review = response.json()["quote"]["review"]
    assert review["verdict"] == "corrected" and review["threatened"] is False
    reviewed = _quotes(client, status="reviewed")
    assert [q["id"] for q in reviewed] == [quote["id"]]
    assert quote["id"] not in [q["id"] for q in _quotes(client, status="unreviewed")]
    assert quote["id"] not in [q["id"] for q in _quotes(client, label="threatened")]
    # confirming another quote as the model said is a "confirmed" verdict
    other = _quotes(client, agency="AG02")[0]
    body = {k: other[k] for k in ("sentiment", "threatened", "themes")} | {"quote_id": other["id"]}
    assert _post(client, body).json()["quote"]["review"]["verdict"] == "confirmed"
    # one row per quote: a second review of the same quote replaces the first
    assert _post(client, _clear(quote)).status_code == 201
    with Store(data, read_only=True) as store:
        rows = store.query("SELECT * FROM reviews ORDER BY verdict")
    assert list(rows["verdict"]) == ["confirmed", "corrected"]
    assert rows["model_threatened"].tolist() == [other["threatened"], True]
    assert rows["reviewer"].iloc[0]  # who
    assert THREAT not in rows.to_csv()  # the store keeps a hash of the words, not a copy


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"themes": ["NOT_A_THEME"]}, 422, "unknown theme"),
        ({"quote_id": "deadbeef:99"}, 404, "no quote"),
        ({"quote_id": "nonsense"}, 404, "no quote"),
        ({"sentiment": "furious"}, 422, "sentiment"),
        ({"threatened": True}, 422, "threat theme"),
        ({"extra": 1}, 422, "extra"),
    ],
)
def test_bad_reviews_are_refused_with_the_reason(client, change, status, reason):
    body = _clear(_threat_quote(client)) | change
    response = _post(client, body)
    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]


def test_unknown_filters_are_refused_with_the_reason(client):
    response = client.get("/api/quotes", params={"theme": "NOPE"})
    assert response.status_code == 422 and "unknown theme" in response.json()["detail"]
    response = client.get("/api/quotes", params={"status": "maybe"})
    assert response.status_code == 422 and "unknown status" in response.json()["detail"]


def test_cross_site_and_non_json_posts_are_refused(client):
    body = _clear(_threat_quote(client))
    evil = _post(client, body, Origin="http://evil.example")
    assert evil.status_code == 403 and "cross-site" in evil.json()["detail"]
    form = client.post("/api/reviews", data={"quote_id": body["quote_id"]})
    assert form.status_code == 415 and "application/json" in form.json()["detail"]
    plain = client.post("/api/reviews", content=b"{}", headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    rebinding = client.get("/api/quotes", headers={"Host": "evil.example:8766"})
    assert rebinding.status_code == 403  # a DNS-rebinding page names another host
    assert _post(client, body, Origin=HOST).status_code == 201  # the page's own origin
    assert _post(client, body).status_code == 201  # no Origin: curl, scripts on this machine


def test_another_host_needs_a_token(data):
    from fastapi.testclient import TestClient

    settings = load_settings()
    wide = settings.model_copy(
        update={"review": settings.review.model_copy(update={"host": "0.0.0.0"})}
    )
    with pytest.raises(Exception, match="token"):
        make_app(data, wide)
    client = TestClient(make_app(data, wide, token="s3cret"), base_url="http://10.1.2.3:8766")
    assert client.get("/api/quotes").status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/api/quotes", headers={"X-Ascolto-Token": "wrong"}).status_code == 401
    ok = client.get("/api/quotes", headers={"X-Ascolto-Token": "s3cret"})
    assert ok.status_code == 200 and ok.json()["total"] == 10
    page = client.get("/", params={"token": "s3cret"})
    assert page.status_code == 200 and "s3cret" in page.text  # the page sends it as a header


def test_audio_is_off_by_default(client):
    quote = _threat_quote(client)
    response = client.get(f"/api/quotes/{quote['id']}/audio")
    assert response.status_code == 404 and "review.audio" in response.json()["detail"]


def test_audio_on_decodes_the_segment_in_memory(built, data):
    import io
    import wave

    from fastapi.testclient import TestClient

    settings = load_settings()
    review = settings.review.model_copy(
        update={"audio": True, "recordings": built.parent / "recordings"}
    )
    client = TestClient(
        make_app(data, settings.model_copy(update={"review": review})), base_url=HOST
    )
    quote = _threat_quote(client)
    before = sorted(p.name for p in data.rglob("*"))
    response = client.get(f"/api/quotes/{quote['id']}/audio")
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert seconds == pytest.approx(quote["end_s"] - quote["start_s"], abs=0.01)
    assert sorted(p.name for p in data.rglob("*")) == before  # nothing written


def test_page_renders_quotes_and_filters_server_side(client):
    page = client.get("/", params={"agency": "AG02"})
    assert page.status_code == 200
    assert "AG02" in page.text and "minacciato con" not in page.text
    assert "<mark>" in client.get("/", params={"agency": "AG01"}).text  # evidence highlighted
    assert "http" not in page.text.split("<body>")[1].replace(HOST, "")  # nothing from the network


def test_no_store_or_no_run_says_to_run_first(tmp_path):
    with pytest.raises(NoStore):
        check_ready(tmp_path / "nothing")
    with Store(tmp_path / "empty"):
        pass
    with pytest.raises(NoRunYet, match="ascolto run"):
        check_ready(tmp_path / "empty")


# -- reviews count --------------------------------------------------------------------------
def _scorecard(data: Path) -> pd.DataFrame:
    from pipeline.scoring import agency_scorecard
    from pipeline.stages.scoring import interviews_frame

    with Store(data, read_only=True) as store:
        keys = last_run(store).keys
        frame = interviews_frame(store, keys)
        return agency_scorecard(frame, store.cases(), load_settings().scoring).set_index(
            "agency_id"
        )


def test_scorecard_and_report_use_the_analysts_label(client, data, tmp_path):
    from pipeline.stages.report import rebuild_report

    before = _scorecard(data)
    assert (
        before.loc["AG01", "threatened_rate"] == 1.0 and before.loc["AG01", "reviewed_labels"] == 0
    )
    quote = _threat_quote(client)
    assert _post(client, _clear(quote)).status_code == 201
    after = _scorecard(data)
    assert after.loc["AG01", "threatened_rate"] == pytest.approx(2 / 3)  # one interview cleared
    assert after.loc["AG01", "reviewed_labels"] == 1 and after.loc["AG02", "reviewed_labels"] == 0
    assert after.loc["AG02", "threatened_rate"] == before.loc["AG02", "threatened_rate"]
    out = tmp_path / "report.html"
    with Store(data, read_only=True) as store:
        rebuild_report(store, load_settings(), out)
    html = out.read_text(encoding="utf-8")
    assert 'id="review-agreement"' in html and "1 etichette" in html
    assert '<td class="precision">0/1 (0%)</td>' in html  # the one flag reviewed was not confirmed


def test_report_says_no_reviews_yet(data, tmp_path):
    from pipeline.stages.report import rebuild_report

    out = tmp_path / "report.html"
    with Store(data, read_only=True) as store:
        rebuild_report(store, load_settings(), out)
    assert 'id="review-none"' in out.read_text(encoding="utf-8")


def test_reviews_are_exported(client, data, tmp_path):
    from pipeline.report.export import export_all

    _post(client, _clear(_threat_quote(client)))
    with Store(data, read_only=True) as store:
        counts = export_all(store, tmp_path / "out", "csv")
        export_all(store, tmp_path / "pq", "parquet", tables=("reviews",))
    assert counts["reviews"] == 1
    csv = pd.read_csv(tmp_path / "out" / "reviews.csv", encoding="utf-8-sig")
    row = csv.iloc[0]
    assert row["agency_id"] == "AG01" and row["verdict"] == "corrected" and bool(row["applies"])
    assert bool(row["model_threatened"]) and not bool(row["threatened"])
    assert len(pd.read_parquet(tmp_path / "pq" / "reviews.parquet")) == 1


# -- reruns, erasure, retraining ------------------------------------------------------------
def _rerun(data: Path, stage: str, config: Path | str = "") -> dict:
    from flows.process import rerun_stage, use_models
    from pipeline.embed import FakeEmbedder

    with use_models(embedder=FakeEmbedder()):
        return rerun_stage(stage, data, config=config)


def _labels_of(data: Path, text: str) -> pd.DataFrame:
    """The current run's labels of every quote with these words."""
    with Store(data, read_only=True) as store:
        keys = last_run(store).keys
        frame = store.review_quotes(keys.classify, keys.transcript)
    return frame[frame["text"] == text]


def test_reviews_survive_reclassification_and_a_topic_refit(client, data, tmp_path):
    quote = _threat_quote(client)
    assert _post(client, _clear(quote)).status_code == 201
    config = tmp_path / "other.yaml"  # another classify key: every interview is labelled again
    config.write_text("classify:\n  negation_window: 5\ntopics:\n  min_utterances: 10\n")
    old_key = last_run(Store(data, read_only=True)).keys.classify
    summary = _rerun(data, "classify", config)
    assert summary["classified"] == 5
    with Store(data, read_only=True) as store:
        assert last_run(store).keys.classify != old_key
        assert store.review_count() == 1
    assert _rerun(data, "topics", config)["topics_fitted"]
    reviewed = _quotes(client, status="reviewed")
    assert [q["id"] for q in reviewed] == [quote["id"]]  # applies under the new key too
    assert _scorecard(data).loc["AG01", "reviewed_labels"] == 1


def test_a_review_of_other_words_is_kept_but_not_applied(client, data):
    quote = _threat_quote(client)
    assert _post(client, _clear(quote)).status_code == 201
    with Store(data) as store:  # as if a new transcription changed the words of that utterance
        recording_id, utt_idx = quote["id"].rsplit(":", 1)
        store.con.execute(
            "UPDATE utterances SET text = 'Altre parole.' WHERE recording_id = ? AND utt_idx = ?",
            [recording_id, int(utt_idx)],
        )
    assert _quotes(client, status="reviewed") == []
    assert _scorecard(data).loc["AG01", "threatened_rate"] == 1.0
    from pipeline.report.export import reviews_table

    with Store(data, read_only=True) as store:
        exported = reviews_table(store)
    assert len(exported) == 1 and not exported["applies"].iloc[0]


def test_forget_and_purge_erase_reviews_with_their_subject(client, data):
    from pipeline.privacy.retention import forget_in, purge_in

    quotes = _quotes(client, agency="AG01")
    for quote in quotes:
        body = {k: quote[k] for k in ("sentiment", "threatened", "themes")}
        assert _post(client, body | {"quote_id": quote["id"]}).status_code == 201
    other = _quotes(client, agency="AG02")[0]
    body = {k: other[k] for k in ("sentiment", "threatened", "themes")}
    assert _post(client, body | {"quote_id": other["id"]}).status_code == 201
    deletion = forget_in(data, case_id="AG01K0")
    assert deletion.rows["reviews"] == 2  # that interview's two quotes
    with Store(data, read_only=True) as store:
        assert store.review_count() == 5
    assert purge_in(data, 0).rows["reviews"] == 5
    with Store(data, read_only=True) as store:
        assert store.review_count() == 0


TAUGHT = "Alla fine abbiamo fatto tre rate."


@pytest.mark.slow  # trains heads twice on the real embedder: minutes on two cores
def test_retraining_with_reviews_changes_the_label_it_was_taught(client, data, tmp_path):
    import json

    from typer.testing import CliRunner

    from ascolto.cli import app
    from pipeline.classify.reviews import review_examples, split_reviews

    taught = [q for q in _quotes(client) if q["text"] == TAUGHT]
    assert len(taught) == 3 and {q["sentiment"] for q in taught} != {"negative"}
    for quote in _quotes(client):  # confirm everything, correct the taught words
        body = {k: quote[k] for k in ("sentiment", "threatened", "themes")}
        if quote["text"] == TAUGHT:
            body["sentiment"] = "negative"
        assert _post(client, body | {"quote_id": quote["id"]}).status_code == 201
    fit, held = split_reviews(review_examples(data), 0.25, 13)
    assert TAUGHT in {e.text for e in fit} and len({e.text for e in held}) == 1
    rows = (Path(__file__).parents[1] / "models/training/train.jsonl").read_text().splitlines()
    base = tmp_path / "base.jsonl"
    base.write_text("\n".join(rows[::6]) + "\n", encoding="utf-8")
    out = tmp_path / "heads"
    result = CliRunner().invoke(
        app, ["train", str(base), "--with-reviews", str(data), "-o", str(out),
              "--review-weight", "10", "--no-general"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "7 used for training, 3 held out" in result.output and "rerun classify" in result.output
    meta = json.loads((out / "heads.json").read_text(encoding="utf-8"))
    assert meta["reviews"]["used"] == 7 and meta["reviews"]["held_out"] == 3
    assert meta["reviews"]["before"]["examples"] == meta["reviews"]["after"]["examples"] == 3
    # the shipped heads read a tuned USE, so the retrain tunes one too unless told --no-tune
    assert "tuned" in meta and (out / "tuned.npz").is_file()
    assert "tuned reader: fine-tuned again" in result.output
    assert "Analysts' reviews" in (out / "MODEL_CARD.md").read_text(encoding="utf-8")

    before = _labels_of(data, TAUGHT)
    with Store(data, read_only=True) as store:
        transcribed = store.query("SELECT recording_id, created_at FROM transcripts")
    summary = _rerun(data, "classify", out / "config.yaml")  # the classify key has changed
    assert summary["classified"] == 5
    after = _labels_of(data, TAUGHT)
    assert set(before["sentiment"]) != {"negative"} and set(after["sentiment"]) == {"negative"}
    with Store(data, read_only=True) as store:  # nothing transcribed again
        again = store.query("SELECT recording_id, created_at FROM transcripts")
    pd.testing.assert_frame_equal(transcribed.sort_values("recording_id"),
                                  again.sort_values("recording_id"))  # fmt: skip
    # the control: the same training without the reviews does not say negative
    from pipeline.classify.classifier import HybridClassifier
    from pipeline.classify.heads import load_heads
    from pipeline.classify.taxonomy import load_taxonomy
    from pipeline.embed import make_embedder

    control = tmp_path / "control"
    trained = CliRunner().invoke(app, ["train", str(base), "-o", str(control), "--no-general"])
    assert trained.exit_code == 0, trained.output
    settings = load_settings()
    classifier = HybridClassifier(load_taxonomy(settings.themes_file), settings.classify,
                                  load_heads(control), make_embedder(settings.embed))  # fmt: skip
    assert classifier.classify(TAUGHT).sentiment != "negative"


def test_review_command_says_to_run_first(tmp_path):
    from typer.testing import CliRunner

    from ascolto.cli import app

    result = CliRunner().invoke(app, ["review", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 2
    assert "run `ascolto run` or `make demo` first" in result.output
