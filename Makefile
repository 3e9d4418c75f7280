# `make run` and `make test` do all the set-up a fresh clone needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install run test test-embedded clean bench setup lock

install: $(VENV)/.installed

# Every version pinned by constraints.txt (the build backend's too: PIP_CONSTRAINT reaches pip's
# isolated build environment), so that two installs a month apart get the same packages.
CONSTRAINTS := PIP_CONSTRAINT=$(CURDIR)/constraints.txt

$(VENV)/.installed: setup.cfg setup.py pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(CONSTRAINTS) $(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(CONSTRAINTS) $(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Regenerate constraints.txt from a fresh venv with the newest releases setup.cfg allows; run it
# after changing install_requires or the test extra, and commit the result.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip setuptools wheel
	.lock-venv/bin/pip install --quiet -e '.[test]'
	{ echo "# make lock: every package make install takes, at these versions."; \
	  .lock-venv/bin/pip freeze --all --exclude-editable | LC_ALL=C sort -f; } > constraints.txt
	rm -rf .lock-venv

# Serves the embedded default (SQLite in instance/, in-process stores) and prints the demo
# user's API key: the same at every start (kept in instance/demo_api_key; the database holds
# only its hash).
run: install
	$(BIN)/octeth-domains db upgrade
	@$(BIN)/octeth-domains demo | tail -n 1 | $(BIN)/python -c 'import json, sys; d = json.load(sys.stdin); print("Demo user %s, password %s" % (d["Username"], d["Password"])); print("APIKey=" + d["APIKey"]); print("Try: curl \"http://$(HOST):$(PORT)/api/v1/user.senderdomains?APIKey=" + d["APIKey"] + "\"")'
	GUNICORN_BIND=$(HOST):$(PORT) GUNICORN_WORKERS=1 $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The whole suite: every API test runs on MariaDB + Redis and again on the embedded default, in
# PYTEST_WORKERS processes (pytest-xdist; each worker its own database, Redis prefixes and ports):
# many tests wait on gunicorn, CLI runs or a slow DNS server, and the workers wait side by side.
PYTEST_WORKERS ?= 2
test: setup install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# System packages the tests drive (PowerDNS, Chromium, wrk, PHP) and MariaDB + Redis answering.
setup:
	scripts/setup

clean:
	rm -rf $(VENV) .lock-venv instance *.egg-info

# The service and the floor under gunicorn on MariaDB + Redis, loaded with wrk (scripts/setup installs it);
# writes bench/results.json and prints the table (bench/README.md). BENCH_DURATION=<s> per phase.
bench: setup install
	$(BIN)/python bench/run.py
