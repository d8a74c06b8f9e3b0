#!/usr/bin/env python3
"""SMPP through Jasmin: a real Odoo server sends a campaign to Jasmin, a real SMS
gateway, which relays it to the local SMSC.

Odoo (``--workers``, ``--max-cron-threads``) -> SMPP (the provider: window
``--window``, ``--lanes`` binds) -> jasmind (one process, RabbitMQ, Redis:
``sms_provider_smpp/tests/jasmin_gateway.py``) -> SMPP (one ``smppccm``
connector) -> the local SMSC (submit_sm_resp after ``--latency`` s, a DELIVRD
receipt ``--receipt-delay`` s later) -> receipts back through Jasmin's DLR
lookup and thrower to Odoo's binds (the lanes' transceivers, then the
scheduled read of received messages, every minute).

Prints, for ``--recipients`` numbers launched as one mailing through JSON-RPC:

- accepted by Jasmin: launch until every message has Jasmin's submit_sm_resp
  (*Sent* in Odoo, state `pending`), in msg/s;
- end to end: launch until the SMSC behind Jasmin has accepted every message,
  in msg/s;
- numbers the SMSC received twice (must be 0), messages lost (0), and receipts
  matched to their message in Odoo (all *Delivered*, state `sent`).

Needs Jasmin (``setup/jasmin/install.sh``). A benchmark, not a test.

    .venv/bin/python bench/bench_smpp_jasmin.py --recipients 5000
"""

import argparse
import collections
import importlib.util
import json
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
    insert_contacts,
    say,
)
from bench_smpp import (  # noqa: E402
    BODY,
    FINAL,
    MODULES,
    counts,
    load_local_smsc,
    received_counts,
    waiting_receipts,
)

SMSC_SYSTEM_ID = "jasmin"
SMSC_PASSWORD = "upstr3am"  # noqa: S105  (the local SMSC's account for Jasmin)


