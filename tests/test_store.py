from pathlib import Path

from pipeline.asr.roles import to_turns
from pipeline.records import Segment, Transcript
from pipeline.store import Store


def _transcript(text: str) -> Transcript:
    segments = [Segment(0, 1, "domanda", "interviewer"), Segment(1, 2, text, "customer")]
    return Transcript("rec1", "key1", segments, 2.0, 1, "it", "fake", "fake", 0.1, {"NOME": 1})


def test_saving_twice_replaces_instead_of_duplicating(tmp_path: Path):
    with Store(tmp_path) as store:
        for text in ("prima versione", "seconda versione"):
            t = _transcript(text)
            store.save_transcript(t, to_turns(t.segments))
        assert store.query("SELECT count(*) AS n FROM segments")["n"][0] == 2
        assert store.query("SELECT count(*) AS n FROM transcripts")["n"][0] == 1
        assert store.transcribed_ids("key1") == {"rec1"} and store.transcribed_ids("other") == set()


def test_a_new_transcript_key_drops_the_old_text_and_its_labels(tmp_path: Path):
    with Store(tmp_path) as store:
        old = _transcript("mi chiamo Giulia")
        store.save_transcript(old, to_turns(old.segments))
        store.con.execute(
            "INSERT INTO interview_labels (recording_id, classify_key, quotes) VALUES ('rec1', 'c1', 'Giulia')"
        )
        new = _transcript("mi chiamo [NOME]")
        new.transcript_key = "key2"
        store.save_transcript(new, to_turns(new.segments))
        dump = " ".join(
            store.query(f"SELECT * FROM {t}").to_csv()
            for t in ("segments", "utterances", "interview_labels")
        )
        assert "Giulia" not in dump
        assert store.transcribed_ids("key1") == set() and store.transcribed_ids("key2") == {"rec1"}


def test_failed_write_rolls_back(tmp_path: Path):
    import duckdb
    import pandas as pd
    import pytest

    with Store(tmp_path) as store:
        t = _transcript("ok")
        store.save_transcript(t, to_turns(t.segments))
        bad = pd.DataFrame([{"recording_id": "rec1", "no_such_column": 1}])
        with pytest.raises(duckdb.Error):
            store._replace("segments", "recording_id = ?", ["rec1"], bad)
        assert store.query("SELECT count(*) AS n FROM segments")["n"][0] == 2
