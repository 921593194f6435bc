# Agora Live. `make run` = quick start on SQLite + in-memory layer; `make test` = the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install migrate demo lint messages bench bench-smoke soak clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test,bench]'
	touch $@

# Test-only JavaScript (axe-core for the browser tests' accessibility check), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed node_modules/.installed

migrate: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py compilemessages -v0 --ignore=.venv 2>/dev/null || true

demo: migrate
	$(PY) manage.py seed_demo

# daphne and, beside it, django-tasks-db's worker (the "download my data" archives): Ctrl-C stops both.
run: demo
	$(PY) manage.py db_worker --interval 1 & WORKER=$$!; trap 'kill $$WORKER' EXIT INT TERM; \
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) live.asgi:application

# Uses PostgreSQL and Redis from DATABASE_URL/REDIS_URL, else the local ones when reachable, else the embedded
# default (tests that need a real server are then skipped with the reason printed).
test: install
	@. tests/stack.sh && $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

# Then translate every new msgid of locale/fr/LC_MESSAGES/django.po (English is the source: en stays empty), remove
# the fuzzy flags, run `make messages` again to compile, and commit locale/ (.po and .mo; tests/live/test_i18n.py).
# Our JavaScript has no UI strings (they come from data-msg-* attributes rendered by the templates).
messages: install
	$(PY) manage.py makemessages -l fr -l en --no-location --no-obsolete --ignore=.venv --ignore=bench --ignore=staticfiles --ignore=test-artifacts
	$(PY) manage.py compilemessages --ignore=.venv

bench: install
	@. tests/stack.sh && $(PY) -m bench.run --full

bench-smoke: install
	@. tests/stack.sh && $(PY) -m bench.run --smoke

soak: install
	@. tests/stack.sh && $(PY) -m bench.soak --minutes 10 --sockets 300

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
