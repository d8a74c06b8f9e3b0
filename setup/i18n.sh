#!/usr/bin/env bash
# `make i18n`: regenerate each addon's .pot with Odoo and merge its .po files
# (see setup/i18n.py). `setup/i18n.sh --check` only runs the translation checks.
set -euo pipefail
# shellcheck source=setup/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
find_odoo
"$ROOT/setup/install.sh"
"$ROOT/setup/ensure-postgres.sh"
ODOO_CONF="$(odoo_conf)"
export ODOO_CONF
cd "$ROOT"
exec "$PY" "$ROOT/setup/i18n.py" "$@"
