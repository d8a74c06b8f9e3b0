"""Jasmin, a real open-source SMS gateway, started for one test or benchmark run.

Jasmin (``jasmin`` on PyPI) runs from its own virtualenv, ``.venv-jasmin`` at the
repository root (``setup/jasmin/install.sh`` creates it; its pins differ from
Odoo's). One :class:`JasminGateway` is one ``jasmind`` process with:

- its own configuration in ``var/jasmin/<run>/`` (``jasmin.cfg``, logs, store),
  every listening port (SMPP server, jCli, HTTP API, the PB services) a free one,
  so parallel runs never collide;
- its own RabbitMQ virtual host on 127.0.0.1:5672 (guest/guest), created for the
  run and deleted afterwards: Jasmin's queue names (``submit.sm.<cid>``,
  ``DLRLookup-main``, ``dlr.*`` bindings) would otherwise be shared by every run;
- its own ``redis-server`` on a free port, without persistence: Jasmin keys the
  receipt map by the SMSC's message id (``queue-msgid:<id>``), which two local
  SMSCs of two runs hand out alike, and Jasmin 0.11.1 only selects its configured
  Redis database when a Redis password is configured (``jasmind.py``,
  ``startRedisClient``), so a database number cannot separate runs.

Once started it is configured through jCli (telnet) for one SMSC: an ``smppccm``
connector to it, a default MT route to it, a group and an ESME user, and a
default MO route to ``smpps(<user>)``, so receipts and MO come back to the
ESME that binds with :attr:`system_id` / :attr:`password` on :attr:`host`,
:attr:`port`.

>>> with LocalSmsc(system_id="jasmin", password="pw") as smsc:  # doctest: +SKIP
...     with JasminGateway(smsc.host, smsc.port, "jasmin", "pw") as jasmin:
...         ...  # bind an ESME to jasmin.host, jasmin.port

Imports nothing outside the standard library, so benchmarks use it too.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JASMIN_VENV = Path(os.environ.get("JASMIN_VENV") or ROOT / ".venv-jasmin")
INSTALL_SCRIPT = ROOT / "setup" / "jasmin" / "install.sh"
AMQP_SPEC = "txamqp/specs/standard/amqp0-9-1.stripped.xml"
VHOST_PREFIX = "odoo-sms-jasmin-"

JCLI_USER = "jcliadmin"
JCLI_PASSWORD = "jclipwd"  # Jasmin's default (jcli.admin_password is its md5)


# jasmind.py takes a lock file at the fixed path /tmp/jasmind ("Lock not acquired !
# exiting": one jasmind per machine); each run's jasmind locks in its run
# directory instead, so parallel runs can start theirs.
LAUNCHER = """
import runpy, sys, lockfile
lock_path, script = sys.argv[1], sys.argv[2]
machine_lock = lockfile.FileLock
lockfile.FileLock = lambda _path, *args, **kw: machine_lock(lock_path, *args, **kw)
sys.argv = [script] + sys.argv[3:]
runpy.run_path(script, run_name="__main__")
"""


class JasminError(RuntimeError):
    """Jasmin could not be installed, started or configured (the message says why)."""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def jasmin_python():
    """The virtualenv's interpreter, or a JasminError saying how to get it."""
    python = JASMIN_VENV / "bin" / "python"
    if not (JASMIN_VENV / ".installed").exists() or not python.exists():
        raise JasminError(
            f"Jasmin is not installed in {JASMIN_VENV}: run {INSTALL_SCRIPT} "
            "(make test runs it) and read what it says."
        )
    return python


