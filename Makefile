# Forum Portal: developer and CI entry points. `make help` lists the targets.
#
#   make run     set up .venv, migrate, load the bundled forums, serve http://127.0.0.1:8000/
#   make test    run the test suite (SQLite; set DATABASE_URL=postgres://... for PostgreSQL)
#
# Variables: PYTHON=/path/to/python3 (>= 3.12) picks the interpreter for a new .venv (to switch
# an existing one: make clean install PYTHON=...); PYTEST_ARGS="-k forum -x" is passed to pytest,
# TEST_WORKERS=0 runs it in one process (default: one worker per core); TEST_MARKERS= (empty)
# also runs the crawl and browser tests that `make test` leaves out;
# RUNSERVER_ADDR=127.0.0.1:8000 is where `make run` and `make serve` listen; LOAD_ARGS and
# FUZZ_ARGS are passed to bench/load.py, bench/fuzz.py and bench/fuzz_api.py
# (e.g. LOAD_ARGS="--skip-load").

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?=
PYTEST_ARGS ?=
# pytest-xdist workers: one per core (each has its own test database); TEST_WORKERS=0 runs in
# one process.
TEST_WORKERS ?= auto
# Left out of `make test` to keep it to a few minutes: full-site crawls and Chromium runs.
# CI runs everything (TEST_MARKERS= with nothing after the = selects every test).
TEST_MARKERS ?= not crawl and not browser
RUNSERVER_ADDR ?= 127.0.0.1:8000
LANGUAGES := zh_Hant zh_Hans en

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) manage.py
# The project's three catalogues, compiled by msgfmt one by one, and only when a .po is newer
# than its .mo: compilemessages walks the whole tree (and settings.LOCALE_PATHS, which lists
# Django's own catalogues inside .venv), so `make run` compiled and listed ~290 files there.
MO_FILES := $(foreach lang,$(LANGUAGES),locale/$(lang)/LC_MESSAGES/django.mo)
# Settings that differ between environments are not passed on from the caller's shell, so an
# exported production variable cannot change what `make test` or `make check` measure; targets
# set what they need. DATABASE_URL, DATABASE_CONN_MAX_AGE, DJANGO_MEDIA_ROOT and DJANGO_LOG_LEVEL
# do pass through (`make test` on PostgreSQL is DATABASE_URL=postgres://... make test).
unexport DJANGO_DEBUG DJANGO_SECRET_KEY DJANGO_ALLOWED_HOSTS DJANGO_CSRF_TRUSTED_ORIGINS \
	DJANGO_SECURE_SSL_REDIRECT DJANGO_HSTS_SECONDS
# Development settings (DEBUG on, built-in development key) for these targets.
run migrations-check check messages superuser: export DJANGO_DEBUG := 1

# A .venv whose interpreter no longer runs (deleted pyenv version, copied tree) is rebuilt even
# when its stamp is newer than pyproject.toml.
ifneq ($(shell $(PY) -c 'import sys; print(sys.version_info >= (3, 12))' 2>/dev/null),True)
.PHONY: $(STAMP)
endif

.PHONY: help install run test lint fmt migrations-check check messages ci clean \
	serve load fuzz fuzz-api test-replica superuser compile-messages lighthouse

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv (Python >= 3.12) with the runtime and test dependencies

# The project is not an installable package (no packages, no README in the build), so the
# dependency lists are read from pyproject.toml and installed directly.
$(STAMP): pyproject.toml
	@if ! $(PY) -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then \
		python="$$(scripts/find-python "$(PYTHON)")"; \
		echo "Creating $(VENV) with $$python ($$("$$python" --version))"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV); \
	fi
	@$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print(*p["dependencies"], *p["optional-dependencies"]["test"], sep="\n")' \
		> $(VENV)/requirements.txt
	@echo "Installing dependencies from pyproject.toml into $(VENV)"
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	@touch $@

run: install ## Migrate, load the bundled forums and serve on 127.0.0.1:8000 (DEBUG on)
	$(MANAGE) migrate --no-input
	@$(MAKE) --no-print-directory compile-messages
	$(MANAGE) load_bundled_data
	$(MANAGE) runserver $(RUNSERVER_ADDR)

