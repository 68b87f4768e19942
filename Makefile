# careline — everything a fresh machine needs is installed by these targets.
#   make demo   run the demo console (simulated callers, no PBX, no hub, no config)
#   make test   install what the tests need (the hardened phone library too), then lint,
#               type-check and run the whole suite
#   make library  build the hardened pjsua2 (pinned pjproject source) into the venv
#   make fhir-server  install the FHIR R4 server the EHR link tests run (.venv-fhir)
#   make bench  run every benchmark in full (one at a time) and print one table of figures
#   make check  the same as make test

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The FHIR R4 server the EHR link tests start (tests/fhir_server.py). It pins its own
# pydantic, FastAPI and fhir.resources, so it gets a virtualenv of its own; the stamp
# names the version, so changing the pin installs again.
SEKMET_VERSION := 0.1.1
FHIR_VENV      := .venv-fhir
FHIR_STAMP     := $(FHIR_VENV)/.installed-sekmet-fhir-$(SEKMET_VERSION)
# Both virtualenvs are made with this Python, so both need a version careline supports.
CHECK_PYTHON = @$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 12) else "careline needs Python 3.11 or 3.12 (set PYTHON=...)")'
# Debian packages the test suite drives for real: SIPp, the TUI in tmux, Kamailio, baresip,
# and the PostgreSQL server the hub tests start their own throwaway cluster from;
# Kamailio's TLS module (a TLS 1.2 registrar) and PortAudio (the headset bridge,
# tested against a virtual ALSA device).
TEST_DEBS := sip-tester tmux kamailio kamailio-tls-modules baresip-core postgresql libportaudio2
TEST_BINS := sipp tmux kamailio baresip
# What pjproject/build.py needs to build the hardened pjsua2 (OpenSSL 3, Opus, ALSA).
BUILD_DEBS := build-essential swig libssl-dev libasound2-dev libopus-dev uuid-dev pkg-config
# The console and its engine run on -OO bytecode once it is written (console/core/bytecode.py:
# about 2 MiB less per console, 1 MiB per engine); pip writes only the plain kind. Seconds
# for the venv and the checkout, and a no-op when nothing changed.
COMPILE_OPTIMIZED = env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -OO -m compileall -q -j 0 \
	$(VENV)/lib console sip scripts_library careline
# PostgreSQL's server binaries are not on PATH; the newest major installed is used.
PG_INITDB = $(shell ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)

.PHONY: demo test check library fhir-server lint types scripts pytest system-deps clean bench

demo: $(STAMP)
	@$(COMPILE_OPTIMIZED)
	$(BIN)/careline demo

# The suite runs on the hardened library, as production does (the demo takes whatever
# pjsua2 the venv has: the PyPI wheel on a fresh clone, so a first run needs no compiler).
test: system-deps $(STAMP) library fhir-server lint types scripts pytest

check: test

# The architecture's import contracts (layers, no cycles; pyproject.toml) are part of lint.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

types: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict pjproject/build.py

# The shipped call scripts and wrap-up forms must pass their checker.
scripts: $(STAMP)
	$(BIN)/careline scripts check

# Built once, then taken from the cache (~/.cache/careline) and installed in seconds.
library: $(STAMP)
	$(BIN)/python pjproject/build.py --venv $(VENV)
	@$(COMPILE_OPTIMIZED)

fhir-server: $(FHIR_STAMP)

# The suite waits on real components far more than it computes: most of it runs in
# $(PYTEST_WORKERS) parallel workers (pytest-xdist; the tests' ports come from one shared
# picker below the ephemeral range, tests/ports.py). 3 on a 2-core machine: with 2 the
# cores sat 40-85 % idle and the part took 850 s, with 3 it takes 650 s and they are
# 10-25 % idle; 4 would only queue for them. (At 3, a snapshot caught a focused box's
# cursor blinked off; tests/conftest.py now holds cursors steady.) Tests marked realtime (audio
# drop-outs, latency, back-off timing) then run alone, on a machine nothing else loads;
# one of them that fails is run once more (the report says RERUN): a single 20 ms dip
# on a shared CI machine is noise, the same dip twice is a failure.
# pytest's exit code 5 means no test ran: that is a failure here, never a pass. The slowest
# tests are listed (--durations) so the suite's time has names in every CI log.
PYTEST_WORKERS ?= 3
pytest: $(STAMP) library $(FHIR_STAMP)
	@$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not realtime" --durations=20 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; \
	[ $$rc -eq 0 ] || exit $$rc; \
	$(BIN)/pytest -m realtime --reruns 1 --reruns-delay 2 -raR --durations=10 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no realtime tests were collected" >&2; exit 1; fi; exit $$rc

# Every bench/ script in full, then one markdown table (figure, median, min–max, baseline,
# ratio): the README's. Long (the library build alone takes minutes); make test runs each
# in its quick mode instead (tests/test_bench_smoke.py).
bench: system-deps $(STAMP) library
	$(BIN)/python -m bench.all

$(STAMP): pyproject.toml
	$(CHECK_PYTHON)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(FHIR_STAMP): tests/fhir-server-constraints.txt
	$(CHECK_PYTHON)
	test -x $(FHIR_VENV)/bin/python || $(PYTHON) -m venv $(FHIR_VENV)
	$(FHIR_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FHIR_VENV)/bin/python -m pip install --quiet 'sekmet-fhir==$(SEKMET_VERSION)' \
		-c tests/fhir-server-constraints.txt
	$(FHIR_VENV)/bin/sekmet --help >/dev/null
	touch $(FHIR_STAMP)

system-deps:
	@missing=""; debs="$(TEST_DEBS) $(BUILD_DEBS)"; \
	for bin in $(TEST_BINS) swig; do command -v $$bin >/dev/null || missing=yes; done; \
	[ -n "$(PG_INITDB)" ] || missing=yes; \
	if command -v dpkg >/dev/null; then dpkg -s $$debs >/dev/null 2>&1 || missing=yes; fi; \
	$(PYTHON) -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(sysconfig.get_paths()["include"] + "/Python.h"))' \
		|| { missing=yes; debs="$$debs python3-dev"; }; \
	if [ -n "$$missing" ]; then \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "installing Debian packages: $$debs"; \
		$$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q $$debs; \
	fi

clean:
	rm -rf $(VENV) $(FHIR_VENV) .pytest_cache .mypy_cache .ruff_cache
