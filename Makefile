# kongchuo — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_STUDENTS ?= 20000

.PHONY: run test venv lint bench worker beat messages check-deploy backup restore clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --if-empty --students $(DEMO_STUDENTS)
	@echo ""
	@echo "  控辍保学平台 http://$(HOST):$(PORT)/accounts/login/"
	@echo "  演示账号 demo logins: demo_county / demo_township / demo_school / demo_gov"
	@echo "  密码 password: kongchuo-demo"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/djlint templates --lint
	$(PY) manage.py makemigrations --check --dry-run

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
	rm -rf $(VENV) staticfiles .pytest_cache
