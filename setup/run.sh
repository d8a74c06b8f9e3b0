#!/usr/bin/env bash
# `make run`: environment, PostgreSQL, the demo database (created once, with demo
# data), then Odoo on http://localhost:$HTTP_PORT until stopped. Logs go to stdout.
set -euo pipefail
# shellcheck source=setup/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
find_odoo
"$ROOT/setup/install.sh"
"$ROOT/setup/ensure-postgres.sh"

sql() { psql -d "$1" -Atqc "$2"; }
# Odoo prints this on every start as root (a container's usual user); said once below.
ROOT_NOTE="Running as user 'root' is a security risk."
quiet_root() { grep --line-buffered -vF "$ROOT_NOTE" || true; }
db_exists() { [ "$(sql postgres "SELECT 1 FROM pg_database WHERE datname = '$1'")" = 1 ]; }
# Our addons that are not installed yet in $DB_NAME (all of them when it is empty).
missing_addons() {
    local installed a out=()
    installed=",$(sql "$DB_NAME" "SELECT string_agg(name, ',') FROM ir_module_module WHERE state = 'installed'" 2>/dev/null || true),"
    for a in ${ADDONS//,/ }; do
        case "$installed" in *",$a,"*) ;; *) out+=("$a") ;; esac
    done
    local IFS=,
    printf '%s' "${out[*]}"
}

if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null; then
    die "Port $HTTP_PORT is already in use (another Odoo?): stop it, or start on another port with 'make run HTTP_PORT=8070'."
fi

todo="$ADDONS"
if db_exists "$DB_NAME"; then
    todo="$(missing_addons)"
fi
if [ -n "$todo" ]; then
    new=0
    db_exists "$DB_NAME" || new=1
    echo "==> Installing $todo with demo data into database $DB_NAME (once; takes about a minute; only warnings and errors are shown)"
    started=$SECONDS
    # --log-level=warn: the module-by-module progress and the "shutdown" lines
    # Odoo prints when --stop-after-init ends read like a failure; they are not.
    # A new demo database gets the users' languages (French, Russian, Brazilian
    # Portuguese) before the addons, so that the demo contacts get theirs.
    # English first: Odoo makes the first one the default language of contacts.
    langs=()
    [ "$new" = 1 ] && langs=(--load-language=en_US,fr_FR,ru_RU,pt_BR)
    odoo_bin -d "$DB_NAME" -i "$todo" "${langs[@]}" --stop-after-init --no-http --max-cron-threads=0 \
        --log-level=warn 2>&1 | quiet_root
    if [ -n "$(missing_addons)" ]; then
        die "Installing $(missing_addons) into $DB_NAME failed (see the log above). Fix the cause, then run 'make run' again; 'make reset-demo' starts from an empty database."
    fi
    echo "==> Installed in $((SECONDS - started))s"
    if [ "$new" = 1 ]; then
        # The built-in simulated provider ships inactive in the demo data so that a
        # production database never sends through it by accident; the demo one uses it.
        echo "==> Activating the simulated SMS provider of the demo data (if there is one)"
        odoo_bin shell -d "$DB_NAME" --no-http --max-cron-threads=0 --log-level=warn 2>&1 <<'PY' | quiet_root
provider = env.ref("sms_mailing.sms_provider_demo", raise_if_not_found=False)
if provider is None:
    print("No simulated provider in the demo data yet (sms_mailing.sms_provider_demo): skipped.")
else:
    provider.with_context(active_test=False).write({"active": True})
    env.cr.commit()
    print(f"Simulated provider '{provider.display_name}' is active.")
PY
    fi
fi

# UPDATE=1 upgrades our addons first (after pulling model, view or data changes).
update=()
if [ -n "${UPDATE:-}" ] && [ "${UPDATE}" != 0 ]; then
    update=(-u "$ADDONS")
    echo "==> Upgrading $ADDONS in $DB_NAME before serving"
fi
if [ "$(id -u)" = 0 ]; then
    echo "==> Running as root (fine in a throw-away container; on a real server run Odoo as its own user)"
fi
echo "==> Odoo on http://localhost:$HTTP_PORT (database $DB_NAME, login admin / password admin); Ctrl-C stops it"
echo "    Odoo's log follows; the server is ready at the line 'HTTP service (werkzeug) running'."
conf="$(odoo_conf)"
# Odoo's output without the root warning said above. The filter ignores Ctrl-C
# so that it lasts until Odoo has printed its last line.
exec > >(trap '' INT; quiet_root) 2>&1
exec "$PY" "$ODOO_SRC/odoo-bin" -c "$conf" -d "$DB_NAME" --db-filter="^${DB_NAME}\$" \
    --http-port="$HTTP_PORT" "${update[@]}" 2>&1
