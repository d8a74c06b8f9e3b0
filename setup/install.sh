#!/usr/bin/env bash
# Creates .venv with Odoo 18.0's requirements, Odoo itself (from $ODOO_SRC, via a
# .pth file: no editable install, so installing odoo-addon-* wheels never breaks it)
# and the project's dependencies. Does nothing when everything is already there.
set -euo pipefail
# shellcheck source=setup/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
find_odoo

pick_python() {
    local c
    for c in ${PYTHON:-} python3.11 python3.12 python3.10 python3; do
        if command -v "$c" >/dev/null 2>&1 &&
           "$c" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    die "Odoo 18.0 needs Python 3.10, 3.11 or 3.12 with venv; none was found. Install one, or set PYTHON=/path/to/python3.11."
}

stamp_src() {
    cat "$ODOO_SRC/requirements.txt" "$ROOT/setup/requirements-dev.txt" "$ROOT/setup/install.sh"
    echo "$ODOO_SRC"
}
STAMP="$VENV/.installed"
want="$(stamp_src | sha1sum | cut -d' ' -f1)"
if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

echo "==> Preparing $VENV (Odoo from $ODOO_SRC)"
if [ ! -x "$PY" ]; then
    "$(pick_python)" -m venv "$VENV"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# python-ldap (auth_ldap only) needs system headers and is not used here.
grep -viE '^\s*python-ldap' "$ODOO_SRC/requirements.txt" > "$tmp/requirements.txt"
# cbor2 5.4.2 does not build with setuptools >= 81.
echo 'setuptools<81' > "$tmp/constraints.txt"
export PIP_CONSTRAINT="$tmp/constraints.txt"
export PIP_DISABLE_PIP_VERSION_CHECK=1
pip_install() {
    # pip warns about every empty local index directory configured on some machines.
    "$PY" -m pip install -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }
}
pip_install 'setuptools<81' wheel
pip_install -r "$tmp/requirements.txt" -r "$ROOT/setup/requirements-dev.txt"

site="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n' "$ODOO_SRC" > "$site/odoo-src.pth"
"$PY" -c 'import odoo.release as r; assert r.version_info[:2] == (18, 0), r.version'
echo "$want" > "$STAMP"
echo "==> $VENV ready"
