# The two commands of the README. Each builds .venv on first use, so on a fresh
# machine it is the only command needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Debian tools the tests use as independent peers (openssl, xmlsec1), the bench's load
# generator (wrk, tested in tests/bench) and the PostgreSQL server the storage tests run on
# (tests/pgserver.py starts a throw-away cluster); curl and jq run docs/quickstart.md's
# commands (tests/support/quickstart.py, from the demo test); SoftHSM2 is the PKCS#11
# token the HSM tests use (its command is softhsm2-util, so it is checked by that name below);
# HAProxy is the cluster tests' balancer (in /usr/sbin, which a user's PATH may lack);
# Chromium is the browser the admin UIs' tests drive (Playwright, executable_path);
# chromium-driver has no command of its name (it is chromedriver), so packages are also checked by dpkg.
DEBIAN_TOOLS := openssl xmlsec1 wrk curl jq softhsm2 haproxy chromium chromium-driver

.PHONY: test test-fast demo bench tools lint clean vectors docs fuzz

# the first run takes a minute or two: each phase says what it does, and pip shows each package
$(STAMP): setup.cfg pyproject.toml
	@echo "== creating $(VENV) and installing sild with its test dependencies (first run only)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -e '.[test]'
	touch $(STAMP)
	@echo "== $(VENV) ready: commands are $(BIN)/sild, $(BIN)/pytest"

tools:
	@missing=""; for t in $(DEBIAN_TOOLS); do command -v $$t >/dev/null || command -v $$t-util >/dev/null || test -x /usr/sbin/$$t || dpkg -s $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
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

# X-Road's conformance vectors (docs/conformance.md), checked file by file against
# tools/xroad-sources.tsv: from a clone of X-Road's repository (make vectors XROAD=path/to/X-Road),
# else cloned from GitHub; written where the tests look ($$SILD_XROAD_VECTORS, else
# ../shared/conformance/xroad); VECTORS_ARGS e.g. --force, --out DIR
vectors:
	$(PYTHON) -m tools.vectors $(if $(XROAD),--xroad $(XROAD),--clone) $(VECTORS_ARGS)

# the conformance report (docs/conformance.md): the X-Road vectors and the independent peers
# (installed by `tools`) checked per protocol area, into build/conformance/report.{html,md};
# CONFORMANCE_ARGS e.g. --area soap --area anchors
.PHONY: conformance
conformance: $(STAMP) tools
	$(BIN)/sild conformance report --out build/conformance $(CONFORMANCE_ARGS)

# the tables of docs/ generated from the code (tools/docs.py); a test fails while they differ
docs: $(STAMP)
	$(BIN)/python -m tools.docs

clean:
	rm -rf $(VENV) *.egg-info .mypy_cache .pytest_cache