def load_gateway():
    path = ROOT / "sms_provider_smpp" / "tests" / "jasmin_gateway.py"
    spec = importlib.util.spec_from_file_location("bench_jasmin_gateway", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args, smsc_module, gateway_module):
    name = f"jasmin{args.connectors}"
    db = f"{args.db}_{name}"
    create_db(db, f"{args.db}_tpl")
    count = args.recipients
    numbers = [f"+3361{index:07d}" for index in range(count)]
    insert_contacts(db, name, numbers)
    smsc = smsc_module.LocalSmsc(system_id=SMSC_SYSTEM_ID, password=SMSC_PASSWORD)
    smsc.submit_latency = args.latency
    smsc.receipt_delay = args.receipt_delay
    smsc.start()
    # Receipts wait in Jasmin for Odoo's next bind: longer than the scheduled
    # read's minute.
    jasmin = gateway_module.JasminGateway(
        smsc.host,
        smsc.port,
        SMSC_SYSTEM_ID,
        SMSC_PASSWORD,
        thrower_retry_delay=1,
        thrower_max_retries=600,
        connectors=args.connectors,
        log_level="INFO",
    )
    log_dir = ROOT / "var" / "log" / "bench_smpp"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = None
    conn = None
    try:
        jasmin.start()
        say(f"jasmind ready on {jasmin.host}:{jasmin.port} ({jasmin.run_dir})")
        server = Server(
            db,
            args.port,
            log_dir / f"{name}.log",
            workers=args.workers,
            cron_threads=args.max_cron_threads,
        )
        conn = psycopg2.connect(dbname=db)
        server.wait_ready()
        rpc = Rpc(server.port, db)
        rpc(
            "sms.provider",
            "create",
            {
                "name": "SMPP (Jasmin)",
                "provider_type": "smpp",
                "smpp_host": jasmin.host,
                "smpp_port": jasmin.port,
                "smpp_system_id": jasmin.system_id,
                "smpp_password": jasmin.password,
                "sender": "BenchShop",
                "inflight_requests": args.window,
                "dispatch_lanes": args.lanes,
            },
        )
        time.sleep(args.warmup)  # cron workers load the registry first
        mailing = rpc.campaign_to(name, BODY)
        cpu_before = jasmin.cpu_seconds()
        started = time.monotonic()
        rpc("sms.mailing", "action_launch", [mailing])
        accepted_at = smsc_at = None
        while time.monotonic() - started < args.timeout:
            now = time.monotonic() - started
            if smsc_at is None and len(smsc.accepted()) >= count:
                smsc_at = now
            if accepted_at is None:
                rows = counts(conn, mailing)
                if sum(n for state, _f, n in rows if state in FINAL) >= count:
                    accepted_at = now
            if accepted_at is not None and smsc_at is not None:
                break
            time.sleep(0.05)
        # Receipts: until no message is pending any more (or the timeout).
        deadline = time.monotonic() + args.receipt_timeout
        while time.monotonic() < deadline:
            rows = counts(conn, mailing)
            if not sum(n for state, _f, n in rows if state == "pending"):
                break
            time.sleep(0.5)
        receipts_at = time.monotonic() - started
        jasmin_cpu = jasmin.cpu_seconds() - cpu_before
        rows = counts(conn, mailing)
        received = received_counts(smsc)
        states = collections.Counter()
        for state, failure_type, n in rows:
            states[f"{state}/{failure_type}" if failure_type else state] += n
        return {
            "run": name,
            "recipients": count,
            "connectors": args.connectors,
            "accepted_by_jasmin_s": accepted_at,
            "accepted_msg_s": count / accepted_at if accepted_at else None,
            "at_smsc_s": smsc_at,
            "end_to_end_msg_s": count / smsc_at if smsc_at else None,
            "odoo_limit_msg_s": args.lanes * args.window / args.latency,
            "received": sum(received.values()),
            "twice": sum(1 for n in received.values() if n > 1),
            "receipts_sent_by_smsc": len(smsc.delivered),
            "receipts_matched": states.get("sent", 0),
            "receipts_done_s": receipts_at,
            "still_pending": states.get("pending", 0),
            "receipts_waiting": waiting_receipts(conn),
            "jasmind_cpu_s": jasmin_cpu,
            "jasmind_cpu_ms_per_msg": jasmin_cpu * 1000 / count,
            "lost": sum(n for state, _f, n in rows if state not in FINAL),
            "states": dict(states),
        }
    finally:
        if conn is not None:
            conn.close()
        if server is not None:
            server.stop()
        jasmin.stop()
        smsc.stop()
        if not args.keep:
            drop_db(db)


def report(result):
    def rate(value):
        return f"{value:.0f} msg/s" if value else "n/a"

    say(
        f"{result['recipients']} recipients through Jasmin "
        f"({result['connectors']} connector(s)): accepted by Jasmin in "
        f"{result['accepted_by_jasmin_s'] or 0:.1f} s "
        f"({rate(result['accepted_msg_s'])}), "
        f"all at the SMSC in {result['at_smsc_s'] or 0:.1f} s "
        f"({rate(result['end_to_end_msg_s'])} end to end); SMSC accepted "
        f"{result['received']}, twice {result['twice']}; receipts sent "
        f"{result['receipts_sent_by_smsc']}, matched {result['receipts_matched']} "
        f"(all by {result['receipts_done_s']:.0f} s; still pending "
        f"{result['still_pending']}, waiting {result['receipts_waiting']}); lost "
        f"{result['lost']}; jasmind CPU {result['jasmind_cpu_s']:.1f} s = "
        f"{result['jasmind_cpu_ms_per_msg']:.1f} ms a message; "
        f"states {result['states']}"
    )
    print(json.dumps(result), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--receipt-delay", type=float, default=0.5)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument(
        "--connectors",
        type=int,
        default=1,
        help="Jasmin's binds to the SMSC (one submit_sm in flight each)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-cron-threads", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--db", default="sms_smpp_jasmin_bench")
    parser.add_argument("--port", type=int, default=8077)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--receipt-timeout", type=float, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    smsc_module = load_local_smsc()
    gateway_module = load_gateway()
    ensure_template(f"{args.db}_tpl", MODULES)
    report(run(args, smsc_module, gateway_module))


if __name__ == "__main__":
    main()
