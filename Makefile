# Two commands on a fresh machine: `make dev` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test test-fast lint lock bench install clean messages

# What production runs first, at the versions and hashes of requirements.lock (the image and
# the production-shaped test install the same); then the project itself and its tools.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: $(STAMP)
	$(BIN)/journeys dev

# Two processes, each with its own PostgreSQL, SMTP, CalDAV and Temporal test servers.
test: $(STAMP)
	$(BIN)/pytest -q -n 2

# The unit tests alone (tests/unit/): the pure rules (the validators' checks and their coded
# refusals, the follow-up calendar), in seconds and without starting any server; `make test`
# runs them too.
test-fast: $(STAMP)
	$(BIN)/pytest -q tests/unit

# Benchmarks against bare Temporal: about 15 minutes on 2 cores; rewrites bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run --size full --out bench/RESULTS.md

# Refresh the translation catalogues from the code and templates (docs/i18n.md): the
# template i18n/locales/messages.pot, then every language's messages.po, whose new or changed
# messages a translator then fills in.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -c Translators: --add-location=file -w 100 \
		--project=patient-journeys --copyright-holder="The patient-journeys authors" \
		-o i18n/locales/messages.pot .
	$(BIN)/pybabel update -i i18n/locales/messages.pot -d i18n/locales -w 100 --ignore-obsolete

# Pin the runtime dependencies of pyproject.toml, with the hashes of every platform's files,
# into requirements.lock; run after changing them, and commit both.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --generate-hashes --python-version 3.11 \
		--quiet --custom-compile-command "make lock" -o requirements.lock

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
