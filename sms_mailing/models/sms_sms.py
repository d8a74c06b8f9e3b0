import logging
from datetime import timedelta

from odoo import _, api, fields, models

from ..tools import provider as provider_api
from ..tools import segments

_logger = logging.getLogger(__name__)

ENCODINGS = {segments.GSM7: "gsm7", segments.UCS2: "ucs2"}

# failure_type of a message that was being handed to a provider when its
# worker (or the provider's line) died: it may have been sent, it is never
# resent automatically.
IN_DOUBT = provider_api.FAILURE_IN_DOUBT
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
            (provider_api.FAILURE_CREDENTIALS, "API key or password rejected"),
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
    handed_over = fields.Boolean(
        "Handed over",
        readonly=True,
        copy=False,
        help="Set when the request carrying this message is about to leave: a "
        "message claimed but not handed over when its worker stopped is sent "
        "again, a message handed over may have been sent (in doubt).",
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
        # Since when hand-overs survived (sms_sms_lanes._database_epoch):
        # UNLOGGED, so that PostgreSQL's crash recovery empties it.
        self.env.cr.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS sms_dispatch_epoch ("
            " id integer PRIMARY KEY CHECK (id = 1),"
            " started_at timestamp NOT NULL)"
        )
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
            routed._send_now()
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
        retry._set_state("outgoing", attempts=0, next_attempt_at=False)
        return retry
