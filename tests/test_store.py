from pathlib import Path

from pipeline.records import Segment, Transcript
from pipeline.roles import to_turns
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


def test_failed_write_rolls_back(tmp_path: Path):
    import pandas as pd
    import pytest

    with Store(tmp_path) as store:
        t = _transcript("ok")
        store.save_transcript(t, to_turns(t.segments))
        bad = pd.DataFrame([{"recording_id": "rec1", "no_such_column": 1}])
        with pytest.raises(Exception):
            store._replace("segments", "recording_id = ?", ["rec1"], bad)
        assert store.query("SELECT count(*) AS n FROM segments")["n"][0] == 2
