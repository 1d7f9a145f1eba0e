# Two entry points for a fresh machine: `make demo` (the whole job on the shipped sample) and
# `make test`. Both create .venv and install what the project needs first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU build of torch first: a plain `torch` requirement would pull a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	# ray: the annotate job's cluster engine, tested in CI against the local engine
	$(PY) -m pip install -q -e ".[train,dev,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m spacy project run all .

test: $(STAMP)
	$(PY) -m ruff check src scripts tests
	$(PY) -m pytest -q

clean:
	rm -rf corpus training packages metrics wandb
