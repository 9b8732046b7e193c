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

## Serve the demo on http://127.0.0.1:5000 (migrates and loads the demo on first run).
run: install
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo
	@echo "Serving on http://127.0.0.1:5000 - staff sign in at http://127.0.0.1:5000/staff/sign-in"
	@echo "as admin@riverton.example (or manager@, analyst@, investigator@) with password demo-password-2026."
	@echo "Stop with Ctrl+C."
	$(BIN)/gunicorn -c gunicorn.conf.py --bind 127.0.0.1:5000 wsgi:app

## Run the whole test suite (browser tests too when Chromium is installed).
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check survey analysis tests bench
	$(BIN)/bandit -q -r survey analysis -c pyproject.toml

clean:
	rm -rf $(VENV) instance .pytest_cache
