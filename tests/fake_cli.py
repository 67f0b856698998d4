"""`python -m tests.fake_cli ARGS...`: the ascolto CLI with fake models, for subprocess tests.

Crash tests kill a real process, so the fakes cannot be injected in-process. The fake
transcriber's texts come from ASCOLTO_FAKE_TEXTS (a JSON list), else a default interview.
"""

import json
import os
import sys

from ascolto.cli import app
from ascolto.shared import prepare_prefect

# The real CLI prepares Prefect's settings before importing it; the fakes below import it, so
# do the same first. (Importing tests.conftest would also replace PREFECT_HOME: not done.)
prepare_prefect(sys.argv.count("-v") + 2 * sys.argv.count("-vv"), "--log-json" in sys.argv)

from flows.process import use_models  # noqa: E402
from pipeline.asr.transcribe import FakeTranscriber  # noqa: E402
from pipeline.embed import FakeEmbedder  # noqa: E402

QUESTION = "Come è andato il contatto con l'agenzia di recupero crediti?"
FOLLOW_UP = "Come si è sentito durante la telefonata?"
DEFAULT = [
    QUESTION,
    "Mi hanno minacciato con l'avvocato e chiamavano tutti i giorni a casa.",
    FOLLOW_UP,
    "Dopo è stata gentile e abbiamo fatto un piano di tre rate per la bolletta.",
    "La fattura del gas era sbagliata e nessuno mi ascoltava davvero.",
]

if __name__ == "__main__":
    texts = json.loads(os.environ.get("ASCOLTO_FAKE_TEXTS", "null")) or DEFAULT
    with use_models(transcriber=FakeTranscriber(texts), embedder=FakeEmbedder()):
        app()
