#!/usr/bin/env python3
"""SMPP benchmark: a real Odoo server sends a campaign to the local SMSC.

Starts the local SMSC (``sms_provider_smpp/tests/local_smsc.py``) answering
each submit_sm after ``--latency`` seconds and sending a DELIVRD receipt
``--receipt-delay`` seconds later; starts Odoo with ``--workers`` and
``--max-cron-threads``; creates an SMPP provider (window ``--window``,
``--lanes`` parallel lanes = binds) and launches a mailing through JSON-RPC as
a user would, then watches the database until every message is final and every
receipt is applied. Prints messages per second end to end (launch to last
final state) against the window/latency limit (lanes x window / latency: 400
msg/s at 2 x 10 / 0.05 s), the numbers the SMSC received twice, and the
receipts matched to their message.

Runs (``--runs``, comma-separated):

- ``local``: ``--recipients`` numbers through one Odoo server;
- ``kill``: ``--kill-recipients`` numbers sent by two Odoo servers on one
  database; the first is killed (SIGKILL) once ``--kill-at`` of the messages
  are final. Messages it was handing over fail *Maybe sent*; none is sent
  twice, none is lost.

Each run uses a fresh database copied from a template (sms_mailing and
sms_provider_smpp without demo data, rebuilt when the addons change).
A benchmark, not a test.

    .venv/bin/python bench/bench_smpp.py --runs local,kill
"""

import argparse
import collections
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (  # noqa: E402  (bench/ is the script's directory)
    ROOT,
    Rpc,
    Server,
    create_db,
    drop_db,
    ensure_template,
    in_doubt_numbers,
    insert_contacts,
    say,
)

MODULES = "sms_mailing,sms_provider_smpp"
BODY = "Hello {{ object.name }}, our spring sale starts Monday: 20% off."
FINAL = ("pending", "sent", "error", "canceled")
SYSTEM_ID = "bench"
PASSWORD = "bench"  # noqa: S105  (the local SMSC's account)


