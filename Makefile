# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each creates .venv/ and installs the project with constraints.txt first (idempotent: a stamp
# file skips the install until pyproject.toml or constraints.txt change).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= ascolto-data

.PHONY: install demo test test-fast lint format demo-data clean bench-asr bench-pii bench-throughput bench-erasure bench-writers report-screenshot notebook

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,openai-whisper]'
	# the reference openai-whisper, without triton (a ~1 GB CUDA-only dependency)
	$(BIN)/python -m pip install -q -c constraints.txt --no-deps openai-whisper==20250625
	@touch $(STAMP)

install: $(STAMP)

demo: install  ## run the whole pipeline on the shipped synthetic demo
	$(BIN)/ascolto demo --data-dir $(DATA_DIR)

test: install  ## fast tier and slow (real-model) tier
	$(BIN)/python -m pytest

notebook: install  ## JupyterLab on notebooks/ (installs the notebook extra once)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[notebook]'
	$(BIN)/jupyter lab notebooks/

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench-asr: install  ## ASR speed/accuracy/memory, both backends side by side -> benchmarks/results/asr.json
	$(BIN)/python benchmarks/asr.py

bench-pii: install  ## redaction precision/recall -> benchmarks/results/pii.json
	$(BIN)/python benchmarks/pii.py

bench-throughput: install  ## hours of audio per wall hour, local vs --dask local:2 -> benchmarks/results/throughput.json
	$(BIN)/python benchmarks/throughput.py

bench-writers: install  ## leave one held-out writer out, base heads against heads that read the others -> benchmarks/results/writers.json (45 min)
	$(BIN)/python benchmarks/writers.py

bench-erasure: install  ## forget on a 10,000-interview store, compaction apart -> benchmarks/results/erasure.json
	$(BIN)/python benchmarks/erasure.py

demo-data: install  ## regenerate demo/ (needs Debian's festival festvox-italp16k festvox-itapc16k)
	$(BIN)/python scripts/make_demo.py --out demo

clean:
	rm -rf $(DATA_DIR) .pytest_cache

report-screenshot: install  ## demo report rendered in headless Chromium -> docs/report.png
	$(BIN)/ascolto demo --data-dir $(DATA_DIR)
	$(BIN)/python scripts/report_screenshot.py $(DATA_DIR)/reports/report.html docs/report.png
