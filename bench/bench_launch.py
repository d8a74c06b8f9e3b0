#!/usr/bin/env python3
"""Launch benchmark: audience to queued messages, sms_mailing vs mass_mailing_sms.

For each size N, a database is copied from a cached template (contacts, sms,
mass_mailing_sms and sms_mailing installed without demo data), filled with N
tagged contacts (1% duplicate numbers, 1% blacklisted, 1% "Do not use SMS",
1% invalid numbers), then each product launches a mailing to the tag in its own
process, so that the peak memory is measured per product:

- ours: ``sms.mailing.action_launch()`` then the real ``_cron_process()`` (it
  queues the audience in committed batches of ``sms_mailing.queue_batch_size``);
- anchor: a ``mailing.mailing`` of type SMS launched the way Odoo's queue cron
  does (``action_launch()`` then ``_process_mass_mailing_queue()``), which
  builds every ``sms.sms`` in one composer and one transaction. Its "Keep
  archives" option (a chatter note per contact) is off unless
  ``--anchor-keep-archives yes``: ours writes no such note either.

Nothing is sent: the bench processes run no cron, and the bench databases'
scheduled actions are switched off. Usage (from the repository root)::

    .venv/bin/python bench/bench_launch.py --sizes 10000,100000 [--db NAME] [--keep]

``--ours-only`` launches ours alone (the anchor cannot run at a million
contacts: it holds every message in memory until one commit), ``--runs K``
launches it K times on each database (a new mailing each time, on the same
audience), for example::

    .venv/bin/python bench/bench_launch.py --ours-only --sizes 100000,1000000 --runs 2
"""

# A command-line script: its table goes to stdout.
# pylint: disable=print-used

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import (  # bench/ is the script's directory
    ODOO_SRC,
    create_db,
    drop_db,
    ensure_template,
    odoo_args,
    psql,
    say,
)

MODULES = "contacts,sms,mass_mailing_sms,sms_mailing"
BODY = "Hello {{ object.name }}, our spring sale starts Monday: 20% off in every store."
TAG = "SMS bench audience"
# The anchor's res_ids travel as a Python literal: raise Odoo's 100 KiB limit.
LITEVAL_BUFFER = "100000000"
ANCHOR_NAME = "mass_mailing_sms"
OURS_NAME = "sms_mailing"

# (country code, national mobile prefix, number of random digits after it)
MOBILE_PLANS = [
    ("FR", "6", 8),
    ("DE", "151", 8),
    ("RU", "9", 9),
    ("ES", "6", 8),
    ("IT", "347", 7),
    ("GB", "75", 8),
    ("BE", "47", 7),
    ("PL", "50", 7),
]
FIRST_NAMES = {
    "FR": ["Camille", "Louis", "Chloé", "Hugo", "Léa", "Jules", "Manon", "Arthur"],
    "DE": ["Lukas", "Anna", "Jonas", "Lena", "Felix", "Mia", "Paul", "Hannah"],
    "RU": ["Анна", "Иван", "Мария", "Дмитрий", "Ольга", "Сергей", "Елена", "Павел"],
    "ES": ["Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Álvaro", "Carmen", "Diego"],
    "IT": ["Giulia", "Marco", "Chiara", "Luca", "Sara", "Matteo", "Elena", "Paolo"],
    "GB": ["Oliver", "Amelia", "Harry", "Isla", "Jack", "Emily", "George", "Ava"],
    "BE": ["Noah", "Emma", "Liam", "Olivia", "Adam", "Louise", "Arthur", "Elena"],
    "PL": ["Jakub", "Zuzanna", "Antoni", "Julia", "Jan", "Maja", "Szymon", "Zofia"],
}
LAST_NAMES = {
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner"],
    "RU": ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов"],
    "ES": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez"],
    "IT": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo"],
    "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson"],
    "BE": ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes"],
    "PL": ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński"],
}


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, **kwargs)


def launch_args(db):
    """Odoo's options of the bench's own processes: no cron, quiet."""
    return odoo_args(db, "--max-cron-threads=0", "--log-level=warn")


def template_name(prefix):
    """The template database is "<prefix>_tpl" (``--db``): clones of the
    repository with different code on one server do not rebuild each other's."""
    return f"{prefix}_tpl"


