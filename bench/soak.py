#!/usr/bin/env python3
"""Soak test: a campaign of 50,000 messages through a real Odoo server and the
local SMS.ru server, with random transient errors and a server restart.

- the local SMS.ru (``sms_provider_smsru/tests/fake_smsru.py``) fails
  ``--error-rate`` (5%) of its requests at random with a temporary fault
  (HTTP 500, code 220, code 500, or a maintenance page instead of JSON),
  and reports every message it took as delivered when asked;
- Odoo (``--workers 0``, two cron threads) queues the mailing, dispatches it,
  retries, polls delivery statuses, all by its own crons;
- when half of the messages have reached SMS.ru, the server is restarted
  (SIGTERM, SIGKILL when it does not stop within 60 s) and started again.

Then the accounting must be exact: one message per contact, every message
delivered or failed with a reason, no number received twice by SMS.ru, every
delivered message known to SMS.ru under its id. A message the restart caught
while it was handed to SMS.ru fails "interrupted" (in doubt) and is counted
apart. Exit status 0 when the accounting holds.

    .venv/bin/python bench/soak.py [--messages 50000] [--port 8076]
"""

# A command-line script: its report goes to stdout.
# pylint: disable=print-used

import argparse
import collections
import json
import random
import sys
import time

from _harness import (
    ROOT,
    Rpc,
    Server,
    create_db,
    ensure_template,
    insert_contacts,
    psql,
    say,
)
from fake_smsru import FakeSmsRu

MODULES = "sms_mailing,sms_provider_smsru"
API_ID = "SOAK-0000-1111-2222"
TAG = "soak audience"
BODY = "Hello {{ object.name }}, our spring sale starts Monday: 20% off."
OPEN_STATES = ("outgoing", "process", "pending")


class FlakySmsRu(FakeSmsRu):
    """The local SMS.ru failing a share of its requests at random."""

    MODES = ("http500", 220, 500, "garbage")

    def __init__(self, error_rate, seed, **kwargs):
        super().__init__(**kwargs)
        self.error_rate = error_rate
        self.random = random.Random(seed)
        self.injected = collections.Counter()

    def handle(self, method, path, params, body):
        with self._lock:
            if self.random.random() < self.error_rate:
                mode = self.random.choice(self.MODES)
                self.injected[str(mode)] += 1
                self._failures.insert(0, mode)
        if path == "sms/status":
            # delivered, once asked about
            for sms_id in params.get("sms_id", "").split(","):
                if sms_id in self.messages:
                    self.messages[sms_id].status_code = 103
        return super().handle(method, path, params, body)

    def received(self):
        with self._lock:
            return collections.Counter(m.number for m in self.messages.values())


