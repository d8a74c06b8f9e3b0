#!/usr/bin/env bash
# Jasmin (an open-source SMS gateway) for sms_provider_smpp's end-to-end test and
# bench/bench_smpp_jasmin.py:
#  - its own virtualenv, .venv-jasmin at the repository root (JASMIN_VENV to
#    change it), from setup/jasmin/requirements.txt: Jasmin's pins differ from
#    Odoo's, so it never shares .venv. A stamp makes a second run do nothing;
#  - RabbitMQ on 127.0.0.1:5672 (guest/guest): started when installed but stopped,
#    installed with apt-get when missing and running as root;
#  - redis-server: each run starts a private one on a free port (see
#    sms_provider_smpp/tests/jasmin_gateway.py), installed with apt-get when
#    missing and running as root.
# Anything it cannot do ends it with a sentence saying what to do, never silently.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
JVENV="${JASMIN_VENV:-$ROOT/.venv-jasmin}"

die() { echo "setup/jasmin/install.sh: $*" >&2; exit 1; }

apt_install() {  # apt_install PACKAGE WHAT
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "$2 is not installed and this is not root on a Debian/Ubuntu system: install the package $1 (e.g. 'sudo apt-get install $1'), then run this again."
    fi
    echo "==> Installing $1 (apt-get) for Jasmin"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || true
    apt-get install -y -q "$1" >/dev/null || die "'apt-get install $1' failed: install $2 by hand, then run this again."
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# -- services ------------------------------------------------------------------
command -v redis-server >/dev/null 2>&1 || apt_install redis-server "Redis (redis-server)"
command -v rabbitmqctl >/dev/null 2>&1 || apt_install rabbitmq-server "RabbitMQ (rabbitmq-server)"
if ! port_open 5672; then
    echo "==> Starting RabbitMQ (service rabbitmq-server start)"
    if [ "$(id -u)" = 0 ]; then
        service rabbitmq-server start >/dev/null 2>&1 || rabbitmq-server -detached >/dev/null 2>&1 || true
    fi
    for _ in $(seq 60); do port_open 5672 && break; sleep 1; done
    port_open 5672 || die "RabbitMQ does not answer on 127.0.0.1:5672: start it ('sudo service rabbitmq-server start'), then run this again."
fi

# -- virtualenv ----------------------------------------------------------------
pick_python() {
    local c
    for c in ${JASMIN_PYTHON:-} python3.11 python3.12 python3.10 python3; do
        if command -v "$c" >/dev/null 2>&1 &&
           "$c" -c 'import sys, venv; sys.exit(not ((3, 8) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
            command -v "$c"; return 0
        fi
    done
    die "Jasmin 0.11 needs Python 3.8 to 3.12 with venv; none was found. Install one, or set JASMIN_PYTHON=/path/to/python3.11."
}

want="$(cat "$HERE/requirements.txt" "$HERE/install.sh" | sha1sum | cut -d' ' -f1)"
STAMP="$JVENV/.installed"
if [ -x "$JVENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
echo "==> Preparing $JVENV (Jasmin SMS gateway)"
rm -f "$STAMP"
[ -x "$JVENV/bin/python" ] || "$(pick_python)" -m venv "$JVENV" || die "could not create the virtualenv $JVENV."
export PIP_DISABLE_PIP_VERSION_CHECK=1
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$JVENV/bin/python" -m pip install -q -r "$HERE/requirements.txt" >"$log" 2>&1; then
    grep -v '^WARNING: Location' "$log" | tail -20 >&2
    die "pip could not install Jasmin into $JVENV (see above)."
fi
"$JVENV/bin/python" - <<'PY' || die "Jasmin's virtualenv $JVENV is incomplete (see above)."
import os, txamqp, jasmin
spec = os.path.join(os.path.dirname(txamqp.__file__), "specs/standard/amqp0-9-1.stripped.xml")
assert os.path.exists(spec), spec
PY
[ -f "$JVENV/bin/jasmind.py" ] || die "jasmind.py is missing from $JVENV/bin."
# Jasmin 0.11.1 defect (jookies/jasmin#1236, open): after a submit_sm_resp it reads
# the response from the request (`_pdu.response`, an AttributeError logged as
# "'SubmitSM' object has no attribute 'response'"), so it never publishes
# dlr.submit_sm_resp, never maps the SMSC's message id, and every receipt ends in
# "DLRMapNotFound". 0.11.0 read `r.response`; 0.11.1 fixed long submit_sm relaying
# since, so we keep 0.11.1 and put back 0.11.0's two lines. See README.md.
"$JVENV/bin/python" - <<'PY' || die "could not correct Jasmin's submit_sm_resp handling (see above)."
import pathlib, jasmin.managers.listeners as m
path = pathlib.Path(m.__file__)
text = path.read_text()
fixed = text.replace("_pdu.response.", "r.response.")
if "r.response.params['message_id']" not in fixed:
    raise SystemExit(f"{path}: the submit_sm_resp lines are not the expected ones")
if fixed != text:
    path.write_text(fixed)
    print("==> Corrected Jasmin's submit_sm_resp handling (jookies/jasmin#1236) in", path)
PY
echo "$want" > "$STAMP"
echo "==> $JVENV ready (Jasmin $("$JVENV/bin/python" -c 'import jasmin; print(jasmin.get_release())' 2>/dev/null || echo 0.11))"
