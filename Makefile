# kongchuo — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_STUDENTS ?= 20000

.PHONY: run test screenshots venv lint bench worker beat messages check-deploy backup restore clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# The quick start serves the production settings (the product's own 404 and 500 pages, whitenoise
# for static files) over plain HTTP on this machine: KONGCHUO_LOCAL_HTTP=1, a secret key made
# once into .secret-key (never committed), SQLite unless DATABASE_URL says otherwise.
LOCAL := DJANGO_DEBUG=0 KONGCHUO_LOCAL_HTTP=1 SECRET_KEY="$$(cat .secret-key)"

.secret-key:
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > .secret-key

run: $(STAMP) .secret-key
	$(LOCAL) $(PY) manage.py migrate --noinput
	$(LOCAL) $(PY) manage.py seed_demo --if-empty --students $(DEMO_STUDENTS)
	$(LOCAL) $(PY) manage.py collectstatic --noinput -v0
	@echo ""
	@echo "  控辍保学平台 http://$(HOST):$(PORT)/accounts/login/"
	@echo "  演示账号 demo logins: demo_county / demo_township / demo_school / demo_gov"
	@echo "  密码 password: kongchuo-demo"
	@echo ""
	$(LOCAL) $(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Refresh the pictures in docs/screenshots/ (the browser tests, writing there instead of a
# temporary folder). `make test` never rewrites tracked files.
screenshots: $(STAMP)
	KONGCHUO_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest -m browser $(PYTEST_ARGS)

# The type-checked surface (configuration in pyproject.toml's [tool.mypy]): every services and
# selectors module of every package, found by name so a new one is checked from its first commit,
# and the import engine. MYPY_PENDING holds what is not clean yet; it only ever shrinks.
# The engine is named as a folder, so its own services/selectors are not listed twice.
MYPY_TARGETS := kongchuo/imports $(shell find kongchuo students ledgers retrieval dashboards \
	-path kongchuo/imports -prune -o -name migrations -prune -o \( -name services.py \
	-o -name selectors.py -o -path '*/services/*.py' -o -path '*/selectors/*.py' \) -print | sort)
MYPY_PENDING :=
MYPY_FILES := $(filter-out $(MYPY_PENDING),$(MYPY_TARGETS))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/djlint templates --lint
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/mypy $(MYPY_FILES)
	$(VENV)/bin/lint-imports --no-logo

bench: $(STAMP)
	$(PY) bench/run.py

worker: $(STAMP)
	$(VENV)/bin/celery -A kongchuo worker -l info

beat: $(STAMP)
	$(VENV)/bin/celery -A kongchuo beat -l info

messages: $(STAMP)
	$(PY) manage.py makemessages -l en --ignore .venv --ignore staticfiles
	$(PY) manage.py compilemessages --ignore .venv

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .secret-key

# Backup and restore (PostgreSQL, DATABASE_URL): see scripts/backup.sh and scripts/restore.sh.
backup:
	scripts/backup.sh

restore:
	@test -n "$(FILE)" || { echo "usage: make restore FILE=backups/kongchuo-….dump [YES=1]"; exit 2; }
	scripts/restore.sh "$(FILE)" $(if $(YES),--yes)

# Supply chain. audit-code: bandit, 0 high-severity findings in our code. audit-deps: pip-audit
# against PyPI's vulnerability data, --strict so a package it could not check fails the run instead
# of passing silently (waivers, with reasons, in scripts/pip-audit-waivers.txt).
.PHONY: audit audit-code audit-deps
audit: audit-code audit-deps

audit-code: $(STAMP)
	$(VENV)/bin/bandit -q -r kongchuo students ledgers retrieval dashboards \
		-x '*/migrations/*' --severity-level high --confidence-level low

audit-deps: $(STAMP)
	$(VENV)/bin/pip-audit --strict --disable-pip --no-deps --progress-spinner off \
		-r requirements.txt -r requirements-dev.txt \
		$$(grep -v '^\s*#' scripts/pip-audit-waivers.txt | awk 'NF {print "--ignore-vuln", $$1}')
