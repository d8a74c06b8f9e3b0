"""`make test`: every Odoo test of our addons, Odoo's own sms tests, pytest, linters.

Called by setup/test.sh once .venv and PostgreSQL are ready (it exports ROOT,
ODOO_SRC, ODOO_CONF, PY, DATA_DIR, VAR_DIR and ADDONS). Steps:

1. A template database with the addons' non-project dependencies installed (with
   demo data) is built once per (Odoo source, dependency set) and reused: building it
   is under an flock, so concurrent runs wait for one another instead of racing.
2. ``createdb -T`` copies it into a database of this run only; the three addons are
   installed there with ``--test-enable`` restricted by ``--test-tags`` to them, so
   their at_install and post_install tests run.
3. Odoo's own ``sms`` tests run on that database (our addons installed): at_install
   ones when the registry loads sms, post_install ones with the full registry.
4. Odoo's export of the addons' terms on that database is compared with the
   committed .pot files (setup/i18n.py), before Odoo's SMS suites install more.
5. pytest on tests/, the linters of .pre-commit-config.yaml, and the translation
   checks without database (complete fr/ru/pt_BR .po files, .pot as new as the
   code: setup/i18n.py).
6. The database is dropped and one line ``N passed, N failed`` closes the output.

Full logs go to var/log/<run>/; the console gets failures, ERROR/CRITICAL log
lines and one summary line per phase. Any Odoo log line at ERROR or CRITICAL level
fails the run, and so does an addon whose Odoo tests did not run.
"""

import argparse
import ast
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import i18n

ROOT = Path(os.environ["ROOT"])
ODOO_SRC = Path(os.environ["ODOO_SRC"])
ODOO_CONF = os.environ["ODOO_CONF"]
PY = os.environ.get("PY") or sys.executable
VENV_BIN = Path(PY).parent
DATA_DIR = Path(os.environ["DATA_DIR"])
VAR_DIR = Path(os.environ.get("VAR_DIR") or ROOT / "var")
ADDONS = [a for a in os.environ["ADDONS"].split(",") if a]
KEEP_DB = os.environ.get("KEEP_DB") not in (None, "", "0")
TEST_TAGS = os.environ.get("TEST_TAGS", "")
# Bump when the way the template is built changes: older templates are then unused.
TEMPLATE_RECIPE = "2"
KEEP_LOG_RUNS = 10
PREGENERATE_ASSETS = """
env["ir.qweb"]._pregenerate_assets_bundles()
env.cr.commit()
"""

LOG_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ "
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL|RUNBOT|\w+) "
    r"(?P<db>\S+) (?P<logger>[^\s:]+): ?(?P<msg>.*)$"
)
RESULT_RE = re.compile(
    r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database"
)
TEST_LOGGER_RE = re.compile(r"^odoo\.addons\.(\w+)\.tests(\.|$)")
# Reasons Odoo's HttpCase gives when it skips a browser test (tour).
BROWSER_SKIP_RE = re.compile(
    r"chrome|chromium|websocket|devtools|browser|page' target", re.IGNORECASE
)
# The executables Odoo's HttpCase looks for (odoo/tests/common.py).
CHROME_NAMES = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")


def say(msg=""):
    print(msg, flush=True)


class Run:
    """Counts of one `make test` run and the per-phase lines printed at the end."""

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.phases = []

    def phase(self, name, passed, failed, skipped=0, seconds=None, note=""):
        self.passed += passed
        self.failed += failed
        self.skipped += skipped
        status = "ok  " if not failed else "FAIL"
        line = f"  {status} {name:<34} {passed} ok / {failed} failed"
        if skipped:
            line += f" / {skipped} skipped"
        if seconds is not None:
            line += f"  ({seconds:.0f}s)"
        if note:
            line += f"  {note}"
        self.phases.append(line)


# -- helpers -------------------------------------------------------------------


