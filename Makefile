# lrstudy: `make help` lists the targets.
# Everything runs inside .venv, created from the pinned requirements.lock on first use.

# The Python a new .venv is built with: PYTHON=... if given (make repro PYTHON=python3.13),
# else the first of python3.11, python3.12, python3.13 on PATH that runs (.ci/find-python
# runs each: a pyenv shim that fails is skipped). Nothing else is ever installed with it.
PYTHON ?=
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Stage commands in dvc.yaml call `python`; put the venv first so they find it.
export PATH := $(abspath $(BIN)):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help venv repro recheck test test-fast lint format bench cross-cpu cross-python \
	cross-python-venvs vega-page lock clean FORCE

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'

# .ci/venv runs every time (a few milliseconds when .venv is current): it installs when
# .venv is missing or half-built (no stamp: removed and built again) or the lock changed,
# and stops with one line, before installing anything, when no supported Python works or
# .venv was built by another Python than PYTHON=... (`make -o .venv/.installed` skips it).
$(STAMP): FORCE
	@bash .ci/venv $(VENV) '$(PYTHON)'

FORCE:

venv: $(STAMP) ## Create .venv from requirements.lock (PYTHON=... or the first of python3.11-3.13)

# params.yaml is checked by lrstudy before DVC reads dvc.yaml, so a problem DVC would
# report first in its own words (settings: null, a setting named ../x) gets lrstudy's.
repro: $(STAMP) ## Check params.yaml, then run the pipeline (dvc repro): only what changed
	PYTHONPATH=src $(BIN)/python -m lrstudy.stages.validate
	$(BIN)/dvc repro

# dvc repro skips what dvc.lock says is present, and a clone has the committed sweep/,
# lr_find/ and reports/ (cache: false); recheck reruns all of it in a temporary clone of HEAD.
recheck: $(STAMP) ## Rerun every stage from scratch in a temp clone of HEAD: same bytes as committed? (~10 min)
	$(BIN)/python benchmarks/recheck.py

# Experiments and review (README: "Experiments and sweeps", "Pull-request review").
.PHONY: exp-show dag dry-run metrics pr-report
BASE ?= main
# dvc exp show trimmed to what a sweep changes: the params and the settings' mean test
# accuracies that differ between the rows (--only-changed), and a setting's count of
# diverged seeds where it changed; deps (params.yaml among them: the validate stage's),
# std/min/max/intervals, test loss, per-seed values, the comparison with the best, the
# collapse fraction and the Executor column dropped (of the tuned comparison only the
# tuned rate and its mean test accuracy kept); of a rerun range test its suggestions
# kept, its per-seed leaves (seeds.seed_N.*, 6 per seed) dropped; of a rerun sweep best_lr kept,
# its other leaves dropped; the State column too unless
# `dvc queue status` lists a queued or running experiment. --json ignores every trim
# (treeverse/dvc#9544): use --csv or --md. Add columns back with --keep,
# e.g.  make exp-show EXP_SHOW_ARGS="--keep 'lr_medium\.test_accuracy\.std'"
EXP_SHOW_ARGS ?=
EXP_SHOW_TRIM := --only-changed --drop '.+\.test_loss\.' \
	--drop '.+\.test_accuracy\.(std|min|max|seeds|ci_low|ci_high|n)' \
	--drop '.+\.(val_accuracy|collapsed|vs_best)\.|.+\.diverged\.first_epoch$$' \
	--drop '.*/|logs$$|evaluation$$|^tune$$|^params\.yaml$$' --drop 'Executor$$' \
	--drop '.+\.tuned\.(given_lr|val_accuracy|seeds|edge|same_as|good_rates\..+|budgets\..+)$$' \
	--drop 'seeds\.seed_[0-9]+\.' \
	--drop '(best_(val|test)_accuracy|at_edge|edge|rates|diverged_runs)$$|(one_se_range|good_test_range)\.'

# Expanded only when exp-show runs (a recursive variable): one `dvc queue status`.
EXP_SHOW_STATE = $(if $(shell $(BIN)/dvc queue status 2>/dev/null | grep -E '\b(Queued|Running)\b'),,--drop '^State$$')

exp-show: $(STAMP) ## dvc exp show: the params and mean test accuracies that differ between rows
	$(BIN)/dvc exp show $(EXP_SHOW_TRIM) $(EXP_SHOW_STATE) $(EXP_SHOW_ARGS)