def _run(cmd, what, timeout=60):
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JasminError(f"{what} failed: {exc}") from exc
    if done.returncode:
        raise JasminError(
            f"{what} failed ({' '.join(cmd)}): {(done.stderr or done.stdout).strip()}"
        )
    return done.stdout


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Vhost:
    """A RabbitMQ virtual host of this run (rabbitmqctl), or JASMIN_AMQP_VHOST."""

    def __init__(self):
        self.name = os.environ.get("JASMIN_AMQP_VHOST")
        self.owned = False

    def add(self):
        if self.name:
            return self.name
        if not shutil.which("rabbitmqctl"):
            raise JasminError(
                "rabbitmqctl is not installed: Jasmin's runs need their own RabbitMQ "
                "virtual host. Run setup/jasmin/install.sh, or set JASMIN_AMQP_VHOST "
                "to a virtual host the guest user may use."
            )
        self._drop_stale()
        self.name = f"{VHOST_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        _run(["rabbitmqctl", "-q", "add_vhost", self.name], "Creating a RabbitMQ vhost")
        self.owned = True
        _run(
            [
                "rabbitmqctl",
                "-q",
                "set_permissions",
                "-p",
                self.name,
                "guest",
                ".*",
                ".*",
                ".*",
            ],
            "Letting guest use the RabbitMQ vhost",
        )
        return self.name

    def _drop_stale(self):
        """Vhosts of runs whose process is gone (killed runs) are deleted."""
        out = _run(["rabbitmqctl", "-q", "list_vhosts"], "Listing RabbitMQ vhosts")
        for name in out.split():
            match = re.fullmatch(re.escape(VHOST_PREFIX) + r"(\d+)-\w+", name)
            if match and not _pid_alive(int(match.group(1))):
                with contextlib.suppress(JasminError):
                    _run(
                        ["rabbitmqctl", "-q", "delete_vhost", name], "Deleting a vhost"
                    )

    def delete(self):
        if self.owned:
            self.owned = False
            with contextlib.suppress(JasminError):
                _run(
                    ["rabbitmqctl", "-q", "delete_vhost", self.name], "Deleting a vhost"
                )


