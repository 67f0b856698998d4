"""The analyst notebook runs top to bottom against a store the flow just wrote."""

import json
from pathlib import Path

from pipeline.asr.transcribe import FakeTranscriber
from tests.conftest import FOLLOW_UP, QUESTION, run_flow

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01-explore.ipynb"


def test_explore_notebook_runs_on_a_fresh_store(batch, tmp_path, monkeypatch):
    data = tmp_path / "data"
    texts = [QUESTION, "Mi hanno minacciato con l'avvocato.", FOLLOW_UP, "Poi tutto bene."]
    run_flow(batch, data, FakeTranscriber(texts))
    monkeypatch.setenv("ASCOLTO_DATA_DIR", str(data))
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), str(NOTEBOOK), "exec"), namespace)

    assert set(namespace["scorecard"].index) == {"AG1", "AG2"}
    assert len(namespace["threatened"]) == 3
    assert "theme" in namespace["theme_share"].index.name
    chart = namespace["fig"]
    assert sorted(chart.data[0].text) == ["AG1", "AG2"] and chart.data[0].error_y.array is not None
    monthly = namespace["monthly"]
    assert monthly["interviews"].sum() == 3 and set(monthly["threatened_share"]) == {1.0}
