# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
LANGS_DIR := translations

.PHONY: run test install compile-translations extract-translations update-translations translations \
        demo lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) compile-translations

compile-translations: $(STAMP)
	$(BIN)/pybabel -q compile -d $(LANGS_DIR)

extract-translations: $(STAMP)
	$(BIN)/pybabel -q extract -F $(LANGS_DIR)/babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location \
		--sort-output --project "community-trust-survey" -o $(LANGS_DIR)/messages.pot .

update-translations: extract-translations
	$(BIN)/pybabel -q update -N -i $(LANGS_DIR)/messages.pot -d $(LANGS_DIR) --no-wrap

## Extract new interface text and merge it into every language's catalog.
translations: update-translations compile-translations

## Serve the demo on http://127.0.0.1:$(PORT) (PORT=5000 unless given: `make run PORT=5050`). The first
## run migrates and loads the demo; every run prints fresh access codes and warms the results cache.
PORT ?= 5000
RUN_ENV := SURVEY_PUBLIC_BASE_URL=http://127.0.0.1:$(PORT)
run: install
	$(RUN_ENV) $(FLASK) db upgrade
	$(RUN_ENV) $(FLASK) demo --if-empty --peers --codes 5
	$(RUN_ENV) $(FLASK) results-warm
	@$(RUN_ENV) $(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) wsgi:app & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null' INT TERM EXIT; \
	until $(BIN)/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$(PORT)/healthz', timeout=2)" 2>/dev/null; do \
		kill -0 $$pid 2>/dev/null || { echo "The server did not start (is port $(PORT) in use? Try make run PORT=5050)."; exit 1; }; \
		sleep 0.3; \
	done; \
	echo; \
	echo "Serving on http://127.0.0.1:$(PORT) - staff sign in at http://127.0.0.1:$(PORT)/staff/sign-in"; \
	echo "as admin@riverton.example (or manager@, analyst@, investigator@) with password demo-password-2026."; \
	echo "Residents: http://127.0.0.1:$(PORT)/survey/ with one of the access codes above."; \
	echo "Stop with Ctrl+C."; \
	wait $$pid

## Run the whole test suite (browser tests too when Chromium is installed).
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check survey analysis tests bench
	$(BIN)/bandit -q -r survey analysis -c pyproject.toml

clean:
	rm -rf $(VENV) instance .pytest_cache
