#!/usr/bin/env bash
# `make test`: environment, PostgreSQL, then setup/test.py (see its docstring).
# Arguments are passed to setup/test.py (--only odoo|pytest|lint).
set -euo pipefail
# shellcheck source=setup/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
find_odoo
"$ROOT/setup/install.sh"
"$ROOT/setup/ensure-postgres.sh"
ODOO_CONF="$(odoo_conf)"
export ODOO_CONF
cd "$ROOT"
exec "$PY" "$ROOT/setup/test.py" "$@"
