# topictrends: `make demo` to try it, `make test` to check it. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast test-load lint format clean

setup: $(STAMP)

# torch is pinned and installed first so pip takes the CPU wheel instead of a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	$(VENV)/bin/topictrends warmup
	touch $(STAMP)

demo: setup
	$(VENV)/bin/topictrends demo

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

# 20 concurrent browser sessions on a 23k-document run (docs/deploy.md, Load); >10 min on 2 cores.
test-load: setup
	TOPICTRENDS_LOAD_TEST=1 $(PY) -m pytest -q -s tests/dashboard/test_load.py -k every_page

lint: setup
	$(VENV)/bin/ruff check pipeline dashboard tests bench
	$(VENV)/bin/ruff format --check pipeline dashboard tests bench

format: setup
	$(VENV)/bin/ruff format pipeline dashboard tests bench
	$(VENV)/bin/ruff check --fix pipeline dashboard tests bench

clean:
	rm -rf $(VENV) .pytest_cache test-output
