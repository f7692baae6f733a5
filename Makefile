# Quick start: `make demo` then `make test`. Both build .venv from requirements.txt
# when it is missing or older than requirements.txt.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: venv workflow-venv demo test test-fast test-slurm fuzz bench benchmark docs clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

# the benchmark workflow's own dependencies (Snakemake), on top of the scripts' ones
workflow-venv: $(VENV)/.workflow-installed

$(VENV)/.workflow-installed: requirements-workflow.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-workflow.txt
	@touch $@

demo: venv
	$(PY) Generate_sequences.py --overwrite
	@if [ -f Train_models.py ]; then \
	  $(PY) Train_models.py --overwrite --model_type cnn && \
	  $(PY) Train_models.py --overwrite --model_type kmer_logistic; fi
	@if [ -f Interpret_models.py ]; then \
	  $(PY) Interpret_models.py --model models/kmer_logistic --overwrite && \
	  $(PY) Interpret_models.py --model models/cnn --overwrite; fi

# everything, as CI runs it
test: venv workflow-venv
	$(PY) -m pytest -q tests

# without the tests marked slow (subprocesses, model training)
test-fast: venv workflow-venv
	$(PY) -m pytest -q -m "not slow" tests

# the tiny sweep (workflow/config.tiny.yaml) through a real one-node SLURM cluster started on this
# machine, its leaderboard against a local run's (timings aside); the daemons are stopped after.
# Root: installs Debian's munge and SLURM with apt-get when missing. Not part of `make test`.
test-slurm: venv workflow-venv
	PYTHONPATH=$(CURDIR) $(PY) workflow/scripts/slurm_cluster.py

# the default sweep of workflow/config.yaml (rules x models x methods x seeds) on this machine
benchmark: venv workflow-venv
	$(PY) -m snakemake -s workflow/Snakefile --configfile workflow/config.yaml --cores all \
	  --config python=$(abspath $(PY)) --rerun-incomplete --quiet rules
	@echo "leaderboard: benchmark/leaderboard.csv (tables and figures: benchmark/summary.md)"

# the reader fuzz tests with many more examples (FUZZ_EXAMPLES, default 5000 per reader)
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q tests/test_fuzz.py

# each benchmark is a module of the benchmarks package, run from the root (no sys.path edits)
bench: venv
	$(PY) -m benchmarks.bench_generate
	@for b in bench_library bench_train bench_learnability bench_verdicts bench_interpret bench_attribution bench_demo; do \
	  if [ -f benchmarks/$$b.py ]; then $(PY) -m benchmarks.$$b || exit 1; fi; done

# the suite beside its peers on the same weights (benchmarks/bench_peers.py): tangermeme's ISM and
# DeepLIFT/SHAP, SQUID. torch and tangermeme live in their own .venv-peers (requirements.txt +
# requirements-peers.txt), never in .venv. Not part of `make test`. Flags: make bench-peers PEERS_ARGS="..."
.PHONY: bench-peers
PEERS_VENV := .venv-peers
PEERS_PY   := $(PEERS_VENV)/bin/python
PEERS_ARGS ?=

$(PEERS_VENV)/.installed: requirements.txt requirements-peers.txt
	@test -x $(PEERS_PY) || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_PY) -m pip install --quiet --upgrade pip
	$(PEERS_PY) -m pip install --quiet -r requirements.txt -r requirements-peers.txt
	@touch $@

bench-peers: $(PEERS_VENV)/.installed
	$(PEERS_PY) -m benchmarks.bench_peers $(PEERS_ARGS)

# the flag tables of docs/*.md, regenerated from the scripts' parsers (tests/test_docs.py checks them)
docs: venv
	$(PY) -m utils.flag_docs --write

clean:
	rm -rf data/generated models/cnn models/kmer_logistic results/cnn results/kmer_logistic benchmark
