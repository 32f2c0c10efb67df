# ShareHub — `make run` serves the demo on http://127.0.0.1:5000, `make test` runs everything.
VENV   ?= .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
STAMP  := $(VENV)/.installed-stamp
FORMATTED := sharehub tests bench deploy migrations config.py wsgi.py
# `make test` never skips: a missing PostgreSQL or Chromium fails the run (CI=true).
PYTEST := CI=true $(VENV)/bin/pytest -q -p no:cacheprovider
# the tests whose outcome depends on the day: run again at each instant of DATES
DATED  := tests/booking tests/billing tests/vouchers tests/stats tests/assessment tests/calendar tests/admin \
          tests/api/test_bookings.py tests/api/test_lab.py tests/api/test_public.py \
          tests/api/test_statistics_api.py tests/api/test_idempotency.py tests/core/test_clock.py
DATES  ?= 2026-12-31T10:00:00+08:00 2027-02-05T10:00:00+08:00 2026-09-30T10:00:00+08:00 \
          2026-09-20T10:00:00+08:00 2028-02-29T10:00:00+08:00 2026-12-31T23:30:00+08:00 \
          2027-01-01T00:30:00+08:00

.PHONY: install translations system-packages run test test-sqlite test-postgres test-e2e-both suite-sqlite suite-postgres test-dates lint format extract-messages clean bench-catalog bench-booking load bench-stats bench-usage-import

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(VENV)/bin/pybabel compile -f -d translations

run: install                 ## migrate the SQLite database, load the demo once, serve
	$(FLASK) db upgrade
	$(FLASK) sharehub seed-demo
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

system-packages:             ## Chromium, PostgreSQL, Pango, CJK fonts: installed as root, else the command to run
	bash deploy/system-packages.sh

test: system-packages install lint   ## the whole suite, on both databases at once (each its own servers and ports)
	$(MAKE) -j2 --output-sync=target suite-sqlite suite-postgres

test-sqlite: install
	SHAREHUB_TEST_DB=sqlite $(PYTEST) tests

test-postgres: install
	SHAREHUB_TEST_DB=postgres $(PYTEST) tests

suite-sqlite:                # what test-sqlite runs, once install is done
	SHAREHUB_TEST_DB=sqlite $(PYTEST) tests

suite-postgres:
	SHAREHUB_TEST_DB=postgres $(PYTEST) tests

test-e2e-both: install      ## every browser journey on both databases (make test runs each journey in one suite)
	SHAREHUB_E2E_BOTH=1 SHAREHUB_TEST_DB=sqlite $(PYTEST) tests/e2e
	SHAREHUB_E2E_BOTH=1 SHAREHUB_TEST_DB=postgres $(PYTEST) tests/e2e

test-dates: install          ## the day-dependent tests at New Year's Eve, Spring Festival eve, 调休 Sunday, 29 Feb, 23:30/00:30 Beijing
	@failed=""; for when in $(DATES); do \
	  echo "== today is $$when"; \
	  SHAREHUB_TEST_NOW=$$when SHAREHUB_TEST_DB=$${SHAREHUB_TEST_DB:-sqlite} $(PYTEST) $(DATED) || failed="$$failed $$when"; \
	done; \
	if [ -n "$$failed" ]; then echo "failed at:$$failed"; exit 1; fi; echo "passed at every date"

lint: $(STAMP)               ## ruff (rules and formatting), mypy (models, services, core); the same checks run before each commit (pre-commit)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check $(FORMATTED)
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format $(FORMATTED)

extract-messages: $(STAMP)   ## refresh translations/messages.pot and the .po files
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance test-output

bench-catalog: install   ## catalogue search on PostgreSQL at 100,000 listings (not in `make test`; BENCH_ARGS="--listings 2000" for a smoke run)
	$(PY) -m bench.catalog_search $(BENCH_ARGS)

bench-booking: install   ## month availability among 1,000,000 bookings; booking throughput vs a bare INSERT
	$(PY) -m bench.booking $(BENCH_ARGS)

load: install   ## locust against gunicorn (4 workers) on PostgreSQL, then the consistency check; report in bench/out/load.md
	$(PY) -m bench.load $(LOAD_ARGS)

bench-stats: install     ## yearly figures of 500 labs over 1,000,000 usage records; streamed exports' peak memory
	$(PY) -m bench.stats $(BENCH_ARGS)

bench-usage-import: install   ## usage CSV import of 1,000, 5,000 and 20,000 rows through the import page (BENCH_ARGS="--database sqlite")
	$(PY) -m bench.usage_import $(BENCH_ARGS)
