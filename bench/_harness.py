"""Plumbing shared by the scripts of bench/: databases, an Odoo server process,
JSON-RPC, bulk contacts. A real Odoo server runs from ``ODOO_SRC`` with our
addons; nothing here is a test by itself.

Used by ``bench/soak.py`` (``make soak``), ``bench/bench_dispatch.py`` and
``bench/bench_launch.py``.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ODOO_SRC = Path(os.environ.get("ODOO_SRC", "/opt/odoo"))
ADDONS_PATH = f"{ODOO_SRC / 'odoo' / 'addons'},{ODOO_SRC / 'addons'},{ROOT}"
DATA_DIR = Path(
    os.environ.get("DATA_DIR")
    or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share") / "Odoo"
)
# The local SMS.ru server and the pseudo-terminal modem import without Odoo.
sys.path.insert(0, str(ROOT / "sms_provider_smsru" / "tests"))
sys.path.insert(0, str(ROOT / "sms_provider_modem" / "tests"))


def say(msg, tag="bench"):
    print(f"[{tag} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def psql(db, sql):
    """The output of one statement (None when it failed)."""
    out = subprocess.run(
        ["psql", "-d", db, "-Atqc", sql], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() if out.returncode == 0 else None


def db_exists(name):
    return (
        psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    )


def drop_db(name):
    """Drop the database and its filestore."""
    subprocess.run(["dropdb", "--if-exists", "--force", name], capture_output=True)
    shutil.rmtree(DATA_DIR / "filestore" / name, ignore_errors=True)


def create_db(name, template):
    """A fresh copy of ``template`` (database and filestore)."""
    drop_db(name)
    subprocess.run(["createdb", "-T", template, name], check=True)
    src = DATA_DIR / "filestore" / template
    if src.exists():
        shutil.copytree(src, DATA_DIR / "filestore" / name)


def empty_config():
    """An explicit, empty configuration file: keeps ~/.odoorc out of the way."""
    path = Path(tempfile.gettempdir()) / f"sms_bench_{os.getuid()}.conf"
    path.write_text("[options]\n")
    return str(path)


def odoo_cmd(db, *extra):
    """The command line of ``odoo-bin`` on ``db``."""
    return [sys.executable, str(ODOO_SRC / "odoo-bin"), *odoo_args(db, *extra)]


def odoo_args(db, *extra):
    """Odoo's options for ``db``: for odoo-bin, or ``config.parse_config()``
    of an Odoo run in the script's own process."""
    return [
        "-c",
        empty_config(),
        f"--addons-path={ADDONS_PATH}",
        f"--data-dir={DATA_DIR}",
        "-d",
        db,
        "--db-filter",
        f"^{db}$",
        *extra,
    ]


def template_key(modules):
    """Odoo's version and our addons' source: a change rebuilds the template."""
    digest = hashlib.sha1((ODOO_SRC / "odoo" / "release.py").read_bytes())
    digest.update(str(ODOO_SRC).encode())
    for addon in modules.split(","):
        for path in sorted((ROOT / addon).rglob("*")):
            if path.suffix in (".py", ".xml", ".csv") and "tests" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return f"{modules} {digest.hexdigest()[:16]}"


