# Two entry points for a fresh clone: `make check-protocols` and `make test`.
# Both create the virtual environment (.venv) themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := $(VENV)/.installed-extras

.PHONY: check-protocols history test test-pure lint sweep bench bench-check bench-sweep \
        bench-liveness bench-dask bench-distributed clean bytecode

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
	$(BIN)/mmcheck check specs/history.toml

test: $(EXTRAS)
	$(BIN)/pytest -q

test-pure: $(EXTRAS)
	$(BIN)/pytest -q -m "not java and not browser"

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

clean:
	rm -rf $(VENV) results