# DVC's own dry runs fail here (dvc repro --dry on a fresh clone, dvc exp run --dry always:
# treeverse/dvc#9021); this asks DVC's status and graph instead and runs nothing.
SET ?=
dry-run: $(STAMP) ## Which stages dvc repro would run and why; SET="k=v ..." as dvc exp run -S (runs nothing)
	@PYTHONPATH=src $(BIN)/python -m lrstudy.dry_run $(foreach s,$(SET),-S '$(s)')

dag: $(STAMP) ## The stages in run order, each with what it needs (dvc dag, one line per foreach)
	@$(BIN)/dvc dag --dot | $(BIN)/python .ci/dag.py

metrics: $(STAMP) ## Test accuracy and loss per setting (reports/metrics.json) as a table
	@PYTHONPATH=src $(BIN)/python -m lrstudy.report reports/metrics.json

pr-report: $(STAMP) ## Params/metrics diff and figures vs BASE (default main): build/pr-report/
	PYTHONPATH=src $(BIN)/python -m lrstudy.pr_report --base '$(BASE)' --out build/pr-report/report.md

# The end-to-end modules are single-threaded processes; two pytest workers keep both cores
# busy. loadscope keeps each module on one worker, so its temp project is built once.
TEST_WORKERS ?= 2
test: $(STAMP) ## Run the whole test suite (TEST_WORKERS=2 parallel workers)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

test-fast: $(STAMP) ## Run the unit tests only (skip the slow end-to-end ones)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP) ## ruff format --check and ruff check
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks

format: $(STAMP) ## Format the code and fix what ruff can
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# Keras Tuner is a benchmark-only dependency (the LR grid as a Keras user runs it): installed
# into the venv by this target, never part of requirements.lock. With the TensorFlow backend
# it imports TensorBoard on every trial, which tensorflow-cpu does not bring.
KERAS_TUNER := keras-tuner==1.4.8 tensorboard==2.21.0
BENCH_ARGS ?=

bench: $(STAMP) ## Training speed: population vs fast loop, sweep, dvc repro, a local Dask cluster, Keras Tuner (benchmarks/README)
	PYTHONPATH=src $(BIN)/python benchmarks/bench_training.py $(BENCH_ARGS)
	$(BIN)/python -c "import keras_tuner, tensorboard" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check $(KERAS_TUNER)
	PYTHONPATH=src $(BIN)/python benchmarks/bench_sweep.py

# QEMU's user-mode emulator runs the stages seeing other CPUs (Intel Haswell, AMD EPYC-Rome);
# .ci/install-qemu installs qemu-user 8.0+ when absent (root and apt-get; Debian 12: backports).
cross-cpu: $(STAMP) ## Train and evaluate under emulated Intel/AMD CPUs; same bytes? (benchmarks/cross_cpu.md)
	bash .ci/install-qemu
	$(BIN)/python benchmarks/cross_cpu.py

# The same tiny study under each Python of CROSS_PYTHONS that is installed, each in a venv
# from requirements.lock: .venv for its own version, .venvs/py3.X (cached) for the others.
CROSS_PYTHONS ?= 3.11 3.12 3.13
cross-python-venvs: $(STAMP) ## Build .venvs/py3.X (requirements.lock) for the other Pythons 3.11-3.13 here
	@bash .ci/cross-python-venvs $(CROSS_PYTHONS)

cross-python: cross-python-venvs ## Train and evaluate a tiny study under each Python 3.11-3.13: same bytes?
	$(BIN)/python benchmarks/cross_python.py

vega-page: $(STAMP) ## Rebuild .dvc/plots/page.html (dvc plots' offline page) from npm (needs npm)
	PYTHONPATH=src $(BIN)/python -m lrstudy.vega_page --out .dvc/plots/page.html

# Resolved on Python 3.11, the oldest supported, so nothing is pinned that 3.11 lacks;
# `make cross-python` then checks that the lock installs and gives the same bytes on 3.12/3.13.
lock: ## Re-resolve requirements.in into requirements.lock (needs network and Python 3.11)
	rm -rf .lock-venv
	python=$$(bash .ci/find-python 3.11) && "$${python%% *}" -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet -r requirements.in
	{ echo "# Exact versions, resolved on Python 3.11 (x86_64 Linux) by 'make lock'; installed and tested on 3.11, 3.12 and 3.13."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > requirements.lock
	rm -rf .lock-venv

clean: ## Remove the venvs (.venv, .venvs/) and caches (DVC outputs stay)
	rm -rf $(VENV) .venvs .pytest_cache .ruff_cache
