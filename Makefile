# Entry points for dev and CI. Recipes are plain /bin/sh; the real work lives
# in infra/*.sh. `make` alone prints the list of targets.

VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# The test tools (pytest, ruff, hypothesis, playwright) only where tests run:
# `make demo` installs what the services need and nothing more.
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: help venv dev infra-up infra-down lint contract web unit test test-apart demo down screenshots bench clean

help:
	@echo "Targets:"
	@echo "  venv        create .venv and install the project (only when pyproject.toml changed)"
	@echo "  dev         venv + the test tools (pytest, ruff, hypothesis, playwright)"
	@echo "  infra-up    install/start RabbitMQ + PostgreSQL, create users/databases, migrate, declare topology"
	@echo "  infra-down  stop RabbitMQ and PostgreSQL (data kept)"
	@echo "  lint        ruff check ."
	@echo "  contract    check docs/asyncapi.yaml with the official AsyncAPI CLI (pinned; npm ci once)"
	@echo "  web         build the screens (web/ -> web/dist; npm ci once per lockfile, then Vite, ~2 s)"
	@echo "  unit        pytest tests/unit and the in-memory store's contract (no servers needed)"
	@echo "  test        venv + infra-up + lint + contract + the whole pytest suite (what CI runs)"
	@echo "  test-apart  the same with circulation's and archives' databases on a second PostgreSQL"
	@echo "              cluster (port 5434): no service reaches into another's database (docs/databases.md)"
	@echo "  demo        infra-up, start the services (gateway, SIP2 on :6001 too), load the demo school"
	@echo "              (once), print its URL and its people (.run/demo.json); Prometheus on :9090"
	@echo "  down        stop the services started by demo / infra/services.sh, and their supervisord"
	@echo "  screenshots every screen of the running demo, zh-CN and en, desk and phone -> docs/screens/"
	@echo "  bench       infra-up, the bench extra (matplotlib, py-spy), then every benchmark (python -m bench;"
	@echo "              one alone: python -m bench sip2)"
	@echo "              sizes: BENCH_EVENTS BENCH_SECONDS BENCH_RUNS BENCH_RUSH_RUNS BENCH_CARDS BENCH_LENDS"
	@echo "  clean       stop the services and remove .run (supervisord config, logs)"

venv: $(STAMP)

# Reinstall only when pyproject.toml is newer than the stamp. The stamp is
# touched last, so a failed install is retried on the next run.
# python3 -m venv needs the python3-venv package on Debian (ensurepip).
$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
		python3 -c 'import ensurepip, venv' 2>/dev/null \
			|| bash -c 'source infra/lib/common.sh && ensure_packages python3 python3-venv'; \
		rm -rf $(VENV); \
		echo "[make] creating $(VENV)"; \
		python3 -m venv $(VENV); \
	fi
	@echo "[make] installing the project into $(VENV)"
	$(PIP) install -q -e .
	@touch $@

dev: $(DEV_STAMP)

$(DEV_STAMP): $(STAMP)
	@echo "[make] installing the test tools into $(VENV)"
	$(PIP) install -q -e '.[dev]'
	@touch $@

infra-up: venv
	bash infra/up.sh

infra-down:
	bash infra/down.sh

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The event contract as the AsyncAPI CLI sees it (0 errors; warnings are printed).
# Node and npm from Debian when missing; the CLI is installed once per lockfile
# into infra/asyncapi/node_modules. That the document matches the catalogue and its
# JSON Schemas are valid is checked by the unit tests (tests/unit/test_contract*.py).
contract:
	bash infra/asyncapi/check.sh

# The screens the gateway serves (web/dist), built from web/ with the versions in
# web/package-lock.json. Built every time: it takes about two seconds.
web:
	bash infra/web/build.sh

# systemd-analyze (Debian's systemd) checks the units of infra/deploy/systemd/.
unit: dev
	bash -c 'source infra/lib/common.sh && ensure_packages systemd'
	$(VENV)/bin/pytest tests/unit tests/contract -m "not integration"

# No `-` prefix and no `|| true`: any pytest failure, including exit code 5
# (no tests collected), must fail the target.
# The browser test drives Debian's chromium (never a downloaded one); the font
# lets it draw the Chinese names and titles (and is the one the PDFs embed);
# pdftotext (poppler-utils) reads the printed forms back; systemd-analyze (systemd)
# checks the units of infra/deploy/systemd/; promtool (prometheus) the alert rules and the
# demo's Prometheus config (infra/monitoring/).
test: dev infra-up lint contract web
	bash -c 'source infra/lib/common.sh && ensure_packages chromium fonts-wqy-microhei poppler-utils systemd prometheus'
	$(VENV)/bin/pytest

# The suite once more with the databases on two PostgreSQL servers (infra/test_apart.sh
# starts the second one and runs infra-up with the moved DSNs itself).
test-apart: dev lint web
	bash infra/test_apart.sh

demo: infra-up web
	bash -c 'source infra/lib/common.sh && ensure_packages fonts-wqy-microhei'
	bash infra/mailbox.sh start
	bash infra/services.sh start
	bash infra/monitoring/prometheus.sh start
	$(PY) -m shared.cli.demo

down:
	bash infra/services.sh stop
	bash infra/mailbox.sh stop
	bash infra/monitoring/prometheus.sh stop

# Photograph every screen of the running demo (make demo first) with the browser tour:
# docs/screens/<screen>-<zh-CN|en>-<desk|phone>.png, shown in README.md and docs/screens.md.
screenshots: dev web
	bash -c 'source infra/lib/common.sh && ensure_packages chromium fonts-wqy-microhei'
	LIBRARY_SCHOOL="$$($(PY) -m tests.e2e.scenarios.demo_facts)" LIBRARY_SCREENSHOTS=docs/screens \
		$(PY) -m tests.e2e.scenarios.tour >/dev/null
	@echo "[make] screenshots in docs/screens/"

# The benchmarks also need the `bench` extra (matplotlib for docs/latency.png, py-spy for --profile);
# `make test` does not, so it stays with `.[dev]`.
$(BENCH_STAMP): $(STAMP)
	@echo "[make] installing the bench extra into $(VENV)"
	$(PIP) install -q -e '.[dev,bench]'
	@touch $@

bench: infra-up $(BENCH_STAMP)
	$(PY) -m bench

clean:
	@if [ -d .run/supervisor ] || [ -d .run/pids ]; then bash infra/services.sh stop; fi
	rm -rf .run
