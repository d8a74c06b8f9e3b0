import collections
import concurrent.futures
import contextlib
import dataclasses
import logging
import queue
import time
import typing
from collections import defaultdict
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.tools import SQL, split_every

from ..tools import campaign, quiet_hours, routing, segments, settings, transaction
from ..tools import provider as api_provider
from ..tools.transaction import commit_batch

_logger = logging.getLogger(__name__)

ENCODINGS = {segments.GSM7: "gsm7", segments.UCS2: "ucs2"}

# Dispatch lanes hold session advisory locks (LANE_LOCK_NAMESPACE, key) with
# key = provider id * LANE_SLOTS + slot ("SMSL" as the namespace).
LANE_LOCK_NAMESPACE = 0x534D534C
LANE_SLOTS = 16
# failure_type of a message that was being handed to a provider when its
# worker (or the provider's line) died: it may have been sent, it is never
# resent automatically.
IN_DOUBT = api_provider.FAILURE_IN_DOUBT
# After a dispatch, statuses are first asked for this much later.
FIRST_STATUS_POLL_DELAY = timedelta(seconds=30)


class SmsSms(models.Model):
    _inherit = "sms.sms"

    failure_type = fields.Selection(
        selection_add=[
            ("sms_expired", "Expired"),
            ("sms_not_delivered", "Not Delivered"),
            ("sms_invalid_destination", "Invalid Destination"),
            ("sms_not_allowed", "Not Allowed"),
            ("sms_rejected", "Rejected"),
            (IN_DOUBT, "Maybe sent (check before retrying)"),
            (api_provider.FAILURE_CREDENTIALS, "API key or password rejected"),
        ]
    )
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, index=True
    )
    provider_id = fields.Many2one("sms.provider", index="btree_not_null", readonly=True)
    requested_provider_id = fields.Many2one(
        "sms.provider",
        "Requested provider",
        readonly=True,
        help="Send only through this provider (chosen on the card or the mailing).",
    )
    provider_message_id = fields.Char(
        "Provider reference", index="btree_not_null", readonly=True, copy=False
    )
    parts = fields.Integer(compute="_compute_segments", store=True, precompute=True)
    encoding = fields.Selection(
        [("gsm7", "GSM-7"), ("ucs2", "UCS-2")],
        compute="_compute_segments",
        store=True,
        precompute=True,
    )
    cost = fields.Float(digits=(16, 4), readonly=True, copy=False)
    currency_id = fields.Many2one(related="provider_id.currency_id")
    attempts = fields.Integer(readonly=True, copy=False)
    next_attempt_at = fields.Datetime("Next attempt", readonly=True, copy=False)
    process_started_at = fields.Datetime(readonly=True, copy=False)
    sent_at = fields.Datetime("Sent on", readonly=True, copy=False)
    delivered_at = fields.Datetime("Delivered on", readonly=True, copy=False)
    status_checked_at = fields.Datetime(readonly=True, copy=False)
    error_message = fields.Char("Error", readonly=True, copy=False)
    # Indexed by sms_sms_mailing_number_idx (sms_mailing_id, number), see init().
    route_provider_id = fields.Many2one(
        "sms.provider",
        "Next provider",
        readonly=True,
        copy=False,
        help="The provider whose lane sends this queued message (set by routing).",
    )
    dispatch_lock = fields.Integer(
        readonly=True,
        copy=False,
        help="Advisory lock key of the lane sending this message.",
    )
    sms_mailing_id = fields.Many2one(
        "sms.mailing",
        "Mailing",
        readonly=True,
        ondelete="cascade",
    )
    is_test = fields.Boolean(
        "Test message",
        readonly=True,
        help="A test send: it is sent once and never again by the queue.",
    )

    optout_at = fields.Datetime(
        "Opted out by link",
        readonly=True,
        copy=False,
        help="When the recipient confirmed the opt-out link of this message.",
    )
    link_click_ids = fields.One2many(
        "link.tracker.click", "sms_sms_id", "Clicks", readonly=True
    )
    clicked = fields.Boolean(compute="_compute_clicked", search="_search_clicked")

    def init(self):
        # The dispatcher's hot query: outgoing messages in id order.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_outgoing_id_idx "
            "ON sms_sms (id) WHERE state = 'outgoing'"
        )
        # A mailing's messages, and the launch's duplicate lookup (a mailing's
        # messages to given numbers). The field's own index on sms_mailing_id
        # alone is dropped: during a launch the planner's statistics do not
        # know the new mailing yet, and it chose that index, then read and
        # filtered every message already queued, in each batch.
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_mailing_number_idx "
            "ON sms_sms (sms_mailing_id, number) WHERE sms_mailing_id IS NOT NULL"
        )
        self.env.cr.execute("DROP INDEX IF EXISTS sms_sms__sms_mailing_id_index")
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_lane_idx "
            "ON sms_sms (route_provider_id, id) WHERE state = 'outgoing'"
        )
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_unrouted_idx "
            "ON sms_sms (id) WHERE state = 'outgoing' AND route_provider_id IS NULL"
        )
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_process_lock_idx "
            "ON sms_sms (dispatch_lock) WHERE state = 'process'"
        )
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_pending_provider_idx "
            "ON sms_sms (provider_id, status_checked_at) WHERE state = 'pending'"
        )

    @api.depends("link_click_ids")
    def _compute_clicked(self):
        for sms in self:
            sms.clicked = bool(sms.link_click_ids)

    def _search_clicked(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise NotImplementedError(_("Unsupported search on Clicked."))
        positive = (operator == "=") == value
        return [("link_click_ids", "!=" if positive else "=", False)]

    @api.depends("body")
    def _compute_segments(self):
        cache = {}
        for sms in self:
            body = sms.body or ""
            if body not in cache:
                cache[body] = segments.analyze(body)
            info = cache[body]
            sms.parts = info.parts
            sms.encoding = ENCODINGS[info.encoding]

    @api.model_create_multi
    def create(self, vals_list):
        requested = self.env.context.get("sms_requested_provider_id")
        if requested:
            for vals in vals_list:
                vals.setdefault("requested_provider_id", requested)
        records = super().create(vals_list)
        if any(vals.get("state", "outgoing") == "outgoing" for vals in vals_list):
            if records.filtered(lambda s: s.state == "outgoing")._routed():
                self._trigger_lanes()
        return records

    # ------------------------------------------------------------------
    # Odoo's sending entry points
    # ------------------------------------------------------------------
    def _send(self, unlink_failed=False, unlink_sent=True, raise_exception=False):
        """Route through our providers when the company has an active one.

        Messages sent through our providers are kept (history), whatever
        ``unlink_sent`` says; the others keep Odoo's IAP behaviour.
        """
        routed = self._routed()
        iap = self - routed
        if iap:
            super(SmsSms, iap)._send(
                unlink_failed=unlink_failed,
                unlink_sent=unlink_sent,
                raise_exception=raise_exception,
            )
        if routed:
            routed._mark_processing()
            routed._send_through_providers(auto_commit=False)
        return None

    @api.model
    def _process_queue(self, ids=None):
        """Odoo's hourly queue cron: ours first, then IAP for the rest."""
        company_ids = self._provider_company_ids()
        if not company_ids:
            return super()._process_queue(ids=ids)
        self._dispatch_lane()
        if False in company_ids:
            return None
        domain = [
            ("state", "=", "outgoing"),
            ("to_delete", "!=", True),
            ("company_id", "not in", list(company_ids)),
        ]
        if ids:
            domain.append(("id", "in", ids))
        iap_ids = self.search(domain, limit=10000).ids
        return super()._process_queue(ids=iap_ids) if iap_ids else None

    # ------------------------------------------------------------------
    # Routing helpers
    # ------------------------------------------------------------------
    @api.model
    def _provider_company_ids(self):
        """Companies whose SMS go through our providers (``False`` = all).

        Asked on every SMS created or sent: cached in the registry, cleared
        whenever a provider is created, changed or deleted.
        """
        return set(self.env["sms.provider"]._active_company_ids())

    def _routed(self):
        company_ids = self._provider_company_ids()
        if not company_ids:
            return self.browse()
        if False in company_ids:
            return self
        return self.filtered(lambda s: (s.company_id.id or False) in company_ids)

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

    # -- routing ----------------------------------------------------------
    @api.model
    def _route_queue(self, company_ids, route_cache, limit=5000):
        """Give unrouted outgoing messages their provider lane (the first
        matching provider); fail those no active provider serves."""
        self.flush_model()
        query = SQL(
            "SELECT id, number, company_id, requested_provider_id FROM sms_sms"
            " WHERE state = 'outgoing'"
            " AND route_provider_id IS NULL AND to_delete IS NOT TRUE"
            " AND is_test IS NOT TRUE %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            SQL("AND company_id = ANY(%s)", list(company_ids))
            if False not in company_ids
            else SQL(""),
            limit,
        )
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, log_exceptions=False)
                rows = self.env.cr.fetchall()
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            return  # another lane is routing them
        if not rows:
            return
        by_provider = defaultdict(list)
        requested = {}
        for sms_id, number, company_id, requested_id in rows:
            if requested_id:
                if requested_id not in requested:
                    # sudo: only reads whether the requested provider is active.
                    provider = self.env["sms.provider"].sudo().browse(requested_id)
                    requested[requested_id] = provider.active
                by_provider[requested_id if requested[requested_id] else None].append(
                    sms_id
                )
                continue
            cands = routing.order_candidates(
                number or "", self._route_table(company_id, route_cache)
            )
            by_provider[cands[0] if cands else None].append(sms_id)
        unserved_ids = by_provider.pop(None, [])
        self._write_routes(by_provider)
        if unserved_ids:
            # sudo: failing unroutable messages is the dispatcher's job.
            unserved = self.browse(unserved_ids).sudo()
            unserved._write_results_of(
                None, {sms.id: _no_provider(sms) for sms in unserved}
            )
            unserved.mail_message_id._notify_message_notification_update()

    @api.model
    def _routing_elsewhere(self, company_ids):
        """Whether due messages wait for a routing another transaction holds."""
        if transaction.testing():
            return False
        self.env.cr.execute(
            SQL(
                "SELECT EXISTS(SELECT 1 FROM sms_sms WHERE %s"
                " AND route_provider_id IS NULL)",
                self._due_where(company_ids),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _reset_routes(self):
        """Route queued messages again (providers changed)."""
        self.flush_model(["route_provider_id", "state"])
        self.env.cr.execute(
            "UPDATE sms_sms SET route_provider_id = NULL"
            " WHERE state = 'outgoing' AND route_provider_id IS NOT NULL"
        )
        self.invalidate_model(["route_provider_id"])

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
                key = provider.id * LANE_SLOTS + slot
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
            "SELECT pg_try_advisory_lock(%s, %s)", (LANE_LOCK_NAMESPACE, key)
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _release_lane(self, key):
        if self.env.cr.closed:
            return
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", (LANE_LOCK_NAMESPACE, key)
                )
        except pg_errors.InFailedSqlTransaction:
            # The transaction failed: roll it back (its messages stay
            # ``process``, in doubt) and release the lane all the same.
            self.env.cr.rollback()
            self.env.cr.execute(
                "SELECT pg_advisory_unlock(%s, %s)", (LANE_LOCK_NAMESPACE, key)
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
    def _in_doubt_message(self):
        return _(
            "Sending was interrupted (server stopped or crashed) while the "
            "message was being handed to the provider: it may have been sent. "
            "It was not sent again automatically so that nobody receives it "
            "twice: check with the provider, then retry it if needed."
        )

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

    def _fail_as_in_doubt(self):
        self.write(
            {
                "state": "error",
                "failure_type": IN_DOUBT,
                "error_message": self._in_doubt_message(),
                "dispatch_lock": False,
            }
        )
        self._update_trackers("error", IN_DOUBT)
        self.mail_message_id._notify_message_notification_update()

    def _mark_processing(self):
        """Mark as being sent (one more attempt) before a provider is called."""
        if not self:
            return
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms SET state = 'process',"
                " attempts = COALESCE(attempts, 0) + 1,"
                " process_started_at = %s WHERE id = ANY(%s)",
                fields.Datetime.now(),
                self.ids,
            )
        )
        self.invalidate_recordset(["state", "attempts", "process_started_at"])
        self.sms_tracker_id._action_update_from_sms_state("process")

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
        chunk_size = provider._client_trait("max_batch")
        if provider.rate_limit:
            chunk_size = max(1, min(chunk_size, int(provider.rate_limit)))
        inflight = provider._inflight()
        claim_size = max(1, min(batch_size, chunk_size * inflight))
        pacer = _Pacer(provider.rate_limit)
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
        # One client per chunk (_send_chunk): a modem's line is held per chunk.
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
                    answers = _send_chunk(provider, _outgoing_of(chunk))
                    if isinstance(answers[1], api_provider.ProviderError):
                        down = api_provider.shared_outcome(answers[1])
                results = _results_of(self.env, chunk, *answers)
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
                    future = pool.submit(_send_pooled, clients, _outgoing_of(chunk))
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
                    if isinstance(answers[1], api_provider.ProviderError):
                        if down is None:
                            down = api_provider.shared_outcome(answers[1])
                    elif answers[1] is None:
                        probing = False
                    results = _results_of(self.env, chunk, *answers)
                    self._write_lane_results(provider, chunk, results, route_cache)
                commit_batch(self.env)
        if waiting:
            for chunk in waiting:
                results = _results_of(self.env, chunk, {}, down)
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
                    rows = sorted(map(Claimed._make, self.env.cr.fetchall()))
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
                    row.id: api_provider.SendResult(
                        row.uuid,
                        api_provider.PERMANENT,
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

    def _outgoing(self):
        """Plain messages for a client."""
        return [
            api_provider.OutgoingMessage(sms.uuid, sms.number or "", sms.body or "")
            for sms in self
        ]

    @api.model
    def _write_results_of_rows(self, provider, rows, results):
        self.browse([row.id for row in rows])._write_results_of(provider, results)

    @api.model
    def _write_lane_results(self, provider, rows, results, route_cache):
        """Store a lane's results for its claimed ``rows``.

        Accepted messages (the hot path) are written with one statement;
        a temporary failure with another matching provider moves the message
        to that provider's lane at once (a hop is not an attempt); the rest
        goes through :meth:`_write_results_of`."""
        accepted = [
            row
            for row in rows
            if results[row.id].status in (api_provider.ACCEPTED, api_provider.DELIVERED)
        ]
        if accepted:
            self._write_accepted(provider, accepted, results)
        accepted_ids = {row.id for row in accepted}
        others = [row for row in rows if row.id not in accepted_ids]
        if not others:
            return
        records = self.browse([row.id for row in others])
        transient = records.filtered(
            lambda s: results[s.id].status == api_provider.TRANSIENT
        )
        hops = defaultdict(list)
        if transient:
            candidates = transient._candidates(route_cache)
            for sms in transient:
                cands = candidates.get(sms.id) or []
                if sms.is_test or provider.id not in cands:
                    continue
                position = cands.index(provider.id)
                if position + 1 < len(cands):
                    hops[cands[position + 1]].append(sms.id)
        moved = {sms_id for ids in hops.values() for sms_id in ids}
        final = {row.id: results[row.id] for row in others if row.id not in moved}
        if final:
            self.browse(list(final))._write_results_of(
                provider, final, route_cache=route_cache
            )
        for next_provider, ids in hops.items():
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_sms SET state = 'outgoing', route_provider_id = %s,"
                    " dispatch_lock = NULL, next_attempt_at = NULL,"
                    " attempts = GREATEST(COALESCE(attempts, 0) - 1, 0)"
                    " WHERE id = ANY(%s)",
                    next_provider,
                    ids,
                )
            )
            hopped = self.browse(ids)
            hopped.invalidate_recordset(
                ["state", "route_provider_id", "dispatch_lock", "attempts"]
            )
            hopped._update_trackers("outgoing", False)
        messages = self.browse(
            [row.id for row in others if not row.mailing_id and row.id in final]
        ).mail_message_id
        if messages:
            messages._notify_message_notification_update()

    @api.model
    def _write_accepted(self, provider, rows, results):
        """One UPDATE for messages the provider took (no ORM read or write
        per message: this is the path every campaign message takes)."""
        now = fields.Datetime.now()
        price = provider.price_per_part
        ids, states, references, costs, parts = [], [], [], [], []
        for row in rows:
            result = results[row.id]
            count = result.parts or row.parts
            ids.append(row.id)
            delivered = result.status == api_provider.DELIVERED
            states.append("sent" if delivered else "pending")
            references.append(result.provider_message_id)
            costs.append(result.cost if result.cost is not None else count * price)
            parts.append(count)
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms AS s SET state = v.state,"
                " provider_message_id = v.reference,"
                " cost = v.cost, parts = v.parts, provider_id = %s, sent_at = %s,"
                " delivered_at = CASE WHEN v.state = 'sent' THEN %s"
                " ELSE s.delivered_at END, failure_type = NULL, error_message = NULL,"
                " next_attempt_at = NULL, dispatch_lock = NULL, write_date = %s,"
                " write_uid = %s"
                " FROM unnest(%s::int[], %s::varchar[], %s::varchar[], %s::numeric[],"
                " %s::int[]) AS v(id, state, reference, cost, parts) WHERE s.id = v.id",
                provider.id,
                now,
                now,
                now,
                self.env.uid,
                ids,
                states,
                references,
                costs,
                parts,
            )
        )
        records = self.browse(ids)
        records.invalidate_recordset(
            [
                "state",
                "provider_message_id",
                "cost",
                "parts",
                "provider_id",
                "sent_at",
                "delivered_at",
                "failure_type",
                "error_message",
                "next_attempt_at",
                "dispatch_lock",
                "write_date",
                "write_uid",
            ]
        )
        loose = {row.id for row in rows if not row.mailing_id}
        if loose:
            # Chatter SMS: their notifications follow (mailings have none).
            loose_records = self.browse(sorted(loose))
            by_state = defaultdict(list)
            for sms_id, state in zip(ids, states, strict=True):
                if sms_id in loose:
                    by_state[state].append(sms_id)
            for state, state_ids in by_state.items():
                self.browse(state_ids)._update_trackers(state, False)
            loose_records.mail_message_id._notify_message_notification_update()

    def _candidates(self, route_cache=None):
        """Provider failover list (ids, best first) for each message of ``self``.

        ``route_cache`` (a dict kept by the caller) holds each company's
        providers with their parsed prefixes, so routing is pure Python.
        """
        cache = {} if route_cache is None else route_cache
        result = {}
        for sms in self:
            requested = sms.requested_provider_id
            if requested:
                # sudo: only whether the requested provider is active.
                result[sms.id] = [requested.id] if requested.sudo().active else []
                continue
            table = self._route_table(sms.company_id.id, cache)
            result[sms.id] = routing.order_candidates(sms.number or "", table)
        return result

    @api.model
    def _route_table(self, company_id, cache):
        """``[(provider id, prefixes, sequence)]`` of a company, kept in ``cache``."""
        company_id = company_id or self.env.company.id
        table = cache.get(company_id)
        if table is None:
            # sudo: routing reads providers, which only administrators may.
            providers = (
                self.env["sms.provider"]
                .sudo()
                ._get_active_providers(self.env["res.company"].browse(company_id))
            )
            table = cache[company_id] = [
                (p.id, routing.parse_prefixes(p.number_prefixes), p.sequence)
                for p in providers
            ]
        return table

    def _defer_until(self):
        """``{sms_id: datetime}`` of mailing messages held by quiet hours."""
        result = {}
        now = fields.Datetime.now()
        for sms in self.filtered(
            lambda s: s.sms_mailing_id.quiet_hours and not s.is_test
        ):
            mailing = sms.sms_mailing_id
            tz = quiet_hours.timezone_of(sms.partner_id.tz, sms.number)
            when = quiet_hours.next_allowed(
                now, tz, mailing.quiet_start, mailing.quiet_end
            )
            if when:
                result[sms.id] = when
        return result

    def _send_through_providers(self, auto_commit=False):
        """Hand messages already marked ``process`` to their providers.

        Transient failures fail over to the next matching provider, then are
        retried later with exponential backoff; permanent ones fail at once.
        """
        # sudo: these messages were created (and so checked) by the caller;
        # sending writes provider results and reads provider credentials that
        # no SMS user may read, and nothing of them is returned to the caller.
        self = self.sudo().with_context(sms_skip_msg_notification=True)
        deferred = self._defer_until()
        if deferred:
            self._write_deferred(deferred)
        todo = self.filtered(lambda s: s.id not in deferred)
        candidates = todo._candidates()
        no_provider = todo.filtered(lambda s: not candidates[s.id])
        unserved = {sms.id: _no_provider(sms) for sms in no_provider}
        if unserved:
            no_provider._write_results_of(None, unserved)
        pending = {sid: cands for sid, cands in candidates.items() if cands}
        # sudo: the providers hand over the messages (credentials stay inside)
        Provider = self.env["sms.provider"].sudo()
        while pending:
            by_provider = defaultdict(list)
            for sms_id, cands in pending.items():
                by_provider[cands[0]].append(sms_id)
            next_round = {}
            for provider_id, sms_ids in by_provider.items():
                provider = Provider.browse(provider_id)
                messages = self.browse(sms_ids)
                results = messages._call_provider(provider)
                final = {}
                for sms_id, result in results.items():
                    if (
                        result.status == api_provider.TRANSIENT
                        and len(pending[sms_id]) > 1
                    ):
                        next_round[sms_id] = pending[sms_id][1:]
                    else:
                        final[sms_id] = result
                self.browse(list(final))._write_results_of(provider, final)
                if auto_commit:
                    commit_batch(self.env)
            pending = next_round
        self.mail_message_id._notify_message_notification_update()

    def _call_provider(self, provider):
        """Send ``self`` through ``provider``: ``{sms_id: SendResult}``."""
        results = {}
        too_long = self.filtered(lambda s: s.parts > provider.max_parts)
        for sms in too_long:
            results[sms.id] = api_provider.SendResult(
                sms.uuid,
                api_provider.PERMANENT,
                failure_type="unknown",
                error=provider._too_long_error(sms.parts),
            )
        todo = self - too_long
        if not todo:
            return results
        size = provider._client_trait("max_batch")
        if provider.rate_limit:
            size = max(1, min(size, int(provider.rate_limit)))
        pacer = _Pacer(provider.rate_limit)
        down = None
        for chunk in split_every(size, todo.ids, self.browse):
            if down is not None:
                # The provider failed a whole request of this batch (line down,
                # service unavailable, port busy, bad key): the next chunks
                # would fail the same way, each after its own timeout, and hold
                # the worker past its time budget. They share the outcome.
                results.update(chunk._results_of({}, down))
                continue
            pacer.wait(len(chunk))
            answers, error = _send_chunk(provider, chunk._outgoing())
            results.update(chunk._results_of(answers, error))
            if isinstance(error, api_provider.ProviderError):
                down = api_provider.shared_outcome(error)  # the whole request failed
        pacer.finish()
        return results

    def _rows(self):
        return [
            Claimed(s.id, s.uuid, s.number, s.body, s.parts, s.sms_mailing_id.id)
            for s in self
        ]

    def _results_of(self, answers, error):
        """``{sms_id: SendResult}`` from what :func:`_send_with` returned."""
        return _results_of(self.env, self._rows(), answers, error)

    def _write_results_of(self, provider, results, route_cache=None):
        """Store the providers' answers, one write per resulting state.

        A message retried later goes back to its first provider's lane."""
        now = fields.Datetime.now()
        groups = defaultdict(list)
        per_record = []
        retry_ids = []
        for sms in self:
            result = results[sms.id]
            status = result.status
            if status in (api_provider.ACCEPTED, api_provider.DELIVERED):
                state = "sent" if status == api_provider.DELIVERED else "pending"
                parts = result.parts or sms.parts
                cost = result.cost
                if cost is None and provider:
                    cost = parts * provider.price_per_part
                per_record.append((sms.id, result.provider_message_id, cost, parts))
                key = (state, False, False, None)
            elif (
                status == api_provider.TRANSIENT
                and not sms.is_test
                and sms.attempts < (provider.max_attempts if provider else 1)
            ):
                delay = routing.backoff_seconds(
                    sms.attempts,
                    base=settings.get(self.env, "sms_mailing.retry_base_seconds"),
                )
                key = ("outgoing", False, result.error, now + timedelta(seconds=delay))
                retry_ids.append(sms.id)
            else:
                error = result.error
                if status == api_provider.TRANSIENT:
                    error = _(
                        "%(error)s (gave up after %(count)s attempts)",
                        error=error,
                        count=sms.attempts,
                    )
                key = ("error", result.failure_type or "unknown", error, None)
            groups[key].append(sms.id)
        provider_id = provider.id if provider else False
        for (state, failure_type, error, next_at), ids in groups.items():
            records = self.browse(ids)
            values = {
                "state": state,
                "failure_type": failure_type,
                "error_message": error or False,
                "next_attempt_at": next_at or False,
                "provider_id": provider_id,
                "dispatch_lock": False,
            }
            if state in ("pending", "sent"):
                values["sent_at"] = now
            if state == "sent":
                values["delivered_at"] = now
            records.write(values)
            records._update_trackers(state, failure_type)
        if per_record:
            self._write_provider_answers(per_record)
        if retry_ids:
            retry = self.browse(retry_ids)
            firsts = retry._candidates(route_cache)
            by_first = defaultdict(list)
            for sms_id, cands in firsts.items():
                by_first[cands[0] if cands else None].append(sms_id)
            self._write_routes(by_first)

    @api.model
    def _write_routes(self, ids_by_provider):
        """Store the lane of messages: ``{provider id (None: no lane): [sms ids]}``,
        one statement per provider."""
        for provider_id, sms_ids in ids_by_provider.items():
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_sms SET route_provider_id = %s WHERE id = ANY(%s)",
                    provider_id,
                    sms_ids,
                )
            )
        self.invalidate_model(["route_provider_id"])

    def _write_provider_answers(self, rows):
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms AS s SET provider_message_id = v.reference,"
                " cost = v.cost, parts = v.parts"
                " FROM (VALUES %s) AS v(id, reference, cost, parts) WHERE s.id = v.id",
                SQL(", ").join(
                    SQL("(%s, %s::varchar, %s::numeric, %s)", *row) for row in rows
                ),
            )
        )
        self.browse([row[0] for row in rows]).invalidate_recordset(
            ["provider_message_id", "cost", "parts"]
        )

    def _write_deferred(self, deferred):
        by_date = defaultdict(list)
        for sms_id, when in deferred.items():
            by_date[when].append(sms_id)
        for when, ids in by_date.items():
            records = self.browse(ids)
            records.flush_recordset()
            # Waiting is not an attempt.
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_sms SET state = 'outgoing', next_attempt_at = %s,"
                    " dispatch_lock = NULL,"
                    " attempts = GREATEST(COALESCE(attempts, 0) - 1, 0)"
                    " WHERE id = ANY(%s)",
                    when,
                    ids,
                )
            )
            records.invalidate_recordset(
                ["state", "next_attempt_at", "attempts", "dispatch_lock"]
            )
            records._update_trackers("outgoing", False)

    def _trackers(self):
        """``sms.tracker`` of these messages (one query; none for mailings)."""
        uuids = [sms.uuid for sms in self if sms.uuid and not sms.sms_mailing_id]
        if not uuids:
            return self.env["sms.tracker"]
        # sudo: trackers follow their message's state; nothing is shown to the user.
        return self.env["sms.tracker"].sudo().search([("sms_uuid", "in", uuids)])

    def _update_trackers(self, state, failure_type):
        trackers = self._trackers()
        if not trackers:
            return
        # Notifications and mailing traces know neither "in doubt" nor
        # "credentials rejected".
        failure_type = api_provider.TRACKER_FAILURE_TYPES.get(
            failure_type, failure_type
        )
        if state == "error" and failure_type in self.DELIVERY_ERRORS:
            # Odoo's tracker takes the delivery error without its "sms_" prefix.
            trackers._action_update_from_provider_error(
                failure_type.removeprefix("sms_")
            )
        else:
            trackers._action_update_from_sms_state(
                state, failure_type=failure_type or False
            )

    # ------------------------------------------------------------------
    # Delivery statuses
    # ------------------------------------------------------------------
    @api.model
    def _poll_statuses(self, limit=None):
        """Ask providers with a status API about messages still ``pending``."""
        limit = limit or settings.get(self.env, "sms_mailing.status_poll_limit")
        max_age = settings.get(self.env, "sms_mailing.status_max_age_hours")
        since = fields.Datetime.now() - timedelta(hours=max_age)
        updated = self.browse()
        # sudo: the status cron asks every provider about its own messages.
        for provider in self.env["sms.provider"].sudo().search([("active", "=", True)]):
            messages = self.sudo().search(
                [
                    ("provider_id", "=", provider.id),
                    ("state", "=", "pending"),
                    ("provider_message_id", "!=", False),
                    ("sent_at", ">=", since),
                ],
                order="status_checked_at ASC NULLS FIRST, id",
                limit=limit,
            )
            if not messages:
                continue
            try:
                with provider._open_client() as client:
                    if not client.supports_status:
                        continue
                    for chunk in split_every(
                        client.status_batch, messages.ids, self.browse
                    ):
                        updates = client.statuses(chunk.mapped("provider_message_id"))
                        chunk.write({"status_checked_at": fields.Datetime.now()})
                        updated |= provider._apply_status_updates(updates)
                        commit_batch(self.env)
            except (api_provider.ProviderError, api_provider.NotSupported) as err:
                _logger.warning("Status poll of %s failed: %s", provider.name, err)
        return updated

    @api.model
    def _apply_status_updates(self, provider, updates):
        updates = [u for u in updates if u.provider_message_id and not u.transient]
        if not updates:
            return self.browse()
        references = list({u.provider_message_id for u in updates})
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT ON (provider_message_id) provider_message_id, id"
                " FROM sms_sms WHERE provider_id = %s AND provider_message_id = ANY(%s)"
                " ORDER BY provider_message_id, (state = 'pending') DESC, id DESC",
                provider.id,
                references,
            )
        )
        sms_id_by_reference = dict(self.env.cr.fetchall())
        now = fields.Datetime.now()
        touched = self.browse()
        for update in updates:
            sms = self.browse(sms_id_by_reference.get(update.provider_message_id))
            if not sms:
                continue
            values = {}
            if update.cost is not None:
                values["cost"] = update.cost
            if update.state == api_provider.STATE_DELIVERED and sms.state != "sent":
                values.update(
                    state="sent",
                    delivered_at=update.at or now,
                    failure_type=False,
                    error_message=False,
                )
            elif update.state == api_provider.STATE_ERROR and sms.state in (
                "pending",
                "process",
            ):
                values.update(
                    state="error",
                    failure_type=update.failure_type or "sms_not_delivered",
                    error_message=update.error or False,
                )
            if values:
                sms.write(values)
                if "state" in values:
                    sms._update_trackers(values["state"], values.get("failure_type"))
                touched |= sms
        touched.mail_message_id._notify_message_notification_update()
        return touched

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    @api.model
    def _action_open(self, domain, context=None):
        """The SMS list on the messages matching ``domain``."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_mailing.sms_sms_action"
        )
        action.update(domain=domain, context=context or {})
        return action

    def action_retry(self):
        """Queue failed or canceled messages again."""
        retry = self.filtered(lambda s: s.state in ("error", "canceled"))
        retry.write(
            {
                "state": "outgoing",
                "failure_type": False,
                "error_message": False,
                "next_attempt_at": False,
                "attempts": 0,
            }
        )
        retry._update_trackers("outgoing", False)
        return retry

    # ------------------------------------------------------------------
    # Opt-out link
    # ------------------------------------------------------------------
    @api.model
    def _from_optout_token(self, token):
        """The mailing message an opt-out token names, or an empty recordset
        for a malformed, forged or expired (message deleted) token."""
        # sudo: the token is signed with the database secret; only its holder,
        # the recipient of that message, reaches the message through it.
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        sms_id = campaign.verify(secret, token)
        if not sms_id or sms_id >= 2**31:  # ids are PostgreSQL integers
            return self.browse()
        sms = self.sudo().browse(sms_id).exists()
        if not sms.sms_mailing_id or not sms.number:
            return self.browse()
        return sms

    def _optout_partners(self):
        self.ensure_one()
        # sudo: the contacts with the number that received this message.
        return (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("phone_sanitized", "=", self.number)])
        )

    def _is_opted_out(self):
        self.ensure_one()
        # sudo: whether this message's own number is blacklisted (a yes/no).
        Blacklist = self.env["phone.blacklist"].sudo()
        return bool(Blacklist.search_count([("number", "=", self.number)], limit=1))

    def _optout_by_link(self):
        """The recipient confirmed the opt-out link: no more SMS mailings to
        this number (Do not use SMS, phone blacklist), logged on the contacts
        and counted on the mailing."""
        self.ensure_one()
        if self.optout_at and self._is_opted_out():
            return  # the page was posted twice: nothing more to do
        mailing = self.sms_mailing_id
        note_env = self.env(context=dict(self.env.context, lang=mailing.user_id.lang))
        reason = note_env._(
            "Opted out from mailing %(mailing)s by link.", mailing=mailing.name
        )
        # sudo: the visitor holds this message's signed token (see
        # _from_optout_token); only that number is opted out.
        self.env["phone.blacklist"].sudo()._add([self.number], message=reason)
        partners = self._optout_partners()
        partners.write({"sms_opt_out": True})
        for partner in partners:
            partner.message_post(body=reason, subtype_xmlid="mail.mt_note")
        if not self.optout_at:
            self.sudo().optout_at = fields.Datetime.now()

    def _undo_optout_by_link(self):
        """The recipient changed their mind on the opt-out page."""
        self.ensure_one()
        mailing = self.sms_mailing_id
        note_env = self.env(context=dict(self.env.context, lang=mailing.user_id.lang))
        reason = note_env._(
            "Opt-out from mailing %(mailing)s undone by link.", mailing=mailing.name
        )
        # sudo: as in _optout_by_link, the signed token names this number only.
        self.env["phone.blacklist"].sudo()._remove([self.number], message=reason)
        partners = self._optout_partners().filtered("sms_opt_out")
        partners.write({"sms_opt_out": False})
        for partner in partners:
            partner.message_post(body=reason, subtype_xmlid="mail.mt_note")
        self.sudo().optout_at = False


class Claimed(typing.NamedTuple):
    """A message claimed by a lane, as its claim returned it."""

    id: int
    uuid: str
    number: str
    body: str
    parts: int
    mailing_id: int


def _outgoing_of(rows):
    return [
        api_provider.OutgoingMessage(row.uuid, row.number or "", row.body or "")
        for row in rows
    ]


def _results_of(env, rows, answers, error):
    """``{id: SendResult}`` of claimed ``rows`` from what :func:`_send_with`
    returned (pure: the lane's view of its messages)."""
    if error is not None:
        if isinstance(error, api_provider.ProviderError):
            failed = api_provider.SendResult(
                None,
                api_provider.TRANSIENT if error.transient else api_provider.PERMANENT,
                failure_type=error.failure_type,
                error=error.message,
            )
        else:
            # A fault of the client itself, maybe after the request left:
            # never resend automatically.
            failed = api_provider.SendResult(
                None,
                api_provider.PERMANENT,
                failure_type="unknown",
                error=env._("Unexpected provider error: %(error)s", error=error),
            )
        return {row.id: dataclasses.replace(failed, key=row.uuid) for row in rows}
    missing = None
    results = {}
    for row in rows:
        result = answers.get(row.uuid)
        if result is None:
            missing = missing or api_provider.SendResult(
                None,
                api_provider.PERMANENT,
                failure_type="unknown",
                error=env._(
                    "The provider gave no result for this message; it was not "
                    "sent again so that nobody receives it twice."
                ),
            )
            result = dataclasses.replace(missing, key=row.uuid)
        results[row.id] = result
    return results


def _no_provider(sms):
    return api_provider.SendResult(
        sms.uuid,
        api_provider.PERMANENT,
        failure_type="sms_country_not_supported",
        error=sms.env._(
            "No active SMS provider can send to %(number)s.",
            number=sms.number or sms.env._("an empty number"),
        ),
    )


def _send_with(client, outgoing):
    """``(answers by key, error)``: the one place a client sends (pure, no ORM,
    safe in a thread)."""
    try:
        return {result.key: result for result in client.send(outgoing)}, None
    except api_provider.ProviderError as err:
        return {}, err
    except Exception as err:  # pylint: disable=broad-except
        _logger.exception("SMS provider client crashed")
        return {}, err


def _send_chunk(provider, outgoing):
    """``(answers by key, error)`` of one request through ``provider``. Its
    client is opened for this request only: a provider that guards a shared
    line (a modem) is held for one chunk at a time, not for a whole lane."""
    try:
        with provider._open_client() as client:
            return _send_with(client, outgoing)
    except api_provider.ProviderError as err:
        return {}, err  # the client could not be opened (port busy, bad config...)


def _send_pooled(clients, outgoing):
    """Send with a client of the lane's pool (run in a lane thread)."""
    client = clients.get()
    try:
        return _send_with(client, outgoing)
    finally:
        clients.put(client)


class _Pacer:
    """Space the requests of a rate-limited provider: a chunk of ``n``
    messages may start ``n / rate`` seconds after the previous one did."""

    def __init__(self, rate):
        self.rate = rate or 0.0
        self.last = None  # (start, share) of the previous chunk

    def _sleep_share(self):
        if self.last is not None:
            start, share = self.last
            time.sleep(max(0.0, share - (time.monotonic() - start)))

    def wait(self, count):
        if not self.rate:
            return
        self._sleep_share()
        self.last = (time.monotonic(), count / self.rate)

    def finish(self):
        """Wait for the last chunk's share before the lane is released."""
        if self.rate:
            self._sleep_share()
            self.last = None
