# Two entry points (see README): `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
WORKSPACE ?= demo-workspace
HOST      ?= 127.0.0.1
PORT      ?= 8000
DEMO_ARGS ?=

.PHONY: install demo test bench clean

$(BIN)/junheng: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/junheng

install: $(BIN)/junheng

# make demo PORT=8001 HOST=0.0.0.0 DEMO_ARGS="--reset-passwords --verbose"
demo: install
	$(BIN)/junheng demo --workspace $(WORKSPACE) --host $(HOST) --port $(PORT) $(DEMO_ARGS)
	$(BIN)/junheng serve --workspace $(WORKSPACE) --host $(HOST) --port $(PORT)

test: install
	bash scripts/install-system-deps.sh
	./scripts/ensure-postgres.sh
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/nation.py

clean:
	rm -rf $(VENV) $(WORKSPACE) build dist src/*.egg-info
