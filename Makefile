# Two entry points for a fresh clone: `make check-protocols` and `make test`.
# Both create the virtual environment (.venv) themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: check-protocols history test test-pure lint sweep bench bench-check bench-sweep \
        bench-liveness bench-dask bench-distributed bench-termination bench-exhaustive \
        bench-cold check-equivalence clean bytecode

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,sweep,dask]'
	touch $(STAMP)

# Machines that set PYTHONDONTWRITEBYTECODE would compile the runner at every start.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q gen runner

check-protocols: $(STAMP) bytecode
	$(BIN)/mmcheck check specs/matrix.toml

# The release x known-bug table (specs/history.toml: pairs of the matrix).
history: $(STAMP) bytecode
	$(BIN)/mmcheck check specs/history.toml

test: $(STAMP)
	$(BIN)/pytest -q

test-pure: $(STAMP)
	$(BIN)/pytest -q -m "not java and not browser"

lint: $(STAMP)
	$(BIN)/ruff check gen runner tests bench
	$(BIN)/mypy gen runner

sweep: $(STAMP) bytecode
	$(BIN)/mmcheck sweep specs/sweeps/growth.toml

bench: $(STAMP) bytecode
	$(BIN)/python bench/bench_runner.py
	$(BIN)/python bench/bench_spawn.py

bench-check: $(STAMP) bytecode
	$(BIN)/python bench/bench_check.py

bench-sweep: $(STAMP) bytecode
	$(BIN)/python bench/bench_sweep.py

bench-liveness: $(STAMP) bytecode
	$(BIN)/python bench/bench_liveness.py

bench-dask: $(STAMP) bytecode
	$(BIN)/python bench/bench_dask.py

bench-distributed: $(STAMP) bytecode
	$(BIN)/python bench/bench_distributed.py

# Issue 19: liveness by termination (the N = 3, 4, 5 table), its equivalence on the matrix,
# the exhaustive comparison against the hand-written one, and the cold matrix.
bench-termination: $(STAMP) bytecode
	$(BIN)/python bench/bench_termination.py

check-equivalence: $(STAMP) bytecode
	$(BIN)/python bench/check_equivalence.py --negative

bench-exhaustive: $(STAMP) bytecode
	$(BIN)/python bench/bench_exhaustive.py

bench-cold: $(STAMP) bytecode
	$(BIN)/python bench/bench_cold_matrix.py

clean:
	rm -rf $(VENV) results