class _JCli:
    """A jCli session over telnet (a plain socket: jCli sends no option we need)."""

    PROMPT = re.compile(rb"(jcli : |> )$")

    def __init__(self, port, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.transcript = []
        # No prompt: jCli says "Authentication required." and waits for the name.
        self._expect(re.compile(rb"Authentication required\.\n+$"))
        self._send(JCLI_USER)
        self._expect(re.compile(rb"Password: $"))
        self._send(JCLI_PASSWORD)
        out = self._expect(self.PROMPT)
        if b"Incorrect" in out:
            raise JasminError("jCli refused the administrator's login.")

    def _send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def _expect(self, pattern):
        while True:
            text = self._clean(self.buffer)
            if pattern.search(text):
                self.buffer = b""
                self.transcript.append(text.decode(errors="replace"))
                return text
            chunk = self.sock.recv(4096)
            if not chunk:
                raise JasminError(
                    "jCli closed the connection; it said: "
                    + text.decode(errors="replace")
                )
            self.buffer += chunk

    @staticmethod
    def _clean(raw):
        """Without telnet negotiation (IAC ...) and carriage returns."""
        raw = re.sub(rb"\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", b"", raw)
        return raw.replace(b"\r", b"")

    def command(self, line):
        self._send(line)
        out = self._expect(self.PROMPT).decode(errors="replace")
        lowered = out.lower()
        if any(
            word in lowered for word in ("error", "unknown", "invalid", "incorrect")
        ):
            raise JasminError(f"jCli refused {line!r}: {out.strip()}")
        return out

    def add(self, command, **values):
        """``<command> -a``, one ``key value`` line each, ``ok``."""
        self.command(f"{command} -a")
        for key, value in values.items():
            self.command(f"{key} {value}")
        out = self.command("ok")
        if "successfully" not in out.lower():
            raise JasminError(f"jCli did not add the {command}: {out.strip()}")
        return out

    def close(self):
        with contextlib.suppress(OSError):
            self._send("quit")
        self.sock.close()


class JasminGateway:
    """One jasmind between ESMEs and one SMSC (see the module docstring)."""

    def __init__(
        self,
        smsc_host,
        smsc_port,
        smsc_system_id,
        smsc_password,
        *,
        system_id="odoo",
        password="jsm1n",
        dlr_msgid=0,
        submit_throughput=0,
        thrower_retry_delay=1,
        thrower_max_retries=120,
        connectors=1,
        log_level="DEBUG",
        run_dir=None,
        start_timeout=60,
    ):
        self.smsc = (smsc_host, smsc_port, smsc_system_id, smsc_password)
        self.host = "127.0.0.1"
        self.system_id = system_id
        self.password = password
        # 0: the receipt quotes the id as submit_sm_resp gave it; 1: submit_sm_resp
        # hex, receipt decimal; 2: submit_sm_resp decimal, receipt hex (jCli's
        # smppccm "dlr_msgid", Jasmin's SMPPClientConfig.dlr_msg_id_bases).
        self.dlr_msgid = dlr_msgid
        self.submit_throughput = submit_throughput
        # Receipts and MO wait in Jasmin for a bind of the ESME: its throwers try
        # again every retry_delay seconds, max_retries times, then drop them
        # (defaults 30 s x 3). Odoo binds as receiver on its scheduled read.
        self.thrower_retry_delay = thrower_retry_delay
        self.thrower_max_retries = thrower_max_retries
        self.start_timeout = start_timeout
        # Jasmin relays through one connector one submit_sm at a time (it takes
        # the next message from RabbitMQ with prefetch_count=1 only after the
        # SMSC's answer): several binds to the SMSC, used in turn by a
        # RandomRoundrobinMTRoute, send in parallel.
        self.cids = (
            ["smsc"]
            if connectors == 1
            else [f"smsc{n}" for n in range(1, connectors + 1)]
        )
        self.log_level = log_level
        self.run_dir = Path(
            run_dir or ROOT / "var" / "jasmin" / f"{os.getpid()}-{secrets.token_hex(3)}"
        )
        self.ports = {}
        self.port = None
        self.process = None
        self.redis = None
        self.vhost = _Vhost()
        self.transcript = []

    # -- lifecycle ------------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        python = jasmin_python()
        spec = self._amqp_spec(python)
        self._prune_runs()
        for name in ("logs", "store", "etc"):
            (self.run_dir / name).mkdir(parents=True, exist_ok=True)
        self.ports = {
            name: free_port()
            for name in (
                "smpp",
                "jcli",
                "http",
                "router",
                "smppcm",
                "smpps_pb",
                "redis",
            )
        }
        self.port = self.ports["smpp"]
        self._start_redis()
        vhost = self.vhost.add()
        config = self.run_dir / "etc" / "jasmin.cfg"
        config.write_text(self._config(spec, vhost))
        env = dict(
            os.environ,
            ROOT_PATH=str(self.run_dir),
            CONFIG_PATH=str(self.run_dir / "etc"),
            STORE_PATH=str(self.run_dir / "store"),
            LOG_PATH=str(self.run_dir / "logs"),
        )
        env.pop("PYTHONPATH", None)
        self.stdout = open(self.run_dir / "logs" / "jasmind.out", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own venv, fixed arguments
            [
                str(python),
                "-c",
                LAUNCHER,
                str(self.run_dir / "jasmind"),
                str(JASMIN_VENV / "bin" / "jasmind.py"),
                "--config",
                str(config),
                "--enable-dlr-lookup",
                "--enable-dlr-thrower",
                "--enable-deliver-thrower",
            ],
            stdout=self.stdout,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.run_dir,
            start_new_session=True,
        )
        self._wait_ready()
        self._configure()
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if getattr(self, "stdout", None):
            self.stdout.close()
        if self.redis and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
                self.redis.wait(5)
        self.vhost.delete()

    # -- pieces -----------------------------------------------------------------

    def _prune_runs(self, keep=10):
        """Older runs' directories (configuration and logs) go, but the last ones."""
        parent = self.run_dir.parent
        if not parent.is_dir():
            return
        runs = sorted(
            (p for p in parent.iterdir() if p.is_dir() and p != self.run_dir),
            key=lambda p: p.stat().st_mtime,
        )
        for old in runs[:-keep] if len(runs) > keep else []:
            shutil.rmtree(old, ignore_errors=True)

    def _amqp_spec(self, python):
        out = _run(
            [
                str(python),
                "-c",
                "import txamqp, os; print(os.path.dirname(txamqp.__file__))",
            ],
            "Finding txamqp in Jasmin's virtualenv",
        )
        spec = Path(out.strip()).parent / AMQP_SPEC
        if not spec.exists():
            raise JasminError(f"The AMQP 0-9-1 specification {spec} is missing.")
        return spec

    def _start_redis(self):
        redis = shutil.which("redis-server")
        if not redis:
            raise JasminError(
                "redis-server is not installed: Jasmin needs Redis. Run "
                "setup/jasmin/install.sh (as root it installs it with apt-get)."
            )
        self.redis = subprocess.Popen(  # noqa: S603 - the system's redis-server
            [
                redis,
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.run_dir),
                "--logfile",
                str(self.run_dir / "logs" / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._wait(lambda: _listening(self.ports["redis"]), "Redis to listen", 20)

    def _config(self, spec, vhost):
        logs = self.run_dir / "logs"
        throwers = {
            "retry_delay": self.thrower_retry_delay,
            "max_retries": self.thrower_max_retries,
        }
        sections = {
            "smpp-server": {
                "id": "smpps_01",
                "bind": "127.0.0.1",
                "port": self.port,
                "log_level": self.log_level,
                "billing_feature": "False",
            },
            "smpp-server-pb": {"bind": "127.0.0.1", "port": self.ports["smpps_pb"]},
            "client-management": {"bind": "127.0.0.1", "port": self.ports["smppcm"]},
            "service-smppclient": {"log_level": self.log_level},
            "sm-listener": {"log_level": self.log_level},
            # A receipt may come before the submit_sm_resp it answers is mapped:
            # looked up again after 1 s (default 10 s, twice).
            "dlr": {
                "log_level": self.log_level,
                "dlr_lookup_retry_delay": 1,
                "dlr_lookup_max_retries": 20,
            },
            "amqp-broker": {
                "host": "127.0.0.1",
                "port": 5672,
                "vhost": vhost,
                "username": "guest",
                "password": "guest",
                "spec": spec,
            },
            "http-api": {"bind": "127.0.0.1", "port": self.ports["http"]},
            "router": {
                "bind": "127.0.0.1",
                "port": self.ports["router"],
                "persistence_timer_secs": 0,
            },
            "deliversm-thrower": {"log_level": self.log_level, **throwers},
            "dlr-thrower": {"log_level": self.log_level, **throwers},
            "redis-client": {"host": "127.0.0.1", "port": self.ports["redis"]},
            "jcli": {"bind": "127.0.0.1", "port": self.ports["jcli"]},
        }
        lines = [
            "# Generated by sms_provider_smpp/tests/jasmin_gateway.py for one run."
        ]
        for section, values in sections.items():
            lines.append(f"\n[{section}]")
            lines += [f"{key} = {value}" for key, value in values.items()]
            lines.append(f"log_file = {logs / (section + '.log')}")
        return "\n".join(lines) + "\n"

    def _wait(self, ready, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise JasminError(f"Gave up waiting for {what}. {self.log_tail()}")

    def _wait_ready(self):
        self._wait(
            lambda: _listening(self.ports["jcli"]) and _listening(self.port),
            f"jasmind to listen (jCli {self.ports['jcli']}, SMPP {self.port})",
            self.start_timeout,
        )

    def _configure(self):
        host, port, system_id, password = self.smsc
        jcli = _JCli(self.ports["jcli"])
        try:
            for cid in self.cids:
                jcli.add(
                    "smppccm",
                    cid=cid,
                    host=host,
                    port=port,
                    username=system_id,
                    password=password,
                    # Jasmin's default is 1 submit_sm per second; 0: no limit.
                    submit_throughput=self.submit_throughput,
                    dlr_msgid=self.dlr_msgid,
                    con_fail_delay=1,
                    con_loss_delay=1,
                )
                jcli.command(f"smppccm -1 {cid}")
            jcli.add("group", gid="odoo")
            jcli.add(
                "user",
                uid="odoo",
                username=self.system_id,
                password=self.password,
                gid="odoo",
            )
            if len(self.cids) == 1:
                jcli.add(
                    "mtrouter",
                    type="DefaultRoute",
                    connector=f"smppc({self.cids[0]})",
                    rate="0.00",
                )
            else:
                jcli.add("filter", fid="everything", type="TransparentFilter")
                jcli.add(
                    "mtrouter",
                    type="RandomRoundrobinMTRoute",
                    order=10,
                    connectors=";".join(f"smppc({cid})" for cid in self.cids),
                    filters="everything",
                    rate="0.00",
                )
            jcli.add(
                "morouter", type="DefaultRoute", connector=f"smpps({self.system_id})"
            )
        finally:
            self.transcript = jcli.transcript
            jcli.close()
        self._wait(
            self._connectors_bound, f"Jasmin's connectors to bind to {host}:{port}", 30
        )

    def update_connector(self, **values):
        """Change the SMSC connector's settings through jCli (``smppccm -u``),
        e.g. ``update_connector(dlr_msgid=1)``; they apply at once."""
        jcli = _JCli(self.ports["jcli"])
        try:
            for cid in self.cids:
                jcli.command(f"smppccm -u {cid}")
                for key, value in values.items():
                    jcli.command(f"{key} {value}")
                out = jcli.command("ok")
                if "successfully" not in out.lower():
                    raise JasminError(
                        f"jCli did not update the connector {cid}: {out.strip()}"
                    )
        finally:
            self.transcript += jcli.transcript
            jcli.close()

    def _connectors_bound(self):
        jcli = _JCli(self.ports["jcli"])
        try:
            out = jcli.command("smppccm -l")
        finally:
            jcli.close()
        return all(
            re.search(rf"#{cid}\s+started\s+BOUND_TRX", out) for cid in self.cids
        )

    # -- for tests --------------------------------------------------------------

    def cpu_seconds(self):
        """CPU time jasmind has used so far (user + system, from /proc)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log(self, name="jasmind.out"):
        path = self.run_dir / "logs" / name
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, lines=30):
        tail = self.log().splitlines()[-lines:]
        return "jasmind said:\n" + "\n".join(tail) if tail else "jasmind said nothing."
