# The two commands of the README. Each builds .venv on first use, so on a fresh
# machine it is the only command needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Debian tools the tests use as independent peers (openssl, xmlsec1), the bench's load
# generator (wrk, tested in tests/bench) and the PostgreSQL server the storage tests run on
# (tests/pgserver.py starts a throw-away cluster).
DEBIAN_TOOLS := openssl xmlsec1 wrk

.PHONY: test test-fast demo bench tools lint clean fuzz

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

tools:
	@missing=""; for t in $(DEBIAN_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian tools:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/mypy

test: $(STAMP) tools lint
	$(BIN)/pytest -n 2 --dist loadfile

# the quick lane while working: the suite without the tests marked slow (they start several
# processes: sandboxes, demos, authorities); `make test` stays the full run CI makes
test-fast: $(STAMP) tools
	$(BIN)/pytest -n 2 --dist loadfile -m "not slow"

# the property-based tests of tests/fuzz with the long budget (thousands of cases per parser,
# minutes); every test run already runs them with a short one
fuzz: $(STAMP)
	SILD_FUZZ=long $(BIN)/pytest -p no:cacheprovider tests/fuzz

demo: $(STAMP)
	$(BIN)/sild demo

# exchanges per second through a gateway pair (docs/performance.md); BENCH_ARGS e.g. --clients 1,8,16
bench: $(STAMP) tools
	$(BIN)/python bench/exchange.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .pytest_cache