def states(db, mailing_id):
    rows = psql(
        db,
        "SELECT state, count(*) FROM sms_sms WHERE sms_mailing_id = "
        f"{int(mailing_id)} GROUP BY state",
    )
    return {
        state: int(count)
        for state, count in (line.split("|") for line in (rows or "").splitlines())
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50000)
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--port", type=int, default=8076)
    parser.add_argument("--db", default="sms_soak")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    log_dir = ROOT / "var" / "soak"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"odoo-{time.strftime('%Y%m%d_%H%M%S')}.log"
    template = f"{args.db}_tpl"
    ensure_template(template, MODULES)
    create_db(args.db, template)
    say(f"database {args.db}; Odoo log: {log}", "soak")

    numbers = [
        f"+79{n:09d}"
        for n in random.Random(args.seed).sample(range(10**8, 10**9), args.messages)
    ]
    insert_contacts(args.db, TAG, numbers)

    smsru = FlakySmsRu(
        args.error_rate,
        args.seed,
        api_id=API_ID,
        balance=10**9,
        total_limit=10**9,
        sleep=3.0,
    ).start()
    # a connection the restart cuts is expected: no traceback for it
    smsru._server.handle_error = lambda request, client_address: None
    server = Server(args.db, args.port, log).wait_ready()
    restart = None
    try:
        rpc = Rpc(args.port, args.db)
        for key, value in {
            "sms_mailing.retry_base_seconds": "5",
            "sms_mailing.stuck_after_minutes": "1",
            "sms_mailing.status_poll_limit": str(args.messages * 2),
        }.items():
            rpc("ir.config_parameter", "set_param", key, value)
        provider = rpc(
            "sms.provider",
            "create",
            {
                "name": "SMS.ru (soak)",
                "provider_type": "smsru",
                "smsru_api_id": API_ID,
                "smsru_base_url": smsru.url,
                "smsru_timeout": 2,
                "number_prefixes": "+7",
                "max_attempts": 12,
            },
        )
        group = rpc(
            "sms.mailing.group",
            "create",
            {"name": TAG, "domain": f"[('ref', '=', '{TAG}')]"},
        )
        mailing = rpc(
            "sms.mailing",
            "create",
            {
                "name": "Soak",
                "body": BODY,
                "provider_id": provider,
                "group_ids": [(6, 0, [group])],
            },
        )
        started = time.monotonic()
        rpc("sms.mailing", "action_launch", [mailing])
        say(f"launched a mailing to {args.messages} contacts", "soak")

        last = None
        while time.monotonic() - started < args.timeout:
            time.sleep(2)
            counts = states(args.db, mailing)
            taken = len(smsru.messages)
            line = f"SMS.ru took {taken}; " + ", ".join(
                f"{s} {n}" for s, n in sorted(counts.items())
            )
            if line != last:
                say(line, "soak")
                last = line
            if restart is None and taken >= args.messages // 2:
                say("restarting the Odoo server", "soak")
                how = server.stop()
                restart = {"at_messages": taken, "how": how}
                server = Server(args.db, args.port, log).wait_ready()
                say(f"server {how} and started again", "soak")
            total = sum(counts.values())
            mailing_state = psql(
                args.db, f"SELECT state FROM sms_mailing WHERE id = {int(mailing)}"
            )
            if (
                total == args.messages
                and not any(counts.get(s) for s in OPEN_STATES)
                and mailing_state == "done"
            ):
                break
        elapsed = time.monotonic() - started
    finally:
        server.stop()
        smsru.stop()

    report = account(args, mailing, smsru, elapsed, restart)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    (log_dir / "last.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    if not args.keep:
        psql("postgres", f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
    return 0 if report["ok"] else 1


def account(args, mailing, smsru, elapsed, restart):
    rows = psql(
        args.db,
        "SELECT number, state, coalesce(failure_type, ''),"
        " coalesce(provider_message_id, ''), attempts, coalesce(error_message, '')"
        " FROM sms_sms WHERE sms_mailing_id = "
        f"{int(mailing)}",
    )
    messages = [line.split("|", 5) for line in rows.splitlines()]
    by_number = collections.Counter(m[0] for m in messages)
    received = smsru.received()
    took = {sms_id: m.number for sms_id, m in smsru.messages.items()}
    states_count = collections.Counter(m[1] for m in messages)
    errors = [m for m in messages if m[1] == "error"]
    reasons = collections.Counter(m[5].split(".")[0][:80] for m in errors)
    problems = []
    if len(messages) != args.messages or len(by_number) != args.messages:
        problems.append(f"{len(messages)} messages for {args.messages} contacts")
    if any(n > 1 for n in by_number.values()):
        problems.append("a contact got several messages")
    twice = [n for n, c in received.items() if c > 1]
    if twice:
        problems.append(f"{len(twice)} numbers received twice by SMS.ru")
    open_left = sum(states_count[s] for s in OPEN_STATES)
    if open_left:
        problems.append(f"{open_left} messages not final")
    if any(not (m[2] and m[5]) for m in errors):
        problems.append("a failed message without a reason")
    delivered = [m for m in messages if m[1] == "sent"]
    if any(took.get(m[3]) != m[0].lstrip("+") for m in delivered):
        problems.append("a delivered message unknown to SMS.ru under its id")
    in_doubt_sent = sum(1 for m in errors if m[0].lstrip("+") in received)
    retried = sum(1 for m in messages if int(m[4] or 0) > 1)
    requests = collections.Counter(r.path for r in smsru.requests)
    return {
        "ok": not problems,
        "problems": problems,
        "messages": len(messages),
        "delivered": states_count["sent"],
        "failed": len(errors),
        "failed_reasons": dict(reasons),
        "failed_but_taken_by_smsru": in_doubt_sent,
        "received_twice": len(twice),
        "retried_messages": retried,
        "requests": dict(requests),
        "injected_errors": dict(smsru.injected),
        "restart": restart,
        "seconds": round(elapsed),
        "messages_per_second": round(len(messages) / elapsed, 1) if elapsed else None,
    }


if __name__ == "__main__":
    sys.exit(main())
