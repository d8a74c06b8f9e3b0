#!/usr/bin/env python3
"""EXPLAIN (ANALYZE, BUFFERS) every statement of one launch batch.

In a database made by ``bench_launch.py --keep`` (its contacts and dynamic
group), launches a mailing named NAME and queues half of its audience
(committed), unless a mailing of that name exists already; then runs one more
``_queue_batch()`` in which each statement is first explained inside a
savepoint rolled back, then executed, and rolls that batch back. Prints each
statement (shortened) with its plan. Usage (from the repository root)::

    .venv/bin/python bench/explain_batch.py sms_bench_1000000 [NAME]
"""

# A command-line script: its plans go to stdout.
# pylint: disable=print-used

import json
import sys

import bench_launch


class Explaining:
    """A psycopg2 cursor that explains each statement before running it."""

    def __init__(self, cursor):
        self.cursor = cursor

    def __getattr__(self, name):
        return getattr(self.cursor, name)

    def execute(self, query, params=None):
        text = query if isinstance(query, str) else query.decode()
        if text.lstrip().split(None, 1)[0].upper() in (
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "WITH",
        ):
            self.cursor.execute("SAVEPOINT explain_batch")
            self.cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + text, params)
            plan = [row[0] for row in self.cursor.fetchall()]
            self.cursor.execute("ROLLBACK TO SAVEPOINT explain_batch")
            shown = " ".join(self.cursor.mogrify(text, params).decode().split())
            print(f"\n-- statement: {shown[:600]}{' ...' if len(shown) > 600 else ''}")
            print("\n".join(plan))
        return self.cursor.execute(query, params)


def main():
    db = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "Explain"
    registry = bench_launch.open_registry(db)
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        setup = json.loads(env["ir.config_parameter"].get_param("sms_bench.setup"))
        mailing = env["sms.mailing"].search([("name", "=", name)], limit=1)
        if not mailing:
            mailing = env["sms.mailing"].create(
                {
                    "name": name,
                    "body": bench_launch.BODY,
                    "group_ids": [(6, 0, [setup["group_id"]])],
                }
            )
            mailing.action_launch()
            cr.commit()  # pylint: disable=invalid-commit
            half = sum(setup["counts"].values()) // 2
            done = 0
            while done < half:
                done += mailing._queue_batch()
                cr.commit()  # pylint: disable=invalid-commit
        cr.execute(
            "SELECT count(*) FROM sms_sms WHERE sms_mailing_id = %s", [mailing.id]
        )
        print(
            f"== {db}: mailing {mailing.id}, {cr.fetchone()[0]:,} messages queued,"
            f" last contact id queued {mailing.audience_cursor}"
        )
        raw = cr._obj
        cr._obj = Explaining(raw)
        try:
            mailing._queue_batch()
        finally:
            cr._obj = raw
        cr.rollback()


if __name__ == "__main__":
    sys.exit(main())
