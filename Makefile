# The two commands: `make run` and `make test`. Everything else is a shortcut.
# Variables: ODOO_SRC (Odoo 18.0 source), HTTP_PORT, DB_NAME, UPDATE=1 (make run:
# upgrade our addons first), KEEP_DB=1 (make test: keep the test database).
SHELL := /bin/bash
export ODOO_SRC HTTP_PORT DB_NAME KEEP_DB DATA_DIR UPDATE TEST_TAGS

.PHONY: help run test test-odoo test-pytest lint i18n i18n-check format install reset-demo clean-test-dbs clean soak

help:
	@echo "make run              install, create the demo database $${DB_NAME:-sms_demo} once, serve on http://localhost:$${HTTP_PORT:-8069}"
	@echo "make test             Odoo tests (ours and Odoo's sms), pytest tests/, linters; ends with 'N passed, N failed'"
	@echo "make test-odoo        only the Odoo tests"
	@echo "make test-pytest      only pytest tests/"
	@echo "make lint             only the linters"
	@echo "make soak             50,000 messages through a real Odoo and the local SMS.ru (5% errors, a restart); ~30 min"
	@echo "make i18n             regenerate each addon's i18n/<addon>.pot with Odoo and merge its fr/ru/pt_BR .po files"
	@echo "make i18n-check       only the translation checks (no database): complete .po files, .pot as new as the code"
	@echo "make format           ruff format + ruff check --fix (rewrites files)"
	@echo "make reset-demo       drop the demo database (the next 'make run' recreates it)"
	@echo "make clean-test-dbs   drop test template databases and leftovers of interrupted runs"
	@echo "make clean            remove var/ (logs, generated config)"

run:
	@setup/run.sh

test:
	@setup/test.sh

test-odoo:
	@setup/test.sh --only odoo

test-pytest:
	@setup/test.sh --only pytest

lint:
	@setup/test.sh --only lint

i18n:
	@setup/i18n.sh

i18n-check:
	@setup/i18n.sh --check

install:
	@setup/install.sh

format: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

soak: install
	@source setup/env.sh && find_odoo && setup/ensure-postgres.sh && \
	  .venv/bin/python bench/soak.py --port "$${SOAK_PORT:-8076}" --db "$${SOAK_DB:-sms_soak}" $(SOAK_ARGS)

reset-demo:
	@source setup/env.sh && setup/ensure-postgres.sh && \
	  dropdb --if-exists --force "$$DB_NAME" && rm -rf "$$DATA_DIR/filestore/$$DB_NAME" && \
	  echo "Dropped $$DB_NAME; 'make run' creates it again."

clean-test-dbs:
	@setup/test.sh --drop-test-dbs

clean:
	rm -rf var
