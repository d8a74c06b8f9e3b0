"""Dispatch lanes: lane crons, lane locks, claims, serving a lane, recovery
of messages a dead worker left."""

import logging
import time
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import (
    dispatch,
    settings,
)
from ..tools.transaction import commit_batch
from .sms_sms import FIRST_STATUS_POLL_DELAY

_logger = logging.getLogger(__name__)


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsSms(models.Model):
    _inherit = "sms.sms"

    # ------------------------------------------------------------------
    # Dispatcher: lanes
    # ------------------------------------------------------------------
    # A lane is one Odoo cron run sending through one provider. Every lane cron
    # (``_dispatch_lane``) claims a free provider slot with a session advisory
    # lock ``(LANE_LOCK_NAMESPACE, provider id * LANE_SLOTS + slot)``, sends that
    # provider's due messages (sms_sms_sending.py), and releases it. Messages
    # are claimed with ``FOR UPDATE SKIP LOCKED``, marked ``process`` with the
    # lane's lock key and committed before any provider sees them, then marked
    # handed over (committed) just before their request leaves; the lock is
    # held until their results are committed. See "recovery" below for a
    # ``process`` message whose lock nobody holds.
    @api.model
    def _lane_crons(self):
        """The scheduled actions that run dispatch lanes (active ones)."""
        # sudo: any user queuing an SMS wakes the lanes up; only their ids are read.
        return (
            self.env["ir.cron"]
            .sudo()
            .search(
                [
                    ("model_id.model", "=", "sms.sms"),
                    "|",
                    ("code", "like", "_dispatch_lane("),
                    ("code", "like", "_dispatch_queue("),
                ]
            )
        )

    @api.model
    def _trigger_lanes(self):
        """Wake every lane cron up (one trigger each, one notification)."""
        crons = self._lane_crons()
        if not crons:
            return
        now = fields.Datetime.now()
        # sudo: a trigger only makes the lane run sooner (as Odoo's _trigger does).
        self.env["ir.cron.trigger"].sudo().create(
            [{"cron_id": cron.id, "call_at": now} for cron in crons]
        )
        self.env.cr.postcommit.add(crons[:1]._notifydb)

    @api.model
    def _dispatch_lane(self):
        """The lane cron: send for up to ``sms_mailing.lane_time_budget``
        seconds (15), then let the worker run other jobs; lanes are triggered
        again when work is left. Never reports work left to Odoo's cron
        runner, which would run it again in the same worker up to ten times
        and could overrun ``limit_time_real_cron``."""
        budget = settings.get(self.env, "sms_mailing.lane_time_budget")
        return self._dispatch_queue(time_budget=budget, lane=True)

    @api.model
    def _dispatch_queue(self, batch_size=None, time_budget=None, lane=False):
        """Send due outgoing messages through the providers' lanes.

        Routes new messages, then serves provider lanes one after the other
        (each claimed with an advisory lock, so several workers or servers
        serve different providers, or the same one when it allows several
        lanes) until nothing is left or ``time_budget`` is spent. Messages are
        marked ``process`` and committed before any provider is called, so a
        message is never taken twice and a crash never resends one (see
        :meth:`_recover_in_doubt`). Returns the number of messages taken.
        """
        company_ids = self._provider_company_ids()
        if not company_ids:
            return 0
        batch_size = batch_size or settings.get(
            self.env, "sms_mailing.dispatch_batch_size"
        )
        if time_budget is None:
            time_budget = settings.get(self.env, "sms_mailing.dispatch_time_budget")
        deadline = time.monotonic() + time_budget
        recovered = self._recover_in_doubt()
        recovered |= self._recover_stuck(company_ids)
        commit_batch(self.env)
        taken = set()
        route_cache = {}
        waits = 0
        down = set()  # providers that failed a whole request in this run
        while True:
            self._route_queue(company_ids, route_cache)
            commit_batch(self.env)
            claim = self._claim_lane(exclude=down)
            if not claim:
                if waits < 20 and self._routing_elsewhere(company_ids):
                    # Another lane is routing the queue: look again soon.
                    waits += 1
                    time.sleep(0.05)
                    continue
                break
            provider, key = claim
            try:
                served, failed = self._serve_lane(
                    provider, key, deadline, batch_size, route_cache
                )
            finally:
                self._release_lane(key)
            taken |= served
            if failed:
                # Its next claim would fail the same way, after its own
                # timeout: its messages wait for the next run (one probe of a
                # provider that is down per run, never past the time budget).
                down.add(provider.id)
            if time.monotonic() >= deadline:
                break
        self._after_dispatch(len(taken), recovered, company_ids, deadline, lane)
        return len(taken)

    @api.model
    def _after_dispatch(self, total, recovered, company_ids, deadline, lane):
        """Report progress; wake the lanes up when work is left past the
        deadline, the status poll and the mailings when messages moved."""
        remaining = self._count_due(company_ids)
        self.env["ir.cron"]._notify_progress(
            done=total, remaining=0 if lane else remaining
        )
        if remaining and time.monotonic() >= deadline:
            self._trigger_lanes()
        if total:
            # Ask for delivery statuses soon, and let mailings see their progress.
            soon = fields.Datetime.now() + FIRST_STATUS_POLL_DELAY
            self.env.ref("sms_mailing.ir_cron_sms_poll_status")._trigger(soon)
        if total or recovered:
            self.env.ref("sms_mailing.ir_cron_sms_mailing_process")._trigger()

    @api.model
    def _due_where(self, company_ids=None, tests=False):
        """SQL condition of the messages to send now (``tests``: test
        messages too, for a direct send)."""
        where = SQL(
            "state = 'outgoing' AND to_delete IS NOT TRUE"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)",
            fields.Datetime.now(),
        )
        if not tests:
            where = SQL("%s AND is_test IS NOT TRUE", where)
        if company_ids and False not in company_ids:
            where = SQL("%s AND company_id = ANY(%s)", where, list(company_ids))
        return where

    @api.model
    def _count_due(self, company_ids):
        self.flush_model()
        self.env.cr.execute(
            SQL("SELECT count(*) FROM sms_sms WHERE %s", self._due_where(company_ids))
        )
        return self.env.cr.fetchone()[0]

    # -- lane locks -------------------------------------------------------
    @api.model
    def _claim_lane(self, exclude=()):
        """Lock a provider slot that has due messages: ``(provider, key)``.

        Providers are tried oldest due message first, slot 0 of every
        provider before a second slot of any, so that each provider gets a
        lane before one gets two. Providers whose ids are in ``exclude`` are
        not served.
        """
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT p.id, (SELECT s.id FROM sms_sms s"
                " WHERE s.route_provider_id = p.id AND %s ORDER BY s.id LIMIT 1)"
                " AS first FROM sms_provider p WHERE p.active",
                self._due_where(),
            )
        )
        due = sorted(
            (first, pid)
            for pid, first in self.env.cr.fetchall()
            if first and pid not in exclude
        )
        if not due:
            return None
        # sudo: lanes read provider settings (slots, client) for every company.
        providers = self.env["sms.provider"].sudo().browse([pid for _f, pid in due])
        slots = {provider.id: provider._lane_slots() for provider in providers}
        for slot in range(max(slots.values())):
            for provider in providers:
                if slot >= slots[provider.id]:
                    continue
                key = dispatch.lane_key(provider.id, slot)
                if self._try_lane_lock(key):
                    # A new snapshot, taken after the lock: rows the previous
                    # holder left in ``process`` are visible and in doubt.
                    commit_batch(self.env)
                    self._recover_lane(key)
                    commit_batch(self.env)
                    return provider, key
        return None

    @api.model
    def _try_lane_lock(self, key):
        self.env.cr.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (dispatch.LANE_LOCK_NAMESPACE, key)
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _release_lane(self, key):
        if self.env.cr.closed:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT pg_advisory_unlock(%s, %s)",
                    (dispatch.LANE_LOCK_NAMESPACE, key),
                )
        except pg_errors.InFailedSqlTransaction:
            # The transaction failed: roll it back (its messages stay
            # ``process``, in doubt) and release the lane all the same.
            self.env.cr.rollback()
            self.env.cr.execute(
                "SELECT pg_advisory_unlock(%s, %s)", (dispatch.LANE_LOCK_NAMESPACE, key)
            )

    # -- recovery ---------------------------------------------------------
    # A lane marks messages as handed over (committed) just before the bytes
    # carrying them are written (an HTTP body, a modem's PDU, an SMPP
    # submit_sm). When a lane's lock is free but its messages are still
    # ``process``, its worker died: the messages it had handed over may have
    # been sent and fail "in doubt" (never resent automatically); the others
    # never left and go back to the queue, to be sent once.
    @api.model
    def _recover_in_doubt(self):
        """Recover the messages of lanes whose lock is gone (dead worker):
        returns them (in doubt or queued again)."""
        self.flush_model()
        self.env.cr.execute(
            "SELECT DISTINCT dispatch_lock FROM sms_sms"
            " WHERE state = 'process' AND dispatch_lock IS NOT NULL"
        )
        recovered = self.browse()
        for (key,) in self.env.cr.fetchall():
            if not self._try_lane_lock(key):
                continue  # its lane is alive
            try:
                commit_batch(self.env)  # see rows committed before the lock
                recovered |= self._recover_lane(key)
                commit_batch(self.env)
            finally:
                self._release_lane(key)
        return recovered

    @api.model
    def _recover_lane(self, key):
        """Recover the ``process`` messages of the lane ``key`` (its lock is
        held by the caller)."""
        self.env.cr.execute(
            "SELECT id FROM sms_sms WHERE state = 'process' AND dispatch_lock = %s",
            (key,),
        )
        # sudo: messages of a dead worker are recovered whoever queued them.
        return self.browse([row[0] for row in self.env.cr.fetchall()]).sudo()._recover()

    def _recover(self):
        """Messages a stopped worker left ``process``: those it had handed
        over fail in doubt, the others are queued again. Returns them.

        A hand-over is committed without waiting for the disk (see
        :meth:`_hand_over`): exact after a worker's crash, it may be lost in
        a crash of PostgreSQL itself. Messages claimed before PostgreSQL last
        recovered from a crash (:meth:`_database_epoch`) are therefore in
        doubt, marked or not.
        """
        if not self:
            return self
        self.flush_recordset()
        epoch = self._database_epoch()
        untried = self.browse()
        if epoch is not None:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM sms_sms WHERE id = ANY(%s)"
                    " AND handed_over IS FALSE AND process_started_at >= %s",
                    self.ids,
                    epoch,
                )
            )
            untried = self.browse([row[0] for row in self.env.cr.fetchall()])
        in_doubt = self - untried
        if untried:
            _logger.warning(
                "%s SMS claimed by a worker that stopped before handing them "
                "over: queued again",
                len(untried),
            )
            untried._requeue_untried()
        if in_doubt:
            _logger.warning(
                "%s SMS were being handed over by a worker that stopped: failed "
                "as in doubt",
                len(in_doubt),
            )
            in_doubt._fail_as_in_doubt()
        return self

    @api.model
    def _database_epoch(self):
        """Since when committed hand-overs are sure to have survived (the
        database's clock), or None when unknown (then nothing is).

        The one row of the UNLOGGED table ``sms_dispatch_epoch``: PostgreSQL's
        crash recovery empties it, and the first lane run after that writes
        the moment again.
        """
        self.env.cr.execute("SELECT started_at FROM sms_dispatch_epoch")
        row = self.env.cr.fetchone()
        if row:
            return row[0]
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "INSERT INTO sms_dispatch_epoch (id, started_at)"
                    " VALUES (1, now() AT TIME ZONE 'UTC') RETURNING started_at",
                    log_exceptions=False,
                )
                return self.env.cr.fetchone()[0]
        except (pg_errors.UniqueViolation, pg_errors.SerializationFailure):
            return None  # another lane wrote it just now: unknown to this one

    @api.model
    def _recover_stuck(self, company_ids=None):
        """Messages left ``process`` without a lane lock (sent outside a lane,
        or before lanes existed) for ``sms_mailing.stuck_after_minutes``:
        recovered as a dead lane's (:meth:`_recover`)."""
        minutes = settings.get(self.env, "sms_mailing.stuck_after_minutes")
        limit = fields.Datetime.now() - timedelta(minutes=minutes)
        domain = [
            ("state", "=", "process"),
            ("process_started_at", "<", limit),
            ("dispatch_lock", "=", False),
        ]
        if company_ids and False not in company_ids:
            domain.append(("company_id", "in", list(company_ids)))
        # sudo: the dispatcher's own recovery, whoever queued the messages.
        return self.sudo().search(domain)._recover()
