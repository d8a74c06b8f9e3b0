#!/usr/bin/env bash
# Makes sure a PostgreSQL server is reachable with libpq's defaults (or PGHOST,
# PGPORT, PGUSER...): starts a local Debian/Ubuntu cluster that is installed but
# down, creates the current user's superuser role on it when we are root, and
# otherwise says in one sentence how to get a server.
set -euo pipefail
# shellcheck source=setup/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

user="${PGUSER:-$(id -un)}"
if [ "$user" = postgres ]; then
    die "Odoo refuses to connect as the database user 'postgres': run as another user, or set PGUSER to a PostgreSQL role that can create databases."
fi
if ! command -v psql >/dev/null 2>&1; then
    die "PostgreSQL client tools (psql) not found: install PostgreSQL ('apt-get install postgresql' on Debian/Ubuntu), or install its client and set PGHOST/PGPORT/PGUSER/PGPASSWORD to a reachable server."
fi

probe() { psql -d postgres -Atqc 'SELECT 1' 2>&1; }

out="$(probe)" && exit 0

# A local cluster that is installed but not running: start it.
if [ -z "${PGHOST:-}" ] && command -v pg_lsclusters >/dev/null 2>&1; then
    started=0
    while read -r ver name _port status _rest; do
        case "$status" in
            online*) ;;
            *)
                echo "==> Starting PostgreSQL cluster $ver/$name"
                if [ "$(id -u)" = 0 ] || [ "$(id -un)" = postgres ]; then
                    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
                else
                    pg_ctlcluster "$ver" "$name" start || true
                fi
                started=1
                ;;
        esac
    done < <(pg_lsclusters -h 2>/dev/null)
    if [ "$started" = 1 ]; then
        for _ in $(seq 1 30); do
            out="$(probe)" && exit 0
            case "$out" in *"does not exist"*) break ;; esac
            sleep 1
        done
    fi
fi

# The server answers but has no role for us: as root on a local cluster, make one.
case "$out" in
    *"role \"$user\" does not exist"*)
        if [ -z "${PGHOST:-}" ] && [ -z "${PGUSER:-}" ] && [ "$(id -u)" = 0 ] &&
           id postgres >/dev/null 2>&1; then
            echo "==> Creating the PostgreSQL role $user (superuser) on the local cluster"
            env -u PGUSER -u PGDATABASE su postgres -c "createuser --superuser '$user'" &&
                out="$(probe)" && exit 0
        fi
        die "PostgreSQL answers but has no role '$user': create it with 'sudo -u postgres createuser --createdb $user', or set PGUSER to an existing role that can create databases."
        ;;
esac

if command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
    die "PostgreSQL is installed but not reachable ($(printf '%s' "$out" | head -n1)): start it with 'pg_ctlcluster <version> main start' (see pg_lsclusters), or set PGHOST/PGPORT to a running server."
fi
die "No PostgreSQL server is reachable ($(printf '%s' "$out" | head -n1)): install one ('apt-get install postgresql' on Debian/Ubuntu, then run this again), or set PGHOST/PGPORT/PGUSER/PGPASSWORD to a server where you may create databases."
