# shellcheck shell=bash
# Common settings for the project's scripts. Sourced, never run.
# Every value can be overridden from the environment.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
PYTHON="${PYTHON:-}"
export PGHOST="${PGHOST:-}"
DB_NAME="${DB_NAME:-sms_demo}"
HTTP_PORT="${HTTP_PORT:-8069}"
ADDONS="sms_mailing,sms_provider_smsru,sms_provider_modem"

die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

# Locate the Odoo 18.0 Community source: $ODOO_SRC, else the usual machine paths.
find_odoo() {
    local candidates=()
    if [ -n "${ODOO_SRC:-}" ]; then
        candidates=("$ODOO_SRC")
    else
        candidates=(/opt/odoo /opt/odoo18 /opt/odoo-18.0 /opt/odoo/odoo-18.0 \
                    /usr/src/odoo "$ROOT/../odoo" "$HOME/odoo")
    fi
    local c
    for c in "${candidates[@]}"; do
        if [ -f "$c/odoo/release.py" ] && [ -d "$c/odoo/addons/sms" ]; then
            if grep -Eq "^version_info = \(18, 0" "$c/odoo/release.py"; then
                ODOO_SRC="$(cd "$c" && pwd)"
                export ODOO_SRC
                return 0
            fi
        fi
    done
    if [ -n "${ODOO_SRC:-}" ]; then
        die "ODOO_SRC=$ODOO_SRC is not an Odoo 18.0 Community source tree (no odoo/release.py with version 18.0 and odoo/addons/sms). Set ODOO_SRC to the directory that contains odoo-bin."
    fi
    die "Odoo 18.0 source not found in ${candidates[*]}. Set ODOO_SRC to the directory of an Odoo 18.0 Community checkout (the one that contains odoo-bin), e.g. 'make test ODOO_SRC=/path/to/odoo'."
}

# Odoo's addons path: Odoo's own addons (odoo/addons; the top-level addons/ of a
# nightly tree is left out on purpose) and this repository.
addons_path() {
    local p="$ODOO_SRC/odoo/addons"
    # A git checkout of odoo/odoo keeps most addons in the top-level addons/ and
    # only base in odoo/addons.
    if [ ! -d "$ODOO_SRC/odoo/addons/mail" ] && [ -d "$ODOO_SRC/addons/mail" ]; then
        p="$ODOO_SRC/addons,$p"
    fi
    printf '%s,%s' "$p" "$ROOT"
}
