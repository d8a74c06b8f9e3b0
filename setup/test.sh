#!/usr/bin/env bash
# `make test`: environment, PostgreSQL, then setup/test.py (see its docstring).
# Arguments are passed to setup/test.py (--only odoo|pytest|lint).
exec "$(dirname "${BASH_SOURCE[0]}")/with-odoo.sh" test.py "$@"
