# Two entry points for a fresh clone: `make check-protocols` and `make test`.
# Both create the virtual environment (.venv) themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := $(VENV)/.installed-extras

.PHONY: check-protocols history test test-pure lint sweep bench bench-check bench-sweep \
        bench-liveness bench-dask bench-distributed bench-termination bench-exhaustive \
        bench-cold check-equivalence clean bytecode litmus

# What checking needs (jinja2, the jar): `make check-protocols` and `make history` install
# only this.  The tests, sweeps and benchmarks add the dev, sweep and dask extras.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(EXTRAS): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,sweep,dask]'
	touch $(EXTRAS)

# Machines that set PYTHONDONTWRITEBYTECODE would compile the runner at every start.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q gen runner

check-protocols: $(STAMP) bytecode
	$(BIN)/mmcheck check specs/matrix.toml

# The release x known-bug table (specs/history.toml: pairs of the matrix).
history: $(STAMP) bytecode
	$(BIN)/mmcheck check specs/history.toml --labels specs/history-labels.toml $(HISTORY_FLAGS)

test: $(EXTRAS)
	$(BIN)/pytest -q

# The quick tier (seconds): no Java, browser or kernel, and not the tests that go over every
# committed model or fuzz (marked slow; make test runs them).
test-pure: $(EXTRAS)
	$(BIN)/pytest -q -m "not java and not browser and not kernel and not slow"

# The litmus tests (specs/litmus/) on this machine's kernel and on Debian's 6.12, 6.1 and
# 5.10 under QEMU (TCG: slower, so fewer runs at 32 MiB a page); JSON in results/litmus/.
# Every kernel is run; the exit status is the worst one (1 a contradiction, 2 undecided).
LITMUS_RUNS ?= 30
LITMUS_GUEST_RUNS ?= 10
LITMUS_KERNELS ?= host debian:6.12 debian:6.1 debian:5.10
litmus: $(STAMP) bytecode
	@mkdir -p results/litmus; worst=0; \
	for k in $(LITMUS_KERNELS); do \
	  if [ $$k = host ]; then opts="--runs $(LITMUS_RUNS)"; \
	  else opts="--runs $(LITMUS_GUEST_RUNS) --scale 32"; fi; \
	  $(BIN)/mmcheck litmus run specs/litmus/ --kernel $$k $$opts \
	    --json results/litmus/$$(echo $$k | tr : -).json; rc=$$?; \
	  if [ $$rc -gt $$worst ]; then worst=$$rc; fi; \
	done; exit $$worst

lint: $(EXTRAS)
	$(BIN)/ruff check gen runner tests bench
	$(BIN)/mypy gen runner

sweep: $(EXTRAS) bytecode
	$(BIN)/mmcheck sweep specs/sweeps/growth.toml

bench: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_runner.py
	$(BIN)/python bench/bench_spawn.py

bench-check: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_check.py

bench-sweep: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_sweep.py

bench-liveness: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_liveness.py

bench-dask: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_dask.py

bench-distributed: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_distributed.py

# Issue 19: liveness by termination (the N = 3, 4, 5 table), its equivalence on the matrix,
# the exhaustive comparison against the hand-written one, and the cold matrix.
bench-termination: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_termination.py

check-equivalence: $(EXTRAS) bytecode
	$(BIN)/python bench/check_equivalence.py --negative

bench-exhaustive: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_exhaustive.py

bench-cold: $(EXTRAS) bytecode
	$(BIN)/python bench/bench_cold_matrix.py

clean:
	rm -rf $(VENV) results