def ensure_template(name, modules, inactive_crons=()):
    """A database with ``modules`` installed without demo data, whose only
    active crons are sms_mailing's (less ``inactive_crons``, their xml names);
    rebuilt when Odoo or the addons change."""
    key = template_key(modules)
    if inactive_crons:
        key += " without " + ",".join(sorted(inactive_crons))
    comment = psql(
        "postgres",
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
        f" WHERE datname = '{name}'",
    )
    if comment == key:
        return
    drop_db(name)
    say(f"building the template {name} ({modules}, no demo data), ~1-2 min")
    res = subprocess.run(
        odoo_cmd(
            name,
            "-i",
            modules,
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode:
        drop_db(name)
        sys.exit(f"Building the template failed:\n{res.stderr[-4000:]}")
    kept = "".join(f" AND name != '{cron}'" for cron in inactive_crons)
    psql(
        name,
        "UPDATE ir_cron SET active = FALSE WHERE id NOT IN (SELECT res_id FROM"
        f" ir_model_data WHERE module = 'sms_mailing' AND model = 'ir.cron'{kept})",
    )
    psql("postgres", f"COMMENT ON DATABASE {name} IS '{key}'")


class Server:
    """One Odoo server in its own process group (stopped or killed whole)."""

    def __init__(self, db, http_port, log, workers=0, cron_threads=2):
        self.db = db
        self.port = http_port
        self.log_path = log
        self.log = open(log, "a")  # noqa: SIM115  (closed by stop())
        self.proc = subprocess.Popen(
            odoo_cmd(
                db,
                f"--http-port={http_port}",
                f"--gevent-port={http_port + 1000}",
                f"--workers={workers}",
                f"--max-cron-threads={cron_threads}",
                "--log-level=info",
            ),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Odoo exited, see {self.log_path}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/web/health")
                return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"Odoo on port {self.port} did not start")

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=60):
        """SIGTERM (Odoo's graceful shutdown), SIGKILL after ``timeout`` s.
        Returns how it ended: "terminated" or "killed"."""
        how = "terminated"
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                how = "killed"
        self.log.close()
        return how


class Rpc:
    """JSON-RPC as the web client's user would call (``admin``/``admin``)."""

    def __init__(self, port, db, login="admin", password="admin"):  # noqa: S107
        self.url = f"http://127.0.0.1:{port}/jsonrpc"
        self.db = db
        self.password = password
        self.uid = self.call("common", "login", db, login, password)

    def call(self, service, method, *args):
        data = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": args},
            }
        ).encode()
        request = urllib.request.Request(
            self.url, data, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.load(response)
        if answer.get("error"):
            raise RuntimeError(answer["error"]["data"]["message"])
        return answer["result"]

    def __call__(self, model, method, *args, **kwargs):
        return self.call(
            "object",
            "execute_kw",
            self.db,
            self.uid,
            self.password,
            model,
            method,
            args,
            kwargs,
        )

    def campaign_to(self, ref, body, **values):
        """A draft mailing of ``body`` to the contacts whose reference is
        ``ref`` (what :func:`insert_contacts` wrote), through a dynamic group
        as a sales manager would build it; returns the mailing's id."""
        group = self(
            "sms.mailing.group",
            "create",
            {"name": ref, "domain": repr([("ref", "=", ref)])},
        )
        return self(
            "sms.mailing",
            "create",
            {"name": f"Bench {ref}", "body": body, "group_ids": [(6, 0, [group])]}
            | values,
        )


def in_doubt_numbers(conn, mailing):
    """The numbers of a mailing's messages that failed *Maybe sent*."""
    with conn.cursor() as cr:
        cr.execute(
            "SELECT number FROM sms_sms WHERE sms_mailing_id = %s"
            " AND failure_type = 'sms_in_doubt'",
            [mailing],
        )
        return [row[0] for row in cr.fetchall()]


def insert_contacts(db, ref, numbers):
    """Contacts ``Client <number>`` with these mobiles, tagged by ``ref``, in one
    statement (the ORM would take minutes for 50,000)."""
    import psycopg2  # only the scripts need it

    with psycopg2.connect(dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            """
            INSERT INTO res_partner (name, complete_name, mobile, phone_sanitized, ref,
                type, active, is_company, partner_share, lang, color, create_uid,
                write_uid, create_date, write_date)
            SELECT 'Client ' || t.n, 'Client ' || t.n, t.n, t.n, %s, 'contact', TRUE,
                   FALSE, TRUE, 'en_US', 0, 1, 1, now() at time zone 'UTC',
                   now() at time zone 'UTC'
              FROM unnest(%s::varchar[]) AS t(n)
            """,
            [ref, numbers],
        )
        cr.execute(
            "UPDATE res_partner SET commercial_partner_id = id"
            " WHERE commercial_partner_id IS NULL"
        )
