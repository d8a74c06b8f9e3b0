import contextlib
import logging
from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..tools import dispatch, routing, segments, settings, transaction
from ..tools.demo_client import DemoClient
from ..tools.provider import NotSupported, ProviderError

_logger = logging.getLogger(__name__)


# Fields that change which provider a queued message goes to.
ROUTING_FIELDS = ("active", "company_id", "number_prefixes", "sequence")


class SmsProvider(models.Model):
    _name = "sms.provider"
    _description = "SMS Provider"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    # No default: a provider that swallowed every SMS by default would be a
    # trap; the user picks the kind of provider they have.
    provider_type = fields.Selection(
        [("demo", "Simulated (never leaves this machine)")],
        string="Type",
        required=True,
        tracking=True,
    )
    active = fields.Boolean(default=True, tracking=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(
        "res.company",
        default=lambda self: self.env.company,
        help="Leave empty to use the provider for every company.",
    )
    number_prefixes = fields.Char(
        help="International prefixes this provider sends to, e.g. '+7 +375'. "
        "Empty: any number. The provider with the longest matching prefix is "
        "used first, then by sequence; the next ones take over on a temporary "
        "failure.",
    )
    sender = fields.Char(
        help="Sender name or number shown to recipients, when the provider allows one."
    )
    uses_sender = fields.Boolean(
        compute="_compute_uses_sender",
        help="Whether this kind of provider uses the generic Sender field.",
    )
    max_parts = fields.Integer(
        "Maximum parts",
        default=8,
        help="Longest message accepted, in SMS parts.",
    )
    price_per_part = fields.Float(
        digits=(16, 4),
        help="Used for cost estimates when the provider has no cost API.",
    )
    currency_id = fields.Many2one(
        "res.currency",
        compute="_compute_currency_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        help="The currency the provider bills in (its own one by default).",
    )
    rate_limit = fields.Float(
        "Rate limit (messages per second)",
        help="0 means no limit.",
    )
    inflight_requests = fields.Integer(
        "Requests in flight",
        default=4,
        help="How many requests may wait for the provider's answer at once "
        "(an HTTP API answers several in parallel; a modem always takes one). "
        "The rate limit still applies.",
    )
    dispatch_lanes = fields.Integer(
        "Parallel lanes",
        default=2,
        help="How many Odoo cron workers (of this server or others) may send "
        "through this provider at the same time. A provider with a rate "
        "limit, and a modem, always use one.",
    )
    max_attempts = fields.Integer(
        default=5,
        help="A message that fails temporarily is retried with a growing delay "
        "until it has been tried this many times.",
    )
    state = fields.Selection(
        [
            ("unknown", "Not checked"),
            ("available", "Available"),
            ("unavailable", "Unavailable"),
        ],
        default="unknown",
        readonly=True,
        copy=False,
    )
    last_check_message = fields.Char(readonly=True, copy=False)
    last_check_date = fields.Datetime(readonly=True, copy=False)
    balance = fields.Float(readonly=True, copy=False, digits=(16, 2))
    balance_text = fields.Char(readonly=True, copy=False)
    balance_date = fields.Datetime(readonly=True, copy=False)
    balance_alert_threshold = fields.Float(
        "Alert threshold",
        help="When the balance falls under this amount, the users of "
        '"Warn these users" get an activity. 0: no alert.',
    )
    balance_alert_user_ids = fields.Many2many(
        "res.users",
        string="Warn these users",
        check_company=False,
        help="They get an activity when the balance falls under the alert threshold.",
    )
    balance_alert_sent = fields.Boolean(readonly=True, copy=False)
    sms_count = fields.Integer(compute="_compute_sms_count")

    _sql_constraints = [
        (
            "max_parts_positive",
            "CHECK(max_parts > 0)",
            "Maximum parts must be 1 or more.",
        ),
        (
            "rate_limit_positive",
            "CHECK(rate_limit >= 0)",
            "The rate limit cannot be negative.",
        ),
        (
            "inflight_requests_positive",
            "CHECK(inflight_requests > 0)",
            "Requests in flight must be 1 or more.",
        ),
        (
            "dispatch_lanes_positive",
            "CHECK(dispatch_lanes > 0)",
            "Parallel lanes must be 1 or more.",
        ),
        (
            "max_attempts_positive",
            "CHECK(max_attempts > 0)",
            "Attempts must be 1 or more.",
        ),
    ]

    @api.depends("provider_type")
    def _compute_uses_sender(self):
        for provider in self:
            provider.uses_sender = provider._uses_sender()

    def _uses_sender(self):
        """Whether the generic Sender field applies (provider addons that have
        their own sender setting, or none, return False)."""
        return True

    @api.depends("provider_type", "company_id")
    def _compute_currency_id(self):
        for provider in self:
            if provider.currency_id and provider._origin.provider_type == (
                provider.provider_type
            ):
                continue
            provider.currency_id = provider._default_currency()

    def _default_currency(self):
        """The currency this kind of provider bills in; provider addons
        override it (SMS.ru: RUB). Default: the company's."""
        return (self.company_id or self.env.company).currency_id

    def _compute_sms_count(self):
        counts = dict(
            self.env["sms.sms"]._read_group(
                [("provider_id", "in", self.ids)], ["provider_id"], ["__count"]
            )
        )
        for provider in self:
            provider.sms_count = counts.get(provider, 0)

    @api.constrains("number_prefixes")
    def _check_number_prefixes(self):
        for provider in self:
            wrong = routing.invalid_prefixes(provider.number_prefixes)
            if wrong:
                raise ValidationError(
                    _(
                        "Number prefixes must be international codes such as "
                        "'+7 +375'; these are not: %(wrong)s",
                        wrong=", ".join(wrong),
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        providers = super().create(vals_list)
        # A new provider may serve queued numbers better: route them again
        # (sudo: only clears the routing column of queued messages, which the
        # dispatcher recomputes; a provider manager may not read every SMS).
        self.env["sms.sms"].sudo()._reset_routes()
        return providers

    def write(self, vals):
        if {"active", "company_id"} & set(vals):
            self.env.registry.clear_cache()
        result = super().write(vals)
        if set(ROUTING_FIELDS) & set(vals):
            # sudo: see create(); only the routing column is cleared.
            self.env["sms.sms"].sudo()._reset_routes()
        return result

    def unlink(self):
        self.env.registry.clear_cache()
        # sudo: see create(); only the routing column is cleared.
        self.env["sms.sms"].sudo()._reset_routes()
        return super().unlink()

    @api.model
    @tools.ormcache()
    def _active_company_ids(self):
        """Ids of companies with an active provider (``False``: every company)."""
        # sudo: a cached fact for every user (which companies route SMS).
        groups = self.sudo()._read_group([("active", "=", True)], ["company_id"])
        return frozenset(company.id for (company,) in groups)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_check_availability(self):
        self.ensure_one()
        try:
            with self._open_client() as client:
                result = client.check_availability()
            available, message = result.available, result.message
            self._store_availability(result)
        except ProviderError as err:
            available, message = False, err.message
        except NotSupported:
            available, message = True, _("Not available for this provider.")
        self.write(
            {
                "state": "available" if available else "unavailable",
                "last_check_message": message,
                "last_check_date": fields.Datetime.now(),
            }
        )
        return self._notify(
            _("%(name)s is available", name=self.name)
            if available
            else _("%(name)s is not available", name=self.name),
            message,
            "success" if available else "danger",
        )

    def action_view_sms(self):
        self.ensure_one()
        return self.env["sms.sms"]._action_open([("provider_id", "=", self.id)])

    def _notify(self, title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind == "danger",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------
    # Client hooks (provider addons override these)
    # ------------------------------------------------------------------
    def _get_client_config(self):
        self.ensure_one()
        return {
            "provider_id": self.id,
            "name": self.name,
            "sender": self.sender or "",
            "max_parts": self.max_parts,
            "company_name": (self.company_id or self.env.company).name,
            # The language of the client's sentences (errors, availability):
            # the user's, the company's in a scheduled action (no language).
            "lang": self.env.context.get("lang")
            or (self.company_id or self.env.company).partner_id.lang
            or "en_US",
        }

    def _get_client(self):
        self.ensure_one()
        if self.provider_type == "demo":
            return DemoClient(self._get_client_config())
        raise UserError(
            _(
                "The provider %(name)s has no client for its type %(type)s: is "
                "its addon installed?",
                name=self.name,
                type=self.provider_type,
            )
        )

    def _lane_slots(self):
        """How many lanes may serve this provider at once."""
        self.ensure_one()
        if self.rate_limit:
            return 1
        return max(1, min(self.dispatch_lanes, self._client_trait("max_lanes")))

    def _request_size(self):
        """How many messages go in one request to this provider."""
        self.ensure_one()
        return dispatch.request_size(self._client_trait("max_batch"), self.rate_limit)

    def _inflight(self):
        """How many requests a lane keeps waiting on this provider at once."""
        self.ensure_one()
        return max(1, min(self.inflight_requests, self._client_trait("max_inflight")))

    def _client_trait(self, name):
        """A class attribute of this provider's client (``max_batch``,
        ``max_lanes``...), read from a client that opens nothing."""
        self.ensure_one()
        client = self._get_client()
        try:
            return getattr(client, name)
        finally:
            client.close()

    @contextlib.contextmanager
    def _open_client(self):
        """A client for one session, closed at the end.

        A provider that is one line (``client.one_line``: a GSM modem) is held
        for one session at a time across Odoo workers and servers, the client
        closed before the line is released. Every session with the gateway
        goes through here (sending, statuses, callbacks, inbound, balance,
        checks); :meth:`_client_trait` only reads a client's class attributes.
        """
        self.ensure_one()
        client = self._get_client()
        lock = self._hold_line() if client.one_line else contextlib.nullcontext()
        with lock:
            try:
                yield client
            finally:
                client.close()

    @contextlib.contextmanager
    def _hold_line(self):
        """Hold this provider's line; a transient ``ProviderError`` after
        ``sms_provider_modem.lock_wait_seconds`` when another worker keeps it."""
        busy = _(
            "The provider %(name)s is busy (another worker is using its line); "
            "trying again later.",
            name=self.name,
        )
        with transaction.line_lock(
            self.env.cr.dbname,
            self.id,
            settings.get(self.env, "sms_provider_modem.lock_wait_seconds"),
            busy_message=busy,
        ):
            yield

    def _store_availability(self, availability):
        """Keep what an availability check told beyond available/message
        (``availability.details``); provider addons override it."""

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    @api.model
    def _get_active_providers(self, company=None):
        company = company or self.env.company
        # sudo: the active providers of ``company`` for routing, whatever the
        # user's company selection; credentials stay behind field groups.
        return self.sudo().search(
            [("active", "=", True), ("company_id", "in", [company.id, False])]
        )

    @api.model
    def _route(self, number, company=None, providers=None):
        """Providers able to send to ``number``, best first (failover order)."""
        if providers is None:
            providers = self._get_active_providers(company)
        ordered = routing.order_candidates(
            number,
            [
                (p.id, routing.parse_prefixes(p.number_prefixes), p.sequence)
                for p in providers
            ],
        )
        return self.browse(ordered).with_env(providers.env)

    def _check_text(self, text):
        """Raise a clear error when ``text`` cannot go through this provider."""
        self.ensure_one()
        info = self._analyze_text(text)
        if not info.parts:
            raise UserError(_("The message is empty."))
        error = self._too_long_error(info.parts)
        if error:
            raise UserError(error)
        return info

    def _analyze_text(self, text):
        """Encoding and parts of ``text`` as this provider sends it (provider
        addons that change the text, e.g. transliteration, override it)."""
        return segments.analyze(text or "")

    def _too_long_error(self, parts):
        """The sentence refusing a message of ``parts`` parts, or ``None``."""
        self.ensure_one()
        if parts <= self.max_parts:
            return None
        return _(
            "The message takes %(parts)s SMS parts; %(provider)s accepts at most "
            "%(max)s. Shorten the text.",
            parts=parts,
            provider=self.name,
            max=self.max_parts,
        )

    def _apply_status_updates(self, updates):
        """Apply ``StatusUpdate``s to this provider's messages.

        Matched by provider message id, the most recent message first (ids such
        as a modem's TP-MR are reused). Returns the updated messages.
        """
        self.ensure_one()
        # sudo: statuses reported by this provider, applied only to the
        # messages it sent (matched on provider and provider reference).
        return self.env["sms.sms"].sudo()._update_from_statuses(self, updates)

    def _find_messages_by_reference(
        self, references, by_part=False, max_age_hours=None
    ):
        """This provider's messages whose provider reference is one of
        ``references``, the most likely first: those still waiting for a
        status (``pending``), then the most recent (references such as a
        modem's TP-MR wrap around and are reused).

        ``by_part``: a message's reference lists the references of its parts,
        separated by commas (a modem, an SMSC), and it matches when one of its
        parts does. ``max_age_hours``: only messages sent that recently.
        Returns an ``sms.sms`` recordset (sudo: a provider's own messages, for
        its status reports; nothing is shown to a user).
        """
        self.ensure_one()
        references = sorted({str(ref) for ref in references if ref})
        Sms = self.env["sms.sms"].sudo()
        if not references:
            return Sms
        match = (
            SQL("string_to_array(provider_message_id, ',') && %s::text[]", references)
            if by_part
            else SQL("provider_message_id = ANY(%s)", references)
        )
        since = SQL("")
        if max_age_hours:
            oldest = fields.Datetime.now() - timedelta(hours=max_age_hours)
            since = SQL("AND sent_at >= %s", oldest)
        Sms.flush_model(["provider_id", "provider_message_id", "state", "sent_at"])
        self.env.cr.execute(
            SQL(
                "SELECT id FROM sms_sms WHERE provider_id = %s"
                " AND provider_message_id IS NOT NULL AND %s %s"
                " ORDER BY (state = 'pending') DESC, id DESC",
                self.id,
                match,
                since,
            )
        )
        return Sms.browse([row[0] for row in self.env.cr.fetchall()])

    def _stop_keywords(self):
        """The stop keywords of this provider's inbound messages (a
        comma-separated text); ``None``: the default ones."""
        return None

    def _receive_inbound(self, messages, stop_keywords=None):
        """Store ``InboundMessage``s once each (by provider reference) and opt
        out the senders of a stop keyword. Returns the new ``sms.inbound``."""
        self.ensure_one()
        # sudo: messages received by this provider (a cron or the provider's
        # own route); nobody's input but the gateway's is stored.
        return (
            self.env["sms.inbound"]
            .sudo()
            ._create_from_provider(
                self, messages, stop_keywords=stop_keywords or self._stop_keywords()
            )
        )

    def _fetch_inbound(self):
        """Read what the provider received (and, for a provider that reports
        deliveries the same way, its status reports); store it. Returns the
        new ``sms.inbound``. Raises ``NotSupported`` or ``ProviderError``."""
        self.ensure_one()
        with self._open_client() as client:
            messages = client.fetch_inbound()
        if not messages:
            return self.env["sms.inbound"]
        return self._receive_inbound(messages)

    @api.model
    def _cron_fetch_inbound(self):
        """The one scheduled read of providers: received messages (and a
        modem's status reports), one committed transaction per provider."""
        for provider in self.search([("active", "=", True)]):
            try:
                provider._fetch_inbound()
            except NotSupported:
                continue
            except ProviderError as err:
                _logger.warning("Inbound SMS from %s failed: %s", provider.name, err)
                continue
            transaction.commit_batch(self.env)
