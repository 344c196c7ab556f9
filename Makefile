# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test install translations system-deps runtime-deps bench extract-messages clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Compile the message catalogs (.po -> .mo); the .mo files are build output, not committed.
translations: $(STAMP)
	$(BIN)/pybabel compile --directory translations --domain messages --statistics 2>&1 | grep -v "^compiling" || true
	@ls translations/*/LC_MESSAGES/messages.mo >/dev/null

## Debian packages the tests need (Chromium for the browser tests, wrk for bench/, pango for PDFs).
system-deps:
	@sh .ci/system-deps

## Debian packages the service itself needs (pango and fonts for invoice PDFs).
runtime-deps:
	@sh .ci/system-deps runtime || echo "warning: invoice PDFs need pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0)" >&2

run: translations runtime-deps
	$(BIN)/widget-server db upgrade
	$(BIN)/widget-server demo
	$(BIN)/widget-server serve --port $(PORT)

test: translations system-deps
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing loudly" >&2; exit 1; fi; exit $$rc

bench: translations system-deps
	$(BIN)/python bench/signup.py

## Refresh messages.pot and the catalogs after changing translatable text.
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -o translations/messages.pot --no-location --sort-output --project widget-server --copyright-holder widget-server .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) instance *.egg-info
