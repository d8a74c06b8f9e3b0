#!/usr/bin/env bash
# Runs a Python script of setup/ once everything it needs is there: the Odoo
# 18.0 source found, .venv installed, PostgreSQL up, the Odoo configuration
# written (ODOO_CONF). `setup/with-odoo.sh test.py --only lint`
set -euo pipefail
# shellcheck source=setup/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
find_odoo
"$ROOT/setup/install.sh"
"$ROOT/setup/ensure-postgres.sh"
ODOO_CONF="$(odoo_conf)"
export ODOO_CONF
cd "$ROOT"
script="$1"
shift
exec "$PY" "$ROOT/setup/$script" "$@"
