"""Dispatch lanes: lane crons, lane locks, claims, serving a lane, recovery
of messages a dead worker left."""

import collections
import concurrent.futures
import contextlib
import logging
import queue
import time
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from ..tools import (
    dispatch,
    settings,
)
from ..tools import provider as provider_api
from ..tools.transaction import commit_batch
from .sms_sms import FIRST_STATUS_POLL_DELAY

_logger = logging.getLogger(__name__)


class SmsSms(models.Model):
    _inherit = "sms.sms"

    # ------------------------------------------------------------------
    # Dispatcher: lanes
    # ------------------------------------------------------------------
    # A lane is one Odoo cron run sending through one provider. Every lane cron
    # (``_dispatch_lane``) claims a free provider slot with a session advisory
    # lock ``(LANE_LOCK_NAMESPACE, provider id * LANE_SLOTS + slot)``, sends that
    # provider's due messages, and releases it. Messages are claimed with
    # ``FOR UPDATE SKIP LOCKED``, marked ``process`` with the lane's lock key
    # and committed before any provider sees them; the lock is held until their
    # results are committed. A ``process`` message whose lock nobody holds was
    # handed over by a worker that died: it is "in doubt" (``IN_DOUBT``).
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
        total = len(taken)
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
        return total

    def _due_where(self, company_ids=None):
        where = SQL(
            "state = 'outgoing' AND to_delete IS NOT TRUE AND is_test IS NOT TRUE"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)",
            fields.Datetime.now(),
        )
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
                    self._fail_in_doubt(key)
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

    @api.model
    def _recover_in_doubt(self):
        """Fail ``process`` messages whose lane lock is gone (dead worker)."""
        self.flush_model()
        self.env.cr.execute(
            "SELECT DISTINCT dispatch_lock FROM sms_sms"
            " WHERE state = 'process' AND dispatch_lock IS NOT NULL"
        )
        failed = self.browse()
        for (key,) in self.env.cr.fetchall():
            if not self._try_lane_lock(key):
                continue  # its lane is alive
            try:
                commit_batch(self.env)  # see rows committed before the lock
                failed |= self._fail_in_doubt(key)
                commit_batch(self.env)
            finally:
                self._release_lane(key)
        return failed

    @api.model
    def _fail_in_doubt(self, key):
        self.env.cr.execute(
            "SELECT id FROM sms_sms WHERE state = 'process' AND dispatch_lock = %s",
            (key,),
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        if not ids:
            return self.browse()
        # sudo: messages of a dead worker are failed whoever queued them.
        stuck = self.browse(ids).sudo()
        _logger.warning(
            "%s SMS were being sent by a worker that stopped: failed as in doubt",
            len(stuck),
        )
        stuck._fail_as_in_doubt()
        return stuck

    @api.model
    def _recover_stuck(self, company_ids=None):
        """Messages left ``process`` without a lane lock (sent outside a lane,
        or before lanes existed) for ``sms_mailing.stuck_after_minutes``: in
        doubt, failed, never resent blindly."""
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
        stuck = self.sudo().search(domain)
        if stuck:
            _logger.warning("%s SMS stuck in sending: marked failed", len(stuck))
            stuck._fail_as_in_doubt()
        return stuck

    # -- serving a lane ---------------------------------------------------
    @api.model
    def _serve_lane(self, provider, key, deadline, batch_size, route_cache):
        """Send ``provider``'s due messages until none is left, the deadline
        passes or the provider fails a whole request; returns ``(ids taken,
        the error of that whole request or None)``.

        Up to ``provider.inflight_requests`` requests wait on the network at
        once, each in its own thread with its own client; results are written
        here, in this worker's transaction, as each request returns.
        """
        # sudo: a lane (a cron) sends every company's queued messages.
        self = self.sudo().with_context(sms_skip_msg_notification=True)
        chunk_size = dispatch.request_size(
            provider._client_trait("max_batch"), provider.rate_limit
        )
        inflight = provider._inflight()
        claim_size = dispatch.claim_size(batch_size, chunk_size, inflight)
        pacer = dispatch.Pacer(provider.rate_limit)
        args = (provider, key, deadline, claim_size, chunk_size, pacer, route_cache)
        if inflight == 1:
            served = self._serve_serially(*args)
        else:
            served = self._serve_in_flight(inflight, *args)
        pacer.finish()
        return served

    @api.model
    def _serve_serially(
        self, provider, key, deadline, claim_size, chunk_size, pacer, route_cache
    ):
        # One client per chunk (dispatch.request_with_new_client): a modem's
        # line is held per chunk.
        taken = set()
        while True:
            rows = self._claim_batch(provider, key, claim_size)
            if not rows:
                return taken, None
            taken.update(row.id for row in rows)
            down = None
            for chunk in split_every(chunk_size, rows, list):
                if down is not None:
                    # The provider failed a whole request of this claim (line
                    # down, service unavailable, port busy, bad key): the next
                    # chunks would fail the same way, each after its own
                    # timeout, and hold the worker past its time budget. They
                    # share the outcome (retried later, or failed over).
                    answers = ({}, down)
                else:
                    pacer.wait(len(chunk))
                    answers = dispatch.request_with_new_client(
                        provider._open_client, dispatch.outgoing_messages(chunk)
                    )
                    if isinstance(answers[1], provider_api.ProviderError):
                        down = provider_api.shared_outcome(answers[1])
                results = dispatch.results_by_id(chunk, *answers, self.env._)
                self._results_need_no_fsync()
                self._write_lane_results(provider, chunk, results, route_cache)
                commit_batch(self.env)
            if down is not None or time.monotonic() >= deadline:
                return taken, down

    @api.model
    def _serve_in_flight(
        self,
        inflight,
        provider,
        key,
        deadline,
        claim_size,
        chunk_size,
        pacer,
        route_cache,
    ):
        # Only the network waits in the threads: each takes a client of the
        # pool and calls its send(); claims and results stay in this thread.
        # Slow start: one request alone until the provider answers one, so
        # that a provider that is down costs one request per run, not
        # ``inflight``. A whole request failed (service unavailable, bad key,
        # no funds) stops the lane as in _serve_serially: chunks claimed but
        # not sent share its outcome, nothing more is claimed.
        taken = set()
        down = None
        with contextlib.ExitStack() as stack:
            clients = queue.SimpleQueue()
            for _index in range(inflight):
                clients.put(stack.enter_context(provider._open_client()))
            pool = stack.enter_context(
                concurrent.futures.ThreadPoolExecutor(
                    inflight, thread_name_prefix="sms-lane"
                )
            )
            waiting = collections.deque()  # chunks claimed, not yet sent
            flying = {}  # future -> chunk
            exhausted = False
            probing = True
            while True:
                while down is None and len(flying) < (1 if probing else inflight):
                    if not waiting and not exhausted:
                        rows = []
                        if time.monotonic() < deadline or not taken:
                            rows = self._claim_batch(provider, key, claim_size)
                        exhausted = not rows
                        taken.update(row.id for row in rows)
                        waiting.extend(split_every(chunk_size, rows, list))
                    if not waiting:
                        break
                    chunk = waiting.popleft()
                    pacer.wait(len(chunk))
                    future = pool.submit(
                        dispatch.request_with_pooled_client,
                        clients,
                        dispatch.outgoing_messages(chunk),
                    )
                    flying[future] = chunk
                if not flying:
                    break
                finished, _pending = concurrent.futures.wait(
                    flying, return_when=concurrent.futures.FIRST_COMPLETED
                )
                self._results_need_no_fsync()
                for future in finished:
                    chunk = flying.pop(future)
                    answers = future.result()
                    if isinstance(answers[1], provider_api.ProviderError):
                        if down is None:
                            down = provider_api.shared_outcome(answers[1])
                    elif answers[1] is None:
                        probing = False
                    results = dispatch.results_by_id(chunk, *answers, self.env._)
                    self._write_lane_results(provider, chunk, results, route_cache)
                commit_batch(self.env)
        if waiting:
            for chunk in waiting:
                results = dispatch.results_by_id(chunk, {}, down, self.env._)
                self._write_lane_results(provider, chunk, results, route_cache)
            commit_batch(self.env)
        return taken, down

    @api.model
    def _results_need_no_fsync(self):
        """Commit this transaction (results only) without waiting for the disk.

        Losing it in a PostgreSQL crash leaves its messages ``process`` with a
        lock nobody holds: in doubt, never resent. A claim (``process``
        committed before the provider is called) is always synchronous: lost,
        it would let a message be sent again.
        """
        self.env.cr.execute("SET LOCAL synchronous_commit TO OFF")

    @api.model
    def _claim_batch(self, provider, key, limit):
        """Take up to ``limit`` due messages of ``provider``'s lane: marked
        ``process`` with the lane's lock key and committed (the guarantee that
        makes a resend impossible). Quiet-hours messages go back to wait;
        messages too long for the provider fail. Returns the :class:`Claimed`
        rows to send, in id order."""
        for _attempt in range(5):
            self.flush_model()
            query = SQL(
                "UPDATE sms_sms SET state = 'process', dispatch_lock = %s,"
                " attempts = COALESCE(attempts, 0) + 1, process_started_at = %s"
                " WHERE id IN (SELECT id FROM sms_sms WHERE route_provider_id = %s"
                " AND %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING id, uuid, number, body, parts, sms_mailing_id",
                key,
                fields.Datetime.now(),
                provider.id,
                self._due_where(),
                limit,
            )
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(query, log_exceptions=False)
                    rows = sorted(map(dispatch.Claimed._make, self.env.cr.fetchall()))
                break
            except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
                # Another lane committed some of these rows after our
                # snapshot: they are not ours. Look again in a new snapshot.
                commit_batch(self.env)
        else:
            return []
        if not rows:
            return []
        claimed = self.browse([row.id for row in rows])
        claimed.invalidate_recordset(
            ["state", "dispatch_lock", "attempts", "process_started_at"]
        )
        loose = self.browse([row.id for row in rows if not row.mailing_id])
        trackers = loose._trackers()
        if trackers:
            trackers._action_update_from_sms_state("process")
        commit_batch(self.env)
        mailing_ids = {row.mailing_id for row in rows if row.mailing_id}
        quiet = (
            self.env["sms.mailing"].browse(mailing_ids).filtered("quiet_hours")
            if mailing_ids
            else ()
        )
        deferred = {}
        if quiet:
            deferred = claimed.filtered(
                lambda s: s.sms_mailing_id in quiet
            )._defer_until()
            if deferred:
                claimed._write_deferred(deferred)
        too_long = [
            row
            for row in rows
            if row.parts > provider.max_parts and row.id not in deferred
        ]
        if too_long:
            self._write_results_of_rows(
                provider,
                too_long,
                {
                    row.id: provider_api.SendResult(
                        row.uuid,
                        provider_api.PERMANENT,
                        failure_type="unknown",
                        error=provider._too_long_error(row.parts),
                    )
                    for row in too_long
                },
            )
        if deferred or too_long:
            commit_batch(self.env)
            skip = set(deferred) | {row.id for row in too_long}
            return [row for row in rows if row.id not in skip]
        return rows