superuser: install ## Create an admin account in the development database (asks for a password)
	$(MANAGE) migrate --no-input
	$(MANAGE) createsuperuser

test: install ## Run pytest without crawls and browsers (TEST_MARKERS= runs all; DATABASE_URL=...)
	$(PY) -m pytest -n $(TEST_WORKERS) $(if $(TEST_MARKERS),-m "$(TEST_MARKERS)") $(PYTEST_ARGS)

lint: install ## ruff check and ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install ## Apply ruff's automatic fixes and formatting (make lint reports what is left)
	$(VENV)/bin/ruff check --fix-only .
	$(VENV)/bin/ruff format .

migrations-check: install ## Fail if a model change has no migration
	$(MANAGE) makemigrations --check --dry-run

# The deploy check runs with production settings: DEBUG off, a throwaway 50-character key and
# the default (strict) TLS settings.
check: install ## manage.py check, then check --deploy with production settings (warnings fail)
	$(MANAGE) check --fail-level WARNING
	DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=example.org \
		DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets, string; \
			a = string.ascii_letters + string.digits; \
			print("".join(secrets.choice(a) for _ in range(50)))')" \
		$(MANAGE) check --deploy --fail-level WARNING

messages: install ## Update locale/*/LC_MESSAGES/django.po for zh_Hant zh_Hans en, then compile
	mkdir -p locale
	$(MANAGE) makemessages $(addprefix --locale=,$(LANGUAGES)) \
		--ignore=staticfiles --ignore=media --ignore=tests
	@$(MAKE) --no-print-directory compile-messages

compile-messages: $(MO_FILES) ## Compile locale/*/django.po that changed (msgfmt; .mo are committed)

# The .mo files are committed, so a machine without gettext still serves every language.
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po
	@if command -v msgfmt >/dev/null; then \
		echo "msgfmt $<"; msgfmt --check-format -o $@ $<; \
	else \
		echo "msgfmt not found (gettext): keeping the committed $@"; \
	fi

ci: ## Run the CI script (.ci/run): lint, checks, tests on SQLite and PostgreSQL
	PYTHON="$(PYTHON)" bash .ci/run

# Production settings on this machine, without TLS: for trying the production stack locally.
# A real deployment runs scripts/serve with its own environment (docs/deploy.md).
serve: install ## Production settings on 127.0.0.1:8000 (no TLS): collectstatic, migrate, gunicorn
	DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost DJANGO_SECURE_SSL_REDIRECT=0 \
		DJANGO_SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
		GUNICORN_BIND=$(RUNSERVER_ADDR) PORTAL_PYTHON=$(PY) scripts/serve

load: install ## Load test with wrk: 100,000 positions, gunicorn, 20 s per page (bench/load.py)
	PORTAL_PYTHON=$(PY) $(PY) bench/load.py --output bench/load-latest.md $(LOAD_ARGS)

fuzz: install ## Fuzz the public pages (10,000 requests) and import uploads (300): no 5xx
	PORTAL_PYTHON=$(PY) $(PY) bench/fuzz.py --serve $(FUZZ_ARGS)

fuzz-api: install ## Fuzz the API from its OpenAPI schema (schemathesis): 10,000 requests
	PORTAL_PYTHON=$(PY) $(PY) bench/fuzz_api.py --serve $(FUZZ_ARGS)

test-replica: install ## Read-replica tests on a throwaway PostgreSQL primary + streaming standby
	PORTAL_PYTHON=$(PY) scripts/replica-test $(PYTEST_ARGS)

# Lighthouse (Node's npx and Chromium): scores per page and language in docs/lighthouse.md.
LIGHTHOUSE ?= npx --yes lighthouse@12
CHROME_PATH ?= /usr/bin/chromium
lighthouse: install ## Lighthouse, phone profile, 6 pages x 3 languages -> docs/lighthouse.md
	LIGHTHOUSE="$(LIGHTHOUSE)" CHROME_PATH=$(CHROME_PATH) $(PY) scripts/lighthouse.py

clean: ## Remove .venv and caches (keeps db.sqlite3 and media/)
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles tests/artifacts
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
