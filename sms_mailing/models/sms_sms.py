import logging
import threading
import time
from collections import defaultdict
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.tools import SQL, split_every

from ..tools import campaign, quiet_hours, routing, segments
from ..tools import provider as api_provider

_logger = logging.getLogger(__name__)

ENCODINGS = {segments.GSM7: "gsm7", segments.UCS2: "ucs2"}


def _testing():
    return getattr(threading.current_thread(), "testing", False)


def commit_batch(env):
    """Commit a finished batch so that it survives a crash; never under tests."""
    if not _testing():
        env.cr.commit()  # pylint: disable=invalid-commit


class SmsSms(models.Model):
    _inherit = "sms.sms"

    failure_type = fields.Selection(
        selection_add=[
            ("sms_expired", "Expired"),
            ("sms_not_delivered", "Not Delivered"),
            ("sms_invalid_destination", "Invalid Destination"),
            ("sms_not_allowed", "Not Allowed"),
            ("sms_rejected", "Rejected"),
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
    sms_mailing_id = fields.Many2one(
        "sms.mailing",
        "Mailing",
        index="btree_not_null",
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
        self.env.cr.execute(
            "CREATE INDEX IF NOT EXISTS sms_sms_mailing_number_idx "
            "ON sms_sms (sms_mailing_id, number) WHERE sms_mailing_id IS NOT NULL"
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
                self.env.ref("sms_mailing.ir_cron_sms_dispatch")._trigger()
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
        self._dispatch_queue()
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
    # Dispatcher
    # ------------------------------------------------------------------
    def _param(self, key, default):
        value = self.env["ir.config_parameter"].sudo().get_param(key)
        try:
            return type(default)(value) if value else default
        except ValueError:
            return default

    @api.model
    def _dispatch_queue(self, batch_size=None, time_budget=None):
        """Send due outgoing messages through the providers (the cron).

        Messages are taken with ``FOR UPDATE SKIP LOCKED`` and marked
        ``process`` and committed before any provider is called, so two
        dispatchers never take the same message and a crash never sends one
        twice (see :meth:`_recover_stuck`). Returns the number taken.
        """
        company_ids = self._provider_company_ids()
        if not company_ids:
            return 0
        batch_size = batch_size or self._param("sms_mailing.dispatch_batch_size", 200)
        if time_budget is None:
            time_budget = self._param("sms_mailing.dispatch_time_budget", 45.0)
        deadline = time.monotonic() + time_budget
        self._recover_stuck(company_ids)
        commit_batch(self.env)
        total = conflicts = 0
        while True:
            ids = self._lock_due(batch_size, company_ids)
            if ids is None and conflicts < 5:
                # Raced with another dispatcher: look again in a new snapshot.
                conflicts += 1
                commit_batch(self.env)
                continue
            conflicts = 0
            if not ids:
                break
            batch = self.browse(ids)
            batch._mark_processing()
            commit_batch(self.env)
            batch._send_through_providers(auto_commit=True)
            commit_batch(self.env)
            total += len(ids)
            remaining = self._count_due(company_ids)
            self.env["ir.cron"]._notify_progress(done=total, remaining=remaining)
            if time.monotonic() >= deadline:
                if remaining:
                    self.env.ref("sms_mailing.ir_cron_sms_dispatch")._trigger()
                break
        if total:
            # Ask for delivery statuses soon, and let mailings see their progress.
            soon = fields.Datetime.now() + timedelta(seconds=30)
            self.env.ref("sms_mailing.ir_cron_sms_poll_status")._trigger(soon)
            self.env.ref("sms_mailing.ir_cron_sms_mailing_process")._trigger()
        return total

    def _due_where(self, company_ids):
        where = SQL(
            "state = 'outgoing' AND to_delete IS NOT TRUE AND is_test IS NOT TRUE"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= %s)",
            fields.Datetime.now(),
        )
        if False not in company_ids:
            where = SQL("%s AND company_id = ANY(%s)", where, list(company_ids))
        return where

    @api.model
    def _lock_due(self, limit, company_ids):
        self.flush_model()
        query = SQL(
            "SELECT id FROM sms_sms WHERE %s ORDER BY id LIMIT %s "
            "FOR UPDATE SKIP LOCKED",
            self._due_where(company_ids),
            limit,
        )
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, log_exceptions=False)
                return [row[0] for row in self.env.cr.fetchall()]
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            # Another dispatcher committed some of these rows after our
            # snapshot: they are not ours to send. ``None`` (not ``[]``: the
            # queue may not be empty) asks the caller to look again.
            return None

    @api.model
    def _count_due(self, company_ids):
        self.flush_model()
        self.env.cr.execute(
            SQL("SELECT count(*) FROM sms_sms WHERE %s", self._due_where(company_ids))
        )
        return self.env.cr.fetchone()[0]

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
        """Messages left ``process`` by a crash: fail them, never resend blindly.

        The provider may or may not have taken them; sending again could reach
        the recipient twice, so they fail with a clear reason and a person
        decides (Retry on the message or the mailing).
        """
        minutes = self._param("sms_mailing.stuck_after_minutes", 60)
        limit = fields.Datetime.now() - timedelta(minutes=minutes)
        domain = [("state", "=", "process"), ("process_started_at", "<", limit)]
        if company_ids and False not in company_ids:
            domain.append(("company_id", "in", list(company_ids)))
        stuck = self.sudo().search(domain)
        if stuck:
            _logger.warning("%s SMS stuck in sending: marked failed", len(stuck))
            stuck.write(
                {
                    "state": "error",
                    "failure_type": "unknown",
                    "error_message": _(
                        "Sending was interrupted (server stopped or crashed) while "
                        "the message was being handed to the provider. It was not "
                        "sent again automatically so that nobody receives it twice: "
                        "check with the provider, then retry it if needed."
                    ),
                }
            )
            stuck.sms_tracker_id._action_update_from_sms_state(
                "error", failure_type="unknown"
            )
        return stuck

    def _candidates(self):
        """Provider failover list for each message of ``self``."""
        Provider = self.env["sms.provider"].sudo()
        providers_by_company = {}
        result = {}
        for sms in self:
            if sms.requested_provider_id:
                requested = sms.requested_provider_id.sudo()
                result[sms.id] = [requested.id] if requested.active else []
                continue
            company = sms.company_id or self.env.company
            if company not in providers_by_company:
                providers_by_company[company] = Provider._get_active_providers(company)
            result[sms.id] = Provider._route(
                sms.number or "", providers=providers_by_company[company]
            ).ids
        return result

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
        self = self.sudo().with_context(sms_skip_msg_notification=True)
        deferred = self._defer_until()
        if deferred:
            self._write_deferred(deferred)
        todo = self.filtered(lambda s: s.id not in deferred)
        candidates = todo._candidates()
        no_provider = todo.filtered(lambda s: not candidates[s.id])
        unserved = {}
        for sms in no_provider:
            unserved[sms.id] = api_provider.SendResult(
                sms.uuid,
                api_provider.PERMANENT,
                failure_type="sms_country_not_supported",
                error=_(
                    "No active SMS provider can send to %(number)s.",
                    number=sms.number or _("an empty number"),
                ),
            )
        if unserved:
            no_provider._write_results_of(None, unserved)
        pending = {sid: cands for sid, cands in candidates.items() if cands}
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
        size = provider._get_client().max_batch
        if provider.rate_limit:
            size = max(1, min(size, int(provider.rate_limit)))
        # The client is opened per chunk: a provider that guards a shared line
        # (a modem) is held for one chunk at a time, not for the whole batch.
        for chunk in split_every(size, todo.ids, self.browse):
            started = time.monotonic()
            try:
                with provider._open_client() as client:
                    results.update(chunk._call_client(client))
            except api_provider.ProviderError as err:
                # The client could not be opened (port busy, bad config...).
                results.update({sms.id: _failed(sms, err) for sms in chunk})
            if provider.rate_limit:
                wait = len(chunk) / provider.rate_limit
                time.sleep(max(0.0, wait - (time.monotonic() - started)))
        return results

    def _call_client(self, client):
        outgoing = [
            api_provider.OutgoingMessage(sms.uuid, sms.number or "", sms.body or "")
            for sms in self
        ]
        try:
            answers = {result.key: result for result in client.send(outgoing)}
        except api_provider.ProviderError as err:
            return {sms.id: _failed(sms, err) for sms in self}
        except Exception as err:  # pylint: disable=broad-except
            # A fault of the client itself, maybe after the request left:
            # never resend automatically.
            _logger.exception("SMS provider client crashed")
            error = _("Unexpected provider error: %(error)s", error=err)
            return {
                sms.id: api_provider.SendResult(
                    sms.uuid,
                    api_provider.PERMANENT,
                    failure_type="unknown",
                    error=error,
                )
                for sms in self
            }
        results = {}
        for sms in self:
            results[sms.id] = answers.get(sms.uuid) or api_provider.SendResult(
                sms.uuid,
                api_provider.PERMANENT,
                failure_type="unknown",
                error=_(
                    "The provider gave no result for this message; it was not "
                    "sent again so that nobody receives it twice."
                ),
            )
        return results

    def _write_results_of(self, provider, results):
        """Store the providers' answers, one write per resulting state."""
        now = fields.Datetime.now()
        groups = defaultdict(list)
        per_record = []
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
                    base=self._param("sms_mailing.retry_base_seconds", 60),
                )
                key = ("outgoing", False, result.error, now + timedelta(seconds=delay))
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
            }
            if state in ("pending", "sent"):
                values["sent_at"] = now
            if state == "sent":
                values["delivered_at"] = now
            records.write(values)
            records._update_trackers(state, failure_type)
        if per_record:
            self._write_provider_answers(per_record)

    def _write_provider_answers(self, rows):
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms AS s SET provider_message_id = v.pid,"
                " cost = v.cost, parts = v.parts"
                " FROM (VALUES %s) AS v(id, pid, cost, parts) WHERE s.id = v.id",
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
                    " attempts = GREATEST(COALESCE(attempts, 0) - 1, 0)"
                    " WHERE id = ANY(%s)",
                    when,
                    ids,
                )
            )
            records.invalidate_recordset(["state", "next_attempt_at", "attempts"])
            records._update_trackers("outgoing", False)

    def _update_trackers(self, state, failure_type):
        trackers = self.sms_tracker_id
        if not trackers:
            return
        if state == "error" and failure_type in self.DELIVERY_ERRORS:
            trackers._action_update_from_provider_error(failure_type[4:])
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
        limit = limit or self._param("sms_mailing.status_poll_limit", 5000)
        max_age = self._param("sms_mailing.status_max_age_hours", 72)
        since = fields.Datetime.now() - timedelta(hours=max_age)
        updated = self.browse()
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
        pids = list({u.provider_message_id for u in updates})
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT ON (provider_message_id) provider_message_id, id"
                " FROM sms_sms WHERE provider_id = %s AND provider_message_id = ANY(%s)"
                " ORDER BY provider_message_id, (state = 'pending') DESC, id DESC",
                provider.id,
                pids,
            )
        )
        by_pid = dict(self.env.cr.fetchall())
        now = fields.Datetime.now()
        touched = self.browse()
        for update in updates:
            sms = self.browse(by_pid.get(update.provider_message_id))
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


def _failed(sms, err):
    return api_provider.SendResult(
        sms.uuid,
        api_provider.TRANSIENT if err.transient else api_provider.PERMANENT,
        failure_type=err.failure_type,
        error=err.message,
    )
