"""Queuing a launched mailing: the cron that starts due mailings, freezes
their audience in batches and inserts one ``sms.sms`` per number, then
closes the mailings whose messages are all final."""

import time

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import audience, settings
from ..tools.transaction import commit_batch


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingQueue(models.Model):
    _inherit = "sms.mailing"

    @api.model
    def _cron_process(self, time_budget=None):
        """Start due deferred mailings, queue audiences in committed batches,
        and close mailings whose every message reached a final state."""
        now = fields.Datetime.now()
        due = self.search([("state", "=", "scheduled"), ("start_date", "<=", now)])
        if due:
            due.write({"state": "sending", "launched_at": now})
        if time_budget is None:
            time_budget = float(settings.get(self.env, "sms_mailing.queue_time_budget"))
        deadline = time.monotonic() + time_budget
        for mailing in self.search(
            [("state", "=", "sending"), ("audience_done", "=", False)]
        ):
            # The audience is resolved and the text rendered with the rights
            # of the user who launched: no sudo, so the cron can neither reach
            # contacts nor evaluate code that this user could not.
            launcher = mailing.launched_by_id or mailing.user_id or mailing.create_uid
            mailing = mailing.with_user(launcher).with_company(mailing.company_id)
            commit_batch(self.env)
            while not mailing.audience_done and mailing.state == "sending":
                try:
                    mailing._queue_batch()
                except UserError as err:  # AccessError included
                    # sudo: the cron records the failure on the mailing it
                    # runs, whatever the launcher may still write.
                    mailing.sudo().write(
                        {"launch_error": str(err), "state": "canceled"}
                    )
                    mailing._forget_audience()
                    mailing.sudo()._message_log(body=str(err))
                    break
                commit_batch(self.env)
                mailing.invalidate_recordset(["state"])
                if time.monotonic() > deadline:
                    self.env.ref("sms_mailing.ir_cron_sms_mailing_process")._trigger()
                    return
        self._close_finished()

    @api.model
    def _close_finished(self):
        sending = self.search([("state", "=", "sending"), ("audience_done", "=", True)])
        if not sending:
            return
        self.env["sms.sms"].flush_model()
        # sudo: the cron reads which mailings still have queued messages.
        busy = {
            mailing.id
            for (mailing,) in self.env["sms.sms"]
            .sudo()
            ._read_group(
                [
                    ("sms_mailing_id", "in", sending.ids),
                    ("state", "in", ("outgoing", "process")),
                    ("is_test", "=", False),
                ],
                ["sms_mailing_id"],
            )
        }
        finished = sending.filtered(
            lambda m: m.id not in busy and not m._waits_for_more()
        )
        finished.write({"state": "done", "done_at": fields.Datetime.now()})

    def _waits_for_more(self):
        """Whether the mailing, its audience queued, still waits for messages
        to queue later (an A/B test's winner)."""
        return False

    def _queue_batch(self, batch_size=None):
        """Queue the next batch of the audience: one ``sms.sms`` per number.

        Exclusions are stored as canceled messages with their reason. Returns
        the number of contacts handled; sets ``audience_done`` at the end.
        """
        self.ensure_one()
        batch_size = batch_size or settings.get(
            self.env, "sms_mailing.queue_batch_size"
        )
        template = self._template()
        if not self.audience_cursor:
            self._freeze_audience(batch_size)
        partner_ids = self._take_audience_batch()
        if not partner_ids:
            self.write({"audience_done": True})
            self.env["sms.sms"]._trigger_lanes()
            return 0
        rows = self._batch_rows(partner_ids)
        seen = self._numbers_with_message([row[1] for row in rows if row[1]])
        plan, to_render, variant_of = self._plan_batch(rows, seen)
        sms_ids = {}
        if to_render and (self.optout_link or self.link_tracking):
            sms_ids = dict(
                zip(to_render, self._reserve_sms_ids(len(to_render)), strict=True)
            )
        bodies = (
            self._batch_texts(to_render, sms_ids, template, variant_of)
            if to_render
            else {}
        )
        self._insert_sms(plan, bodies, sms_ids, variant_of)
        self.write({"audience_cursor": partner_ids[-1]})
        if to_render:
            self.env["sms.sms"]._trigger_lanes()
        return len(partner_ids)

    def _batch_rows(self, partner_ids):
        """The batch's recipients as rows ``(key, e164, raw, optout,
        blacklisted)`` (see ``tools/audience.py``), in audience order. A key is
        a contact id, or ``(contact id, number)`` when a contact may get
        several messages (``all_phones``)."""
        self.env.cr.execute(
            self._audience_sql(
                SQL(
                    "p.id, p.phone_sanitized, COALESCE(p.mobile, p.phone),"
                    " p.sms_opt_out, bl.id IS NOT NULL"
                ),
                partner_ids,
                tail=SQL("ORDER BY p.id"),
            )
        )
        return self.env.cr.fetchall()

    def _plan_batch(self, rows, seen):
        """``(plan, to_render, variant_of)``: the batch's messages and
        exclusions, the keys to render, and the A/B test variant of each
        key (``{}``: no test)."""
        plan, to_render = audience.plan_batch(rows, seen)
        return plan, to_render, {}

    def _batch_texts(self, keys, sms_ids, template, variant_of):
        """``{key: text}`` as sent, for the keys of a batch."""
        partner_ids = list(dict.fromkeys(map(audience.partner_of, keys)))
        rendered = self._render_for(
            template, self.env["res.partner"].browse(partner_ids)
        )
        texts = {key: rendered[audience.partner_of(key)] for key in keys}
        return self._finalize_texts(texts, sms_ids or None)

    def _freeze_audience(self, batch_size):
        """Evaluate the audience once, in one query, and store it as numbered
        batches of ``batch_size`` contact ids, batch 0 holding the lowest ids
        (audience order is ascending id, as the duplicate rule wants: the
        oldest contact keeps the number). Contacts created after the launch
        (``audience_max_id``) are left out."""
        self.ensure_one()
        self.env["res.partner"].flush_model()
        self.env.cr.execute(
            SQL("DELETE FROM sms_mailing_batch WHERE mailing_id = %s", self.id)
        )
        query = self.env["res.partner"]._search(
            expression.AND(
                [self._audience_domain(), [("id", "<=", self.audience_max_id)]]
            )
        )
        if query.is_empty():  # neither contacts nor groups: nothing to store
            return
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO sms_mailing_batch (mailing_id, sequence, partner_ids_text)
                SELECT %s, numbered.sequence, string_agg(numbered.id::text, ',')
                  FROM (SELECT audience.id,
                               (row_number() OVER (ORDER BY audience.id) - 1) / %s
                               AS sequence
                          FROM %s AS audience) AS numbered
              GROUP BY numbered.sequence
                """,
                self.id,
                batch_size,
                query.subselect(),
            )
        )

    def _forget_audience(self):
        """Drop the part of the frozen audience not queued yet."""
        # sudo: internal bookkeeping of the queuing cron, which users cannot
        # write (and need not): the mailings are theirs
        self.env["sms.mailing.batch"].sudo().search(
            [("mailing_id", "in", self.ids)]
        ).unlink()

    def _take_audience_batch(self):
        """The contact ids of the next frozen batch (ascending), removed from
        the stored audience in the current transaction; ``[]`` at the end."""
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM sms_mailing_batch
                 WHERE id = (SELECT id FROM sms_mailing_batch
                              WHERE mailing_id = %s
                           ORDER BY sequence LIMIT 1)
             RETURNING partner_ids_text
                """,
                self.id,
            )
        )
        row = self.env.cr.fetchone()
        # sorted here: string_agg without ORDER BY lets PostgreSQL group the
        # whole audience by hashing instead of sorting it
        return sorted(int(pid) for pid in row[0].split(",")) if row else []

    def _numbers_with_message(self, numbers):
        """Which of ``numbers`` already have a message in the mailing (not an
        exclusion).

        One probe of the (mailing, number) index a number, whatever the
        planner believes: while a mailing is being queued its statistics do
        not know it yet, and ``number = ANY(...)`` was then checked as a filter
        on every message the mailing already had, in each batch.
        """
        self.env["sms.sms"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT n.number
                  FROM unnest(%s::varchar[]) AS n(number)
            CROSS JOIN LATERAL (
                       SELECT 1 FROM sms_sms s
                        WHERE s.sms_mailing_id = %s AND s.number = n.number
                          AND (s.state != 'canceled' OR s.failure_type IS NULL
                               OR s.failure_type NOT IN %s)
                        LIMIT 1) AS found
                """,
                numbers,
                self.id,
                audience.EXCLUSIONS,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _insert_sms(self, plan, bodies, sms_ids=None, variant_of=None):
        """Insert the batch's messages in one statement (the launch hot path).

        The values travel as one array per column, and PostgreSQL draws the
        UUIDs: no SQL object or UUID is built per message in Python. A UUID is
        32 hexadecimal digits as Odoo's, but time-ordered like a UUIDv7 (the
        milliseconds, then 74 random bits of a UUID4): the batch's keys land at
        the right edge of the unique index instead of on a random page each,
        which, once the table holds millions of messages, made every batch
        read and rewrite thousands of index pages.
        ``sms_ids`` gives the ids reserved for texts that name their message;
        the others take the next id of the sequence.
        """
        columns = audience.message_columns(plan, bodies, sms_ids, variant_of)
        uid = self.env.uid
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO sms_sms (id, uuid, number, body, partner_id, state,
                    failure_type, sms_mailing_id, company_id, requested_provider_id,
                    parts, encoding, create_uid, write_uid, create_date, write_date,
                    to_delete, attempts, is_test, sms_mailing_variant_id)
                SELECT COALESCE(t.id, nextval('sms_sms_id_seq')),
                       lpad(to_hex((extract(epoch FROM clock_timestamp())
                                    * 1000)::bigint), 12, '0')
                       || right(replace(gen_random_uuid()::text, '-', ''), 20),
                       t.number, t.body,
                       t.partner_id, t.state, t.failure_type, %s, %s, %s, t.parts,
                       t.encoding, %s, %s, %s, %s, FALSE, 0, FALSE, t.variant_id
                  FROM unnest(%s::int[], %s::varchar[], %s::text[], %s::int[],
                              %s::varchar[], %s::varchar[], %s::int[], %s::varchar[],
                              %s::int[])
                       WITH ORDINALITY
                       AS t(id, number, body, partner_id, state, failure_type, parts,
                            encoding, variant_id, position)
              ORDER BY t.position
                """,
                self.id,
                self.company_id.id,
                self.provider_id.id or None,
                uid,
                uid,
                now,
                now,
                *columns,
            )
        )
        self.env["sms.sms"].invalidate_model()

    def _reserve_sms_ids(self, count):
        """``count`` ids of the ``sms.sms`` sequence, for texts that name their
        own message (opt-out token, tracked links) before it is inserted."""
        self.env.cr.execute(
            SQL(
                "SELECT nextval('sms_sms_id_seq') FROM generate_series(1, %s)",
                count,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]