def psql(sql, db="postgres", check=True):
    res = subprocess.run(
        ["psql", "-d", db, "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        capture_output=True,
        text=True,
    )
    if check and res.returncode:
        raise RuntimeError(f"psql failed: {sql}\n{res.stderr.strip()}")
    return res.stdout.strip()


def db_exists(name):
    return psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"


def drop_db(name):
    if db_exists(name):
        psql(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE false')
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(DATA_DIR / "filestore" / name, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manifest(addon):
    return ast.literal_eval((ROOT / addon / "__manifest__.py").read_text())


def external_depends():
    """Odoo modules our addons depend on directly, minus our own addons."""
    deps = set()
    for addon in ADDONS:
        deps.update(manifest(addon).get("depends", []))
    return sorted(deps - set(ADDONS))


def odoo_version_id():
    pkg_info = ODOO_SRC / "PKG-INFO"
    if pkg_info.exists():
        for line in pkg_info.read_text(errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    git = subprocess.run(
        ["git", "-C", str(ODOO_SRC), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
    )
    if git.returncode == 0:
        return git.stdout.strip()
    release = (ODOO_SRC / "odoo" / "release.py").read_bytes()
    return hashlib.sha1(release).hexdigest()


def run_logged(cmd, log_path, stdin_text=None, append=False):
    """Run ``cmd`` with its output in ``log_path``; return (returncode, seconds)."""
    t0 = time.time()
    with open(log_path, "a" if append else "w") as log:
        log.write("$ " + " ".join(str(c) for c in cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(
            [str(c) for c in cmd],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL if stdin_text is None else subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        try:
            if stdin_text is not None:
                proc.stdin.write(stdin_text)
                proc.stdin.close()
            rc = proc.wait()
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    return rc, time.time() - t0


def odoo_cmd(db, *args, command=None):
    return [
        PY,
        ODOO_SRC / "odoo-bin",
        *([command] if command else []),
        "-c",
        ODOO_CONF,
        "-d",
        db,
        "--max-cron-threads=0",
        "--log-level=info",
        *args,
    ]


def show(text, limit=60, indent="    "):
    lines = text.rstrip("\n").splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines in the log)"]
    for line in lines:
        say(indent + line)


# -- Odoo log parsing ------------------------------------------------------------


def parse_odoo_log(path):
    """Split an Odoo log into records: dicts level, logger, msg, text."""
    records = []
    current = None
    for line in Path(path).read_text(errors="replace").splitlines():
        m = LOG_RE.match(line)
        if m:
            current = dict(m.groupdict(), text=line)
            records.append(current)
        elif current is not None:
            current["text"] += "\n" + line
        elif line.strip() and not line.startswith("$ "):
            # Output before logging is set up (a crash at import time...).
            current = {"level": "OUTPUT", "logger": "", "msg": line, "text": line}
            records.append(current)
    return records


def is_test_echo(rec):
    """ERROR lines that only repeat a test failure already counted by Odoo."""
    msg, logger = rec["msg"], rec["logger"]
    if TEST_LOGGER_RE.match(logger) and msg.startswith(("FAIL:", "ERROR:")):
        return True
    return (
        RESULT_RE.search(msg)
        or (logger == "odoo.modules.loading" and re.match(r"Module \w+: \d+ fail", msg))
        or msg.startswith("At least one test failed when loading the modules")
        or msg.startswith("Test suite halted: max failed tests")
        or "at least one error occurred in a test" in msg
    )


def scan_odoo_log(log_path, modules):
    """What an Odoo test run's log says: tests per module, failures, ERROR lines."""
    scan = {
        "per_module": dict.fromkeys(modules, 0),
        "skipped": 0,
        "browser_skipped": 0,
        "failures": [],
        "unexpected": [],
        "warnings": [],
        "result": None,
    }
    ours = re.compile(r"\b(" + "|".join(map(re.escape, modules)) + r")\b")
    for rec in parse_odoo_log(log_path):
        level, logger, msg = rec["level"], rec["logger"], rec["msg"]
        m = TEST_LOGGER_RE.match(logger)
        if m and level == "INFO" and msg.startswith("Starting "):
            scan["per_module"][m.group(1)] = scan["per_module"].get(m.group(1), 0) + 1
        elif (
            level == "INFO"
            and msg.startswith("skipped ")
            and (m or logger == "odoo.tests.result")
        ):
            # A browser test skipped for want of Chromium or websocket-client is a
            # failure: `make test` must never pass without running the tours.
            if BROWSER_SKIP_RE.search(msg):
                scan["failures"].append(
                    dict(rec, msg="FAIL: browser test skipped: " + msg)
                )
                scan["browser_skipped"] += 1
            else:
                scan["skipped"] += 1
        elif level in ("ERROR", "CRITICAL"):
            # Odoo's test result logs "FAIL: <test>" / "ERROR: <test>" (from the
            # test's module, or unittest.suite for a setUpClass error).
            if msg.startswith(("FAIL:", "ERROR:")):
                scan["failures"].append(rec)
            elif not is_test_echo(rec):
                scan["unexpected"].append(rec)
        elif level == "WARNING" and ours.search(logger + " " + msg):
            scan["warnings"].append(rec)
        result = RESULT_RE.search(msg) if logger == "odoo.tests.result" else None
        if result:
            scan["result"] = tuple(int(x) for x in result.groups())
    return scan


def print_odoo_problems(scan, modules):
    for rec in scan["failures"]:
        say(f"  ✗ {rec['msg'].splitlines()[0]}")
        show(rec["text"].split("\n", 1)[1] if "\n" in rec["text"] else "")
    for rec in scan["unexpected"]:
        say(f"  ✗ {rec['level']} line in the Odoo log:")
        show(rec["text"], limit=40)
    warnings = scan["warnings"]
    if warnings:
        about = ", ".join(modules)
        say(f"  ! {len(warnings)} WARNING line(s) about {about} (not failures):")
        for rec in warnings[:10]:
            show(f"{rec['logger']}: {rec['msg']}", limit=3)
        if len(warnings) > 10:
            say(f"    ... {len(warnings) - 10} more in the log")


def odoo_test_phase(run, name, log_path, rc, seconds, modules):
    """Count an Odoo run's tests from its log; print failures and ERROR lines."""
    scan = scan_odoo_log(log_path, modules)
    per_module = scan["per_module"]
    print_odoo_problems(scan, modules)
    problems = []
    if scan["result"] is None:
        failed, errors, total = 0, 0, sum(per_module.values())
        problems.append("Odoo did not report its test results (it crashed?)")
    else:
        failed, errors, total = scan["result"]
    if scan["unexpected"]:
        problems.append(
            f"{len(scan['unexpected'])} ERROR/CRITICAL line(s) in the Odoo log"
        )
    empty = [mod for mod in modules if not per_module.get(mod)]
    if empty and not TEST_TAGS:
        problems.append("no Odoo test ran for " + ", ".join(empty))
    if rc != 0 and not (failed or errors or problems):
        problems.append(f"odoo-bin exited with status {rc}")
    for p in problems:
        say(f"  ✗ {p}")

    # Odoo counts a skipped tour as a success; here it is a failure.
    bad = failed + errors + scan["browser_skipped"]
    counts = ", ".join(f"{mod} {n}" for mod, n in per_module.items())
    note = f"[{counts}]  log: {os.path.relpath(log_path, ROOT)}"
    ok = max(total - bad - scan["skipped"], 0)
    run.phase(name, ok, bad + len(problems), scan["skipped"], seconds, note)
    return not (bad or problems)


# -- phases --------------------------------------------------------------------


@contextlib.contextmanager
def locked(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"    waiting for another run holding {path} ...")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def template_name(deps):
    key = json.dumps(
        {
            "odoo_src": str(ODOO_SRC),
            "odoo_version": odoo_version_id(),
            "depends": deps,
            "recipe": TEMPLATE_RECIPE,
        },
        sort_keys=True,
    )
    return "sms_mailing_tmpl_" + hashlib.sha256(key.encode()).hexdigest()[:12]


def build_template(run, name, deps, log_dir):
    """Create the template database ``name`` unless it exists. Caller holds the lock."""
    if db_exists(name):
        say(f"==> Template database {name}: reused ({', '.join(deps)})")
        return True
    wip = name + "_wip"
    say(f"==> Template database {name}: building once with {', '.join(deps)}")
    drop_db(wip)
    log_path = log_dir / "template.log"
    rc, seconds = run_logged(
        odoo_cmd(wip, "-i", ",".join(deps), "--stop-after-init", "--no-http"), log_path
    )
    if rc == 0:
        # Post-install tests with an HttpCase first generate every asset bundle
        # (a minute or more): do it here once, the runs then only redo the
        # bundles that contain our addons' files.
        rc2, seconds2 = run_logged(
            odoo_cmd(wip, "--no-http", command="shell"),
            log_path,
            stdin_text=PREGENERATE_ASSETS,
            append=True,
        )
        rc, seconds = rc2, seconds + seconds2
    records = parse_odoo_log(log_path)
    errors = [r for r in records if r["level"] in ("ERROR", "CRITICAL")]
    installed = set()
    if db_exists(wip):
        installed = set(
            psql(
                "SELECT name FROM ir_module_module WHERE state = 'installed'", db=wip
            ).split()
        )
    missing = [d for d in deps if d not in installed]
    if rc or errors or missing:
        for rec in errors:
            show(rec["text"], limit=40)
        say(
            f"  ✗ Building the template failed (exit {rc}, missing: {missing or '-'});"
            f" full log: {os.path.relpath(log_path, ROOT)}"
        )
        run.phase("template database", 0, 1, seconds=seconds)
        drop_db(wip)
        return False
    # Filestore first, then the rename that makes the template visible to others.
    store = DATA_DIR / "filestore"
    shutil.rmtree(store / name, ignore_errors=True)
    if (store / wip).exists():
        (store / wip).rename(store / name)
    psql(f'ALTER DATABASE "{wip}" RENAME TO "{name}"')
    psql(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
    say(f"    built in {seconds:.0f}s")
    return True


def create_test_db(template, db):
    for attempt in range(10):
        res = subprocess.run(
            ["createdb", "-T", template, db], capture_output=True, text=True
        )
        if res.returncode == 0:
            break
        if "being accessed by other users" not in res.stderr or attempt == 9:
            raise RuntimeError(f"createdb -T {template} {db} failed: {res.stderr}")
        time.sleep(2)
    src = DATA_DIR / "filestore" / template
    if src.exists():
        shutil.copytree(src, DATA_DIR / "filestore" / db)


def ensure_browser():
    """Make sure Odoo's browser tests (tours) can run, or say what is missing.

    Chromium comes from the system's packages (installed here when running as
    root), websocket-client from setup/requirements-dev.txt (installed by
    setup/install.sh). Returns an error sentence, or None when all is there.
    """
    missing = []
    res = subprocess.run([PY, "-c", "import websocket"], capture_output=True, text=True)
    if res.returncode:
        missing.append(
            f"the Python package websocket-client is missing from {VENV_BIN.parent}: "
            "run 'make install' (setup/requirements-dev.txt lists it)"
        )
    if not any(shutil.which(name) for name in CHROME_NAMES):
        if os.geteuid() == 0 and shutil.which("apt-get"):
            say("==> Installing Chromium (apt-get install -y chromium) for the tours")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            for cmd in (
                ["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "chromium"],
            ):
                done = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if done.returncode:
                    show(done.stdout + done.stderr, limit=20)
                    break
        if not any(shutil.which(name) for name in CHROME_NAMES):
            missing.append(
                "Chromium (or Google Chrome) is not installed: the browser tests "
                "(tours) need it. Install it with 'sudo apt-get install chromium' "
                "(Debian/Ubuntu) or your system's package manager, then run "
                "'make test' again"
            )
    if missing:
        return "Browser tests cannot run: " + "; ".join(missing) + "."
    return None


def ensure_jasmin(log_dir):
    """Install Jasmin for sms_provider_smpp's end-to-end test (setup/jasmin/install.sh:
    its own virtualenv .venv-jasmin, RabbitMQ and redis-server, installed with
    apt-get as root when missing). Returns an error sentence, or None when ready.
    The test itself fails with a sentence too when Jasmin is missing: never a skip.
    """
    if "sms_provider_smpp" not in ADDONS:
        return None
    script = ROOT / "setup" / "jasmin" / "install.sh"
    res = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    (log_dir / "jasmin-install.log").write_text(res.stdout + res.stderr)
    for line in res.stdout.splitlines():
        if line.startswith("==>"):
            say(line)
    if res.returncode:
        reason = (res.stderr.strip().splitlines() or ["(no output)"])[-1]
        return f"Jasmin (SMPP end-to-end test) could not be installed: {reason}"
    return None


def odoo_tests(run, db, log_dir):
    # TEST_TAGS (a developer's shortcut, e.g. "/sms_mailing:TestMailing") runs only
    # those tests; Odoo's SMS suites are then left out. CI never sets it.
    tags = TEST_TAGS or ",".join("/" + a for a in ADDONS)
    # Tests of ours that need Odoo's mass_mailing_sms run in the next phase.
    tags += f",-{WITH_MASS_MAILING_SMS}"
    say(f"==> Odoo tests of {', '.join(ADDONS)} (install with --test-tags {tags})")
    log_path = log_dir / "odoo-addons.log"
    rc, seconds = run_logged(
        odoo_cmd(
            db,
            "-i",
            ",".join(ADDONS),
            "--test-enable",
            "--test-tags",
            tags,
            "--stop-after-init",
            f"--http-port={free_port()}",
        ),
        log_path,
    )
    return odoo_test_phase(
        run, "Odoo tests (our addons)", log_path, rc, seconds, ADDONS
    )


# Odoo's own SMS test suites, run with our addons installed (and no provider
# active, so Odoo's IAP path must behave exactly as without them).
ODOO_SMS_SUITES = ["sms", "test_mail_sms", "mass_mailing_sms"]
# Our tests tagged so need mass_mailing_sms (Odoo's SMS Marketing through our
# providers): left out of our phase, run in this one where it is installed.
WITH_MASS_MAILING_SMS = "sms_mailing_with_mass_mailing_sms"


def odoo_sms_tests(run, db, log_dir):
    say(
        "==> Odoo's own SMS test suites ("
        + ", ".join(ODOO_SMS_SUITES)
        + f") and our tests tagged {WITH_MASS_MAILING_SMS}"
    )
    log_path = log_dir / "odoo-sms.log"
    rc, seconds = run_logged(
        odoo_cmd(
            db,
            "-i",
            ",".join(ODOO_SMS_SUITES[1:]),
            "-u",
            ODOO_SMS_SUITES[0],
            "--test-enable",
            "--test-tags",
            ",".join("/" + name for name in ODOO_SMS_SUITES)
            + f",{WITH_MASS_MAILING_SMS}",
            "--stop-after-init",
            f"--http-port={free_port()}",
        ),
        log_path,
    )
    return odoo_test_phase(
        run,
        "Odoo tests (Odoo's SMS suites)",
        log_path,
        rc,
        seconds,
        [*ODOO_SMS_SUITES, "sms_mailing"],
    )


def pytest_phase(run, log_dir):
    tests = ROOT / "tests"
    if not tests.is_dir():
        say("==> pytest: no tests/ directory")
        run.phase("pytest tests/", 0, 0, note="no tests/ directory")
        return True
    say("==> pytest tests/")
    log_path = log_dir / "pytest.log"
    junit = log_dir / "pytest.xml"
    rc, seconds = run_logged(
        [PY, "-m", "pytest", "tests", "-q", "-rfE", f"--junitxml={junit}"], log_path
    )
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if junit.exists():
        try:
            root = ET.parse(junit).getroot()
            suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
            for suite in suites:
                for k in counts:
                    counts[k] += int(suite.get(k, 0))
        except ET.ParseError:
            pass
    bad = counts["failures"] + counts["errors"]
    ok = counts["tests"] - bad - counts["skipped"]
    note = f"log: {os.path.relpath(log_path, ROOT)}"
    if rc == 5:  # pytest: no test collected
        run.phase("pytest tests/", 0, 0, seconds=seconds, note="no test collected")
        return True
    extra = 0
    if rc not in (0, 1) or (rc == 1 and not bad):
        extra = 1  # usage error, internal error, collection error not in the XML
    if rc:
        text = Path(log_path).read_text(errors="replace")
        marker = "short test summary info"
        if bad and marker in text:
            # One line per failing test; the tracebacks are in the log.
            show(text[text.index(marker) :].split("\n", 1)[1], limit=60)
        else:
            show("\n".join(text.splitlines()[-60:]), limit=60)
    run.phase(
        "pytest tests/", max(ok, 0), bad + extra, counts["skipped"], seconds, note
    )
    return rc == 0


def lint_phase(run, log_dir):
    say("==> Linters (ruff, ruff format, pylint-odoo, oca-checks-odoo-module, XML)")
    py_files = (
        sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("**/*.py"))
        if (ROOT / "tests").is_dir()
        else []
    )
    checks = [
        ("ruff check", [VENV_BIN / "ruff", "check", "--no-fix", "--quiet", "."]),
        (
            "ruff format --check",
            [VENV_BIN / "ruff", "format", "--check", "--quiet", "."],
        ),
        (
            "pylint-odoo (mandatory)",
            [
                PY,
                "-m",
                "pylint",
                "--rcfile=.pylintrc-mandatory",
                "--output-format=text",
                *ADDONS,
                *py_files,
            ],
        ),
        ("oca-checks-odoo-module", [VENV_BIN / "oca-checks-odoo-module", *ADDONS]),
        ("XML checks (Odoo 18 views)", [PY, ROOT / "setup" / "check_xml.py", *ADDONS]),
    ]
    po_files = sorted(str(p) for a in ADDONS for p in (ROOT / a).glob("i18n/*.po*"))
    if po_files:
        checks.append(
            (
                "oca-checks-po",
                [VENV_BIN / "oca-checks-po", "--disable=po-pretty-format", *po_files],
            )
        )
    all_ok = True
    for name, cmd in checks:
        log_path = log_dir / ("lint-" + re.sub(r"\W+", "-", name).strip("-") + ".log")
        rc, seconds = run_logged(cmd, log_path)
        output = Path(log_path).read_text(errors="replace").split("\n", 1)[1:]
        output = output[0] if output else ""
        if rc:
            all_ok = False
            hint = "  (fix with: make format)" if name.startswith("ruff") else ""
            say(f"  ✗ {name}:{hint}")
            show(output, limit=40)
        elif output.strip() and name.startswith("XML checks"):
            show(output, limit=20)  # warnings
        run.phase(name, 0 if rc else 1, 1 if rc else 0, seconds=seconds)
    return all_ok


def i18n_export_phase(run, db, log_dir):
    """Odoo's own export of our terms (on the database the tests installed the
    addons into) against the committed .pot files: catches every term of the
    code, labels Odoo derives from field names included."""
    say("==> Translations: Odoo's export of the terms against the .pot files")
    try:
        exported, seconds = i18n.export_pots(sys.modules[__name__], db, log_dir)
    except RuntimeError as exc:
        say(f"  ✗ {exc}")
        run.phase("i18n: .pot = Odoo's export", 0, 1)
        return False
    ok, bad = i18n.report(".pot files", i18n.check_exported_terms(exported))
    run.phase("i18n: .pot = Odoo's export", ok, bad, seconds=seconds)
    return not bad


def i18n_phase(run):
    """Without database: complete .po files, .pot files as new as the code."""
    say("==> Translations (fr, ru, pt_BR): .po files and terms of the code")
    t0 = time.time()
    try:
        ok, bad = i18n.report("translations", i18n.check_po_files(ADDONS))
        run.phase("i18n: .po complete, msgfmt -c", ok, bad, seconds=time.time() - t0)
        t0 = time.time()
        ok, bad = i18n.report("terms of the code", i18n.check_static_terms(ADDONS))
        run.phase("i18n: .pot has the code's terms", ok, bad, seconds=time.time() - t0)
    except Exception as exc:  # a crash of the check is a failure, not a pass
        say(f"  ✗ the translation check crashed: {exc!r}")
        run.phase("i18n checks", 0, 1)
        return False
    return not bad


def prune_logs(log_root):
    runs = sorted(
        (p for p in log_root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime
    )
    for old in runs[:-KEEP_LOG_RUNS]:
        shutil.rmtree(old, ignore_errors=True)


def drop_test_dbs():
    """Drop the template databases and test databases left by interrupted runs."""
    names = psql(
        "SELECT datname FROM pg_database WHERE datname LIKE 'sms\\_mailing\\_tmpl\\_%'"
        " OR (datname LIKE 'sms\\_test\\_%' AND datname NOT IN"
        " (SELECT datname FROM pg_stat_activity WHERE datname IS NOT NULL))"
    ).split()
    for name in names:
        say(f"dropping {name}")
        lock_name = name.removesuffix("_wip")
        with locked(DATA_DIR / "locks" / f"{lock_name}.lock"):
            drop_db(name)
    if not names:
        say("nothing to drop")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        choices=["odoo", "pytest", "lint", "i18n"],
        action="append",
        help="run only these phases (repeatable); default: all",
    )
    parser.add_argument(
        "--drop-test-dbs",
        action="store_true",
        help="drop the template databases and leftover test databases",
    )
    args = parser.parse_args()
    if args.drop_test_dbs:
        return drop_test_dbs()
    phases = set(args.only or ["odoo", "pytest", "lint", "i18n"])

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)

    t0 = time.time()
    run = Run()
    stamp = time.strftime("%Y%m%d_%H%M%S")
    db = f"sms_test_{stamp}_{uuid.uuid4().hex[:6]}"
    log_root = VAR_DIR / "log"
    log_dir = log_root / db
    log_dir.mkdir(parents=True, exist_ok=True)
    prune_logs(log_root)
    say(f"==> Odoo {odoo_version_id()} ({ODOO_SRC}); logs: {log_dir.relative_to(ROOT)}")

    created = False
    try:
        if "odoo" in phases:
            deps = external_depends()
            template = template_name(deps)
            lock = DATA_DIR / "locks" / f"{template}.lock"
            with locked(lock):
                ok = build_template(run, template, deps, log_dir)
                if ok:
                    create_test_db(template, db)
                    created = True
            browser_error = ensure_browser() if ok else None
            if browser_error:
                say(f"  ✗ {browser_error}")
                run.phase("browser tests (tours)", 0, 1)
                ok = False
            jasmin_error = ensure_jasmin(log_dir) if ok else None
            if jasmin_error:
                say(f"  ✗ {jasmin_error}")
                run.phase("Jasmin (SMPP end-to-end)", 0, 1)
            if ok:
                say(f"==> Test database {db} (copy of {template})")
                odoo_tests(run, db, log_dir)
                if not TEST_TAGS:
                    i18n_export_phase(run, db, log_dir)
                if TEST_TAGS:
                    say("==> TEST_TAGS is set: partial run, Odoo's SMS suites left out")
                else:
                    odoo_sms_tests(run, db, log_dir)
        if "pytest" in phases:
            pytest_phase(run, log_dir)
        if "lint" in phases:
            lint_phase(run, log_dir)
        if "i18n" in phases:
            i18n_phase(run)
    except KeyboardInterrupt:
        say("\nInterrupted.")
        run.phase("interrupted", 0, 1)
    except (RuntimeError, OSError) as exc:
        say(f"  ✗ {exc}")
        run.phase("test harness", 0, 1)
    finally:
        if created:
            if KEEP_DB:
                say(f"==> Kept test database {db} (KEEP_DB); drop it with: dropdb {db}")
            else:
                with contextlib.suppress(Exception):
                    drop_db(db)

    say("")
    say(f"Summary ({time.time() - t0:.0f}s, logs in {log_dir.relative_to(ROOT)}):")
    for line in run.phases:
        say(line)
    say(f"{run.passed} passed, {run.failed} failed")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