def load_local_smsc():
    """The local SMSC module, with ``odoo.addons`` able to find our addons
    (it counts parts with sms_mailing's segments)."""
    import odoo.addons  # noqa: PLC0415

    if str(ROOT) not in odoo.addons.__path__:
        odoo.addons.__path__.append(str(ROOT))
    path = ROOT / "sms_provider_smpp" / "tests" / "local_smsc.py"
    spec = importlib.util.spec_from_file_location("bench_local_smsc", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def counts(conn, mailing_id):
    with conn.cursor() as cr:
        cr.execute(
            "SELECT state, failure_type, count(*) FROM sms_sms"
            " WHERE sms_mailing_id = %s GROUP BY 1, 2",
            [mailing_id],
        )
        rows = cr.fetchall()
    conn.rollback()
    return rows


def waiting_receipts(conn):
    with conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM sms_smpp_receipt")
        count = cr.fetchone()[0]
    conn.rollback()
    return count


def received_counts(smsc):
    """Messages the SMSC accepted per number (a multipart message once)."""
    counter = collections.Counter()
    for submit in smsc.accepted():
        if submit.concat is None or submit.concat[2] == 1:
            counter[submit.destination_addr] += 1
    return counter


def unnice(server):
    """Odoo's cron workers run at nice 10: on a machine other jobs load, they
    would mostly wait for the CPU. Put them back at 0 (needs root)."""
    if server.proc.poll() is not None:
        return
    children = subprocess.run(
        ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True
    ).stdout.split()
    for pid in children:
        with contextlib.suppress(OSError):
            if os.getpriority(os.PRIO_PROCESS, int(pid)) > 0:
                os.setpriority(os.PRIO_PROCESS, int(pid), 0)


def watch(args, conn, mailing, total, servers, kill_at, started):
    killed = False
    while True:
        if args.unnice:
            for server in servers:
                unnice(server)
        rows = counts(conn, mailing)
        final = sum(n for state, _f, n in rows if state in FINAL)
        if kill_at is not None and not killed and final >= kill_at * total:
            say(f"SIGKILL of server A at {final} final messages")
            servers[0].kill()
            killed = True
        if final >= total:
            return time.monotonic() - started
        if time.monotonic() - started > args.timeout:
            say(f"timeout, {final}/{total} final")
            return time.monotonic() - started
        time.sleep(0.05)


def wait_receipts(args, conn, mailing, smsc):
    """Until every accepted message has its receipt applied (or timeout)."""
    deadline = time.monotonic() + args.receipt_timeout
    while True:
        rows = counts(conn, mailing)
        pending = sum(n for state, _f, n in rows if state == "pending")
        if not pending or time.monotonic() > deadline:
            return pending
        time.sleep(0.5)


def run_campaign(args, smsc_module, name, count, kill_at=None):
    db = f"{args.db}_{name}"
    create_db(db, f"{args.db}_tpl")
    numbers = [f"+3361{index:07d}" for index in range(count)]
    insert_contacts(db, name, numbers)
    smsc = smsc_module.LocalSmsc(system_id=SYSTEM_ID, password=PASSWORD)
    smsc.submit_latency = args.latency
    smsc.receipt_delay = args.receipt_delay if args.receipt_delay >= 0 else None
    smsc.start()
    log_dir = ROOT / "var" / "log" / "bench_smpp"
    log_dir.mkdir(parents=True, exist_ok=True)
    servers = [
        Server(
            db,
            args.port,
            log_dir / f"{name}-a.log",
            workers=args.workers,
            cron_threads=args.max_cron_threads,
        )
    ]
    if kill_at is not None:
        servers.append(
            Server(
                db,
                args.port + 11,
                log_dir / f"{name}-b.log",
                workers=args.workers,
                cron_threads=args.max_cron_threads,
            )
        )
    conn = psycopg2.connect(dbname=db)
    try:
        for server in servers:
            server.wait_ready()
        rpc = Rpc(servers[-1].port, db)
        rpc(
            "sms.provider",
            "create",
            {
                "name": "SMPP (local SMSC)",
                "provider_type": "smpp",
                "smpp_host": smsc.host,
                "smpp_port": smsc.port,
                "smpp_system_id": SYSTEM_ID,
                "smpp_password": PASSWORD,
                "sender": "BenchShop",
                "inflight_requests": args.window,
                "dispatch_lanes": args.lanes,
            },
        )
        time.sleep(args.warmup)  # cron workers load the registry first
        if args.unnice:
            for server in servers:
                unnice(server)
        mailing = rpc.campaign_to(name, BODY)
        started = time.monotonic()
        rpc("sms.mailing", "action_launch", [mailing])
        elapsed = watch(args, conn, mailing, count, servers, kill_at, started)
        pending = (
            wait_receipts(args, conn, mailing, smsc)
            if smsc.receipt_delay is not None
            else None
        )
        rows = counts(conn, mailing)
        received = received_counts(smsc)
        states = collections.Counter()
        for state, failure_type, n in rows:
            states[f"{state}/{failure_type}" if failure_type else state] += n
        accepted = sum(received.values())
        in_doubt = in_doubt_numbers(conn, mailing)
        # Every submit_sm the SMSC read, accepted or not: a message in doubt
        # was handed over, so the SMSC should have it.
        reached = {submit.destination_addr for submit in smsc.submits}
        delivered = states.get("sent", 0)
        lost = sum(n for state, _f, n in rows if state not in FINAL)
        return {
            "run": name,
            "recipients": count,
            "seconds": elapsed,
            "msg_s": count / elapsed,
            "limit_msg_s": args.lanes * args.window / args.latency,
            "received": accepted,
            "twice": sum(1 for n in received.values() if n > 1),
            "receipts_matched": delivered,
            "receipts_sent": len(smsc.delivered),
            "still_pending": pending,
            "receipts_waiting": waiting_receipts(conn),
            "lost": lost,
            "in_doubt": len(in_doubt),
            "in_doubt_received": sum(
                1 for number in in_doubt if number.lstrip("+") in reached
            ),
            "binds": len(smsc.binds),
            "states": dict(states),
        }
    finally:
        conn.close()
        for server in servers:
            server.stop()
        smsc.stop()
        if not args.keep:
            drop_db(db)


def report(result):
    share = result["msg_s"] / result["limit_msg_s"] * 100
    say(
        f"{result['run']}: {result['recipients']} recipients final in "
        f"{result['seconds']:.1f} s = {result['msg_s']:.0f} msg/s end to end, "
        f"{share:.0f}% of the {result['limit_msg_s']:.0f} msg/s window limit; "
        f"SMSC accepted {result['received']}, twice {result['twice']}; receipts "
        f"matched {result['receipts_matched']} (still pending "
        f"{result['still_pending']}, waiting {result['receipts_waiting']}); lost "
        f"{result['lost']}; in doubt {result['in_doubt']}, of which the SMSC "
        f"received {result['in_doubt_received']}; binds {result['binds']}; "
        f"states {result['states']}"
    )
    print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="local,kill")
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument(
        "--receipt-delay", type=float, default=0.5, help="negative: no receipts"
    )
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-cron-threads", type=int, default=3)
    parser.add_argument("--kill-recipients", type=int, default=10000)
    parser.add_argument("--kill-at", type=float, default=0.3)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--db", default="sms_smpp_bench")
    parser.add_argument("--port", type=int, default=8076)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--receipt-timeout", type=float, default=180)
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--unnice",
        action="store_true",
        help="run Odoo's cron workers at nice 0 instead of 10 (a loaded machine)",
    )
    args = parser.parse_args()
    smsc_module = load_local_smsc()
    ensure_template(f"{args.db}_tpl", MODULES)
    runs = args.runs.split(",")
    if "local" in runs:
        report(run_campaign(args, smsc_module, "local", args.recipients))
    if "kill" in runs:
        report(
            run_campaign(
                args, smsc_module, "kill", args.kill_recipients, kill_at=args.kill_at
            )
        )


if __name__ == "__main__":
    main()