def update_addon(db):
    """Bring a kept database to the addon's current code (tables, indexes)."""
    cmd = [
        sys.executable,
        str(ODOO_SRC / "odoo-bin"),
        *launch_args(db),
        "-u",
        "sms_mailing",
        "--stop-after-init",
        "--no-http",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode or "ERROR" in res.stderr:
        sys.exit(f"Updating sms_mailing in {db} failed:\n{res.stderr[-4000:]}")


# ----------------------------------------------------------------------
# In-process Odoo (children)
# ----------------------------------------------------------------------
def open_registry(db):
    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415

    odoo.tools.config.parse_config(launch_args(db))
    return Registry(db)


def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def reset_peak():
    """Reset the peak RSS to the current RSS (Linux >= 4.0), so that the peak
    measured after the launch is the launch's own."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        say("cannot reset the peak RSS: the figure includes the registry load")
    return rss_kib()


def cpu_seconds(cr):
    """CPU seconds used so far by this process and by its PostgreSQL backend (user
    and system): unlike the wall clock, it hardly depends on what the other
    processes of a shared machine do. The backend's share is 0 when the server
    is on another host."""
    cr.execute("SELECT pg_backend_pid()")
    pid = cr.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        backend = 0.0
    own = os.times()
    return own.user + own.system, backend


def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ----------------------------------------------------------------------
# Data (not timed)
# ----------------------------------------------------------------------
def plan_contacts(size, seed=42):
    """The contacts to create: a list of dicts, and the expected counts."""
    import phonenumbers  # noqa: PLC0415

    rng = random.Random(seed)
    kinds = ["normal"] * size
    one = max(1, size // 100)
    slots = rng.sample(range(size), 4 * one)
    for i, kind in enumerate(("duplicate", "blacklist", "optout", "invalid")):
        for index in slots[i * one : (i + 1) * one]:
            kinds[index] = kind
    per_country = {code: set() for code, _prefix, _n in MOBILE_PLANS}
    contacts = []
    for kind in kinds:
        code, prefix, ndigits = MOBILE_PLANS[rng.randrange(len(MOBILE_PLANS))]
        while True:
            digits = str(rng.randrange(10**ndigits)).zfill(ndigits)
            if digits not in per_country[code] and phonenumbers.is_valid_number(
                phonenumbers.parse(prefix + digits, code)
            ):
                per_country[code].add(digits)
                break
        contacts.append(
            {
                "kind": kind,
                "country": code,
                "national": prefix + digits,
                "name": " ".join(
                    (rng.choice(FIRST_NAMES[code]), rng.choice(LAST_NAMES[code]))
                ),
                "field": "phone" if rng.random() < 0.2 else "mobile",
                "national_format": rng.random() < 0.5,
            }
        )
    # a duplicate takes the number of an earlier normal contact
    normals = [c for c in contacts if c["kind"] == "normal"]
    for contact in contacts:
        if contact["kind"] == "duplicate":
            source = rng.choice(normals)
            contact["country"] = source["country"]
            contact["national"] = source["national"]
            contact["national_format"] = not source["national_format"]
    counts = {kind: kinds.count(kind) for kind in set(kinds)}
    return contacts, counts


def populate(env, size):
    """Create the audience by SQL; phone_sanitized is computed with Odoo's own
    formatting (``_phone_format_number``), exactly as its stored compute does."""
    import phonenumbers  # noqa: PLC0415

    cr = env.cr
    Partner = env["res.partner"]
    countries = {
        c.code: c
        for c in env["res.country"].search(
            [("code", "in", [code for code, _p, _n in MOBILE_PLANS])]
        )
    }
    tag = env["res.partner.category"].create({"name": TAG})
    contacts, counts = plan_contacts(size)
    blacklisted = []
    rows = []
    for contact in contacts:
        country = countries[contact["country"]]
        if contact["kind"] == "invalid":
            raw = f"+{country.phone_code} {contact['national'][:3]}"
        else:
            number = phonenumbers.parse(contact["national"], contact["country"])
            fmt = (
                phonenumbers.PhoneNumberFormat.NATIONAL
                if contact["national_format"]
                else phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            raw = phonenumbers.format_number(number, fmt)
        sanitized = Partner._phone_format_number(raw, country, force_format="E164")
        if bool(sanitized) == (contact["kind"] == "invalid"):
            raise RuntimeError(f"unexpected sanitation of {raw}: {sanitized}")
        if contact["kind"] == "blacklist":
            blacklisted.append(sanitized)
        rows.append(
            (
                contact["name"],
                country.id,
                raw if contact["field"] == "mobile" else None,
                raw if contact["field"] == "phone" else None,
                sanitized or None,
                contact["kind"] == "optout",
            )
        )
    for start in range(0, len(rows), 10000):
        chunk = rows[start : start + 10000]
        cr.execute(
            """
            WITH new AS (
                INSERT INTO res_partner (name, complete_name, country_id, mobile,
                    phone, phone_sanitized, sms_opt_out, type, active, is_company,
                    partner_share, lang, color, create_uid, write_uid, create_date,
                    write_date)
                SELECT n, n, c, m, p, s, o, 'contact', TRUE, FALSE, TRUE, 'en_US', 0,
                       1, 1, now() at time zone 'UTC', now() at time zone 'UTC'
                  FROM unnest(%s::varchar[], %s::int[], %s::varchar[], %s::varchar[],
                              %s::varchar[], %s::bool[]) AS t(n, c, m, p, s, o)
                RETURNING id
            )
            INSERT INTO res_partner_res_partner_category_rel (category_id, partner_id)
            SELECT %s, id FROM new
            """,
            [[row[i] for row in chunk] for i in range(6)] + [tag.id],
        )
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id"
        " WHERE commercial_partner_id IS NULL"
    )
    env["phone.blacklist"].create([{"number": number} for number in blacklisted])
    env.invalidate_all()
    group = env["sms.mailing.group"].create(
        {"name": TAG, "domain": repr([("category_id", "in", [tag.id])])}
    )
    env["sms.provider"].create(
        {"name": "Bench (demo, simulated)", "provider_type": "demo", "active": True}
    )
    # no scheduled action may run here, even from a server that serves every db
    cr.execute("UPDATE ir_cron SET active = FALSE")
    setup = {"tag_id": tag.id, "group_id": group.id, "counts": counts}
    # for --reuse
    env["ir.config_parameter"].set_param("sms_bench.setup", json.dumps(setup))
    return setup


# ----------------------------------------------------------------------
# The two launches (timed)
# ----------------------------------------------------------------------
def outcome(env, field, mailing_id):
    env.cr.execute(
        f"SELECT state, failure_type, count(*) FROM sms_sms WHERE {field} = %s"
        " GROUP BY state, failure_type",
        [mailing_id],
    )
    rows = env.cr.fetchall()
    queued = sum(n for state, _f, n in rows if state == "outgoing")
    excluded = {f or state: n for state, f, n in rows if state != "outgoing"}
    return queued, excluded


def launch_ours(env, setup):
    mailing = env["sms.mailing"].create(
        {
            "name": "Bench",
            "body": BODY,
            "group_ids": [(6, 0, [setup["group_id"]])],
            # the anchor's texts have no opt-out line: compare like with like
            "optout_link": False,
        }
    )
    env.cr.commit()
    base = reset_peak()
    cpu0 = cpu_seconds(env.cr)
    t0 = time.perf_counter()
    mailing.action_launch()
    env.cr.commit()
    env["sms.mailing"]._cron_process(time_budget=10**9)
    env.cr.commit()
    seconds = time.perf_counter() - t0
    cpu = [end - start for start, end in zip(cpu0, cpu_seconds(env.cr), strict=True)]
    peak = peak_kib()
    mailing.invalidate_recordset()
    if not mailing.audience_done:
        raise RuntimeError(f"our launch did not finish: {mailing.launch_error}")
    queued, excluded = outcome(env, "sms_mailing_id", mailing.id)
    return seconds, cpu, peak - base, queued, excluded


def batch_size(env):
    return int(
        env["ir.config_parameter"]
        .sudo()
        .get_param("sms_mailing.queue_batch_size", 2000)
    )


def launch_anchor(env, setup, keep_archives):
    model = env["ir.model"]._get("res.partner")
    mailing = (
        env["mailing.mailing"]
        .with_context(default_mailing_type="sms")
        .create(
            {
                "subject": "Bench",
                "mailing_type": "sms",
                "mailing_model_id": model.id,
                "mailing_domain": repr([("category_id", "in", [setup["tag_id"]])]),
                "body_plaintext": BODY,
                "keep_archives": keep_archives,
            }
        )
    )
    env.cr.commit()
    base = reset_peak()
    cpu0 = cpu_seconds(env.cr)
    t0 = time.perf_counter()
    mailing.action_launch()
    env["mailing.mailing"]._process_mass_mailing_queue()
    env.cr.commit()
    seconds = time.perf_counter() - t0
    cpu = [end - start for start, end in zip(cpu0, cpu_seconds(env.cr), strict=True)]
    peak = peak_kib()
    queued, excluded = outcome(env, "mailing_id", mailing.id)
    return seconds, cpu, peak - base, queued, excluded


def child(args):
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    registry = open_registry(args.db)
    setup = json.loads(args.setup) if args.setup else {}
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        if args.child == "populate":
            result = populate(env, args.size)
        else:
            if args.child == "ours":
                measure = launch_ours(env, setup)
            else:
                measure = launch_anchor(env, setup, args.anchor_keep_archives == "yes")
            seconds, cpu, mem_kib, queued, excluded = measure
            env.cr.execute(
                "SELECT count(*) FROM sms_sms"
                " WHERE state NOT IN ('outgoing', 'canceled')"
            )
            result = {
                "seconds": seconds,
                "cpu": sum(cpu),
                "cpu_odoo": cpu[0],
                "cpu_pg": cpu[1],
                "mem_kib": mem_kib,
                "queued": queued,
                "excluded": excluded,
                "sent": env.cr.fetchone()[0],
                "batch_size": batch_size(env),
            }
        cr.commit()  # pylint: disable=invalid-commit
    Path(args.result).write_text(json.dumps(result))


def spawn(phase, db, size, setup=None, keep_archives="no"):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            phase,
            "--db",
            db,
            "--size",
            str(size),
            "--result",
            out.name,
            "--anchor-keep-archives",
            keep_archives,
        ]
        if setup:
            cmd += ["--setup", json.dumps(setup)]
        env = dict(os.environ, ODOO_LIMIT_LITEVAL_BUFFER=LITEVAL_BUFFER)
        t0 = time.monotonic()
        with subprocess.Popen(cmd, env=env) as proc:
            while True:
                try:
                    proc.wait(timeout=30)
                    break
                except subprocess.TimeoutExpired:
                    say(f"  {phase}: still running ({time.monotonic() - t0:.0f} s)")
        if proc.returncode:
            raise RuntimeError(f"the {phase} process failed (exit {proc.returncode})")
        return json.loads(Path(out.name).read_text())


# ----------------------------------------------------------------------
# Parent
# ----------------------------------------------------------------------
def products(args):
    return (OURS_NAME,) if args.ours_only else (OURS_NAME, ANCHOR_NAME)


def bench_size(base_db, size, args):
    db = f"{base_db}_{size}"
    setup = psql(
        db, "SELECT value FROM ir_config_parameter WHERE key = 'sms_bench.setup'"
    )
    if args.reuse and setup:
        say(f"N={size:,}: reusing the database {db}; updating sms_mailing in it")
        update_addon(db)
        setup = json.loads(setup)
    else:
        template = template_name(base_db)
        ensure_template(template, MODULES)
        say(f"N={size:,}: database {db} from {template}")
        create_db(db, template)
        setup = None
    try:
        return measure_size(db, size, args, setup)
    finally:
        if not args.keep:
            drop_db(db)


def measure_size(db, size, args, setup=None):
    if setup is None:
        t0 = time.monotonic()
        setup = spawn("populate", db, size)
        say(
            f"N={size:,}: {size:,} contacts created in {time.monotonic() - t0:.0f} s"
            f" ({setup['counts']})"
        )
    # planner statistics, as a live database has them
    run(["psql", "-d", db, "-qc", "VACUUM ANALYZE"], capture_output=True)
    results = {}
    for product in products(args):
        phase = "ours" if product == OURS_NAME else "anchor"
        results[product] = []
        for number in range(1, args.runs + 1):
            say(f"N={size:,}: launching {product} (run {number}/{args.runs}) ...")
            res = spawn(phase, db, size, setup, args.anchor_keep_archives)
            results[product].append(res)
            say(
                f"N={size:,}: {product} done in {res['seconds']:.1f} s"
                f" ({res['cpu']:.1f} s of CPU: Odoo {res['cpu_odoo']:.1f},"
                f" its PostgreSQL backend {res['cpu_pg']:.1f}),"
                f" peak {res['mem_kib'] / 1024:.1f} MiB above the baseline"
            )
    if not args.ours_only:
        results["compare"] = compare(db)
    return setup["counts"], results


COMPARE_SQL = """
WITH ours AS (SELECT * FROM sms_sms
               WHERE sms_mailing_id = (SELECT min(id) FROM sms_mailing)),
     anchor AS (SELECT * FROM sms_sms
                 WHERE mailing_id = (SELECT min(id) FROM mailing_mailing))
SELECT
  (SELECT count(*) FROM (SELECT number FROM ours WHERE state = 'outgoing'
                         EXCEPT SELECT number FROM anchor WHERE state = 'outgoing') x),
  (SELECT count(*) FROM (SELECT number FROM anchor WHERE state = 'outgoing'
                         EXCEPT SELECT number FROM ours WHERE state = 'outgoing') x),
  (SELECT count(*) FROM ours o JOIN anchor a USING (partner_id)
    WHERE o.failure_type = 'sms_duplicate'
      AND a.failure_type IS DISTINCT FROM 'sms_duplicate'),
  (SELECT count(*) FROM ours o JOIN anchor a USING (partner_id)
    WHERE o.state = 'outgoing' AND a.state = 'outgoing' AND o.body != a.body)
"""


def compare(db):
    """What differs between the two products' messages, contact by contact."""
    row = psql(db, COMPARE_SQL).split("|")
    keys = ("only_ours", "only_anchor", "dup_elsewhere", "body_differs")
    return dict(zip(keys, map(int, row), strict=True))


def print_table(all_results, args):
    header = (
        f"{'size':>9}  {'product':<17} {'run':>3} {'seconds':>8} {'rec/s':>9}"
        f" {'cpu s':>7}"
        f" {'peak MiB':>9} {'queued':>9} {'excluded':>9} {'anchor/ours':>12}"
    )
    print(header)
    print("-" * len(header))
    for size, (_counts, results) in all_results.items():
        for product in products(args):
            for number, res in enumerate(results[product], 1):
                ours = results[OURS_NAME][number - 1]
                ratio = (
                    f"{res['seconds'] / ours['seconds']:.1f}x"
                    if product == ANCHOR_NAME
                    else ""
                )
                print(
                    f"{size:>9,}  {product:<17} {number:>3} {res['seconds']:>8.2f}"
                    f" {size / res['seconds']:>9,.0f} {res.get('cpu', 0):>7.1f}"
                    f" {res['mem_kib'] / 1024:>9.1f}"
                    f" {res['queued']:>9,} {sum(res['excluded'].values()):>9,}"
                    f" {ratio:>12}"
                )
    print()
    for size, (counts, results) in all_results.items():
        print(f"N={size:,} contacts: {json.dumps(dict(sorted(counts.items())))}")
        for product in products(args):
            res = results[product][0]
            excl = ", ".join(f"{k} {v:,}" for k, v in sorted(res["excluded"].items()))
            print(f"  {product:<17} queued {res['queued']:,}; excluded: {excl}")
            print_consistency(counts, product, results[product])
        if not args.ours_only:
            print_differences(counts, results)
    print_summary(all_results, args)


def print_consistency(counts, product, runs):
    """Every run queues the same messages with the same exclusions; nothing
    is sent during the measures."""
    first = runs[0]
    for number, res in enumerate(runs[1:], 2):
        if (res["queued"], res["excluded"]) != (first["queued"], first["excluded"]):
            print(f"  UNEXPECTED: run {number} queued or excluded other messages")
    expected = {
        "sms_duplicate": counts.get("duplicate", 0),
        "sms_blacklist": counts.get("blacklist", 0),
        "sms_optout": counts.get("optout", 0),
        "sms_number_format": counts.get("invalid", 0),
    }
    if product == OURS_NAME and first["excluded"] == expected:
        print("  exclusions as planted (duplicate, blacklist, opt-out, invalid)")
    sent = sum(res["sent"] for res in runs)
    if sent:
        print(f"  UNEXPECTED: {sent} messages sent during the measures")


def print_differences(counts, results):
    cmp = results["compare"]
    print(
        f"  queued numbers only in ours: {cmp['only_ours']:,}, only in the anchor:"
        f" {cmp['only_anchor']:,}; same contact, different text: "
        f"{cmp['body_differs']:,}"
    )
    if cmp["dup_elsewhere"]:
        print(
            f"  for {cmp['dup_elsewhere']:,} duplicate numbers the products skip a"
            " different contact of the pair: ours keeps the oldest contact (lowest"
            " id, keyset order), mass_mailing_sms the first in its search order"
            " (by name); the counts do not change"
        )
    if "sms_optout" in results[ANCHOR_NAME][0]["excluded"]:
        print(
            "  mass_mailing_sms leaves out 'Do not use SMS' contacts through"
            " sms_mailing's extension of its composer (sms_opt_out is ours)"
        )
    diff = results[ANCHOR_NAME][0]["queued"] - results[OURS_NAME][0]["queued"]
    optout = counts.get("optout", 0)
    if diff == 0:
        print("  same number of queued messages")
    elif diff == optout and "sms_optout" not in results[ANCHOR_NAME][0]["excluded"]:
        print(
            f"  the anchor queued {diff:+,} messages: the {optout:,} contacts marked"
            " 'Do not use SMS' (sms_opt_out, a field of sms_mailing) are left out"
            " by ours only"
        )
    else:
        print(f"  UNEXPECTED: the anchor queued {diff:+,} messages, see above")
    sent = sum(res["sent"] for p in (OURS_NAME, ANCHOR_NAME) for res in results[p])
    print(f"  messages sent during the measures: {sent} (nothing may leave)")


def mean(values):
    values = list(values)
    return sum(values) / len(values)


def print_summary(all_results, args):
    if not args.ours_only:
        print(
            f"\nanchor launched with keep_archives={args.anchor_keep_archives}"
            + (
                " (its form's default for SMS: a chatter note per contact, more work"
                " than ours does)"
                if args.anchor_keep_archives == "yes"
                else " (no chatter note per contact, like ours; its form's default"
                " for SMS is yes: --anchor-keep-archives yes)"
            )
        )
    else:
        print()
    for product in products(args):
        mems = ", ".join(
            f"{max(r['mem_kib'] for r in results[product]) / 1024:.1f} MiB at {size:,}"
            + (
                f" ({results[product][0]['mem_kib'] / size:.1f} KiB/contact)"
                if product == ANCHOR_NAME
                else ""
            )
            for size, (_counts, results) in all_results.items()
        )
        print(f"peak memory above baseline, {product}: {mems}")
    batch = next(iter(all_results.values()))[1][OURS_NAME][0].get("batch_size")
    print(f"(sms_mailing queues in committed batches of {batch} contacts)")
    seconds = {
        size: mean(r["seconds"] for r in results[OURS_NAME])
        for size, (_counts, results) in all_results.items()
    }
    cpu = {
        size: mean(r["cpu"] for r in results[OURS_NAME])
        for size, (_counts, results) in all_results.items()
    }
    sizes = sorted(seconds)
    for small, large in zip(sizes, sizes[1:], strict=False):
        times = seconds[large] / seconds[small]
        print(
            f"{OURS_NAME}: {large:,} contacts take {times:.1f}x the time of"
            f" {small:,} and {cpu[large] / cpu[small]:.1f}x the CPU"
            f" ({large / small:.1f}x the contacts; mean of the runs)"
        )
    if args.ours_only:
        return
    for size, (_counts, results) in all_results.items():
        ratio = mean(r["seconds"] for r in results[ANCHOR_NAME]) / seconds[size]
        print(f"N={size:,} speedup: {ratio:.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--db", default="sms_bench", help="prefix of the databases")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--ours-only",
        action="store_true",
        help="launch sms_mailing alone (the anchor cannot run at 1,000,000 contacts)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="launches per product and size (a new mailing each, same audience)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the contacts of a database kept by --keep (sms_mailing is"
        " updated in it first) instead of creating it",
    )
    parser.add_argument(
        "--anchor-keep-archives",
        choices=("yes", "no"),
        default="no",
        help="the anchor's 'Keep archives' option: a chatter note per contact"
        " (default no: the same work as ours; yes is its form's default for SMS)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    t0 = time.monotonic()
    all_results = {}
    for size in sizes:
        all_results[size] = bench_size(args.db, size, args)
    print_table(all_results, args)
    say(f"total {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
