import contextlib
import logging

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..tools import routing, segments
from ..tools.demo_client import DemoClient
from ..tools.provider import NotSupported, ProviderError

_logger = logging.getLogger(__name__)


class SmsProvider(models.Model):
    _name = "sms.provider"
    _description = "SMS Provider"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    provider_type = fields.Selection(
        [("demo", "Simulated (never leaves this machine)")],
        string="Type",
        required=True,
        default="demo",
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
        default=lambda self: self.env.company.currency_id,
        required=True,
    )
    rate_limit = fields.Float(
        "Rate limit (messages per second)",
        help="0 means no limit.",
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
        help="Warn the users below when the balance falls under this amount."
    )
    balance_alert_user_ids = fields.Many2many(
        "res.users", string="Warn users", check_company=False
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
            "max_attempts_positive",
            "CHECK(max_attempts > 0)",
            "Attempts must be 1 or more.",
        ),
    ]

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
        return super().create(vals_list)

    def write(self, vals):
        if {"active", "company_id"} & set(vals):
            self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    @tools.ormcache()
    def _active_company_ids(self):
        """Ids of companies with an active provider (``False``: every company)."""
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

    def action_check_balance(self):
        self.ensure_one()
        balance = self._fetch_balance()
        if balance is None:
            return self._notify(
                _("Balance of %(name)s", name=self.name),
                _("Not available for this provider."),
                "warning",
            )
        return self._notify(
            _("Balance of %(name)s", name=self.name), self.balance_text, "info"
        )

    def action_view_sms(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_mailing.sms_sms_action"
        )
        action["domain"] = [("provider_id", "=", self.id)]
        action["context"] = {}
        return action

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

    @contextlib.contextmanager
    def _open_client(self):
        """Every use of a client goes through here (locks, connections)."""
        self.ensure_one()
        client = self._get_client()
        try:
            yield client
        finally:
            client.close()

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    @api.model
    def _get_active_providers(self, company=None):
        company = company or self.env.company
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
        info = segments.analyze(text or "")
        if not info.parts:
            raise UserError(_("The message is empty."))
        error = self._too_long_error(info.parts)
        if error:
            raise UserError(error)
        return info

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

    def _estimate_cost(self, numbers, text):
        """Estimate what sending ``text`` to ``numbers`` costs.

        The provider's cost API when it has one, else parts x price per part.
        """
        self.ensure_one()
        numbers = list(numbers)
        parts = segments.analyze(text or "").parts
        result = {
            "available": False,
            "total_cost": 0.0,
            "total_parts": parts * len(numbers),
            "currency": self.currency_id.name,
            "message": "",
        }
        if not numbers or not parts:
            result["available"] = True
            return result
        try:
            with self._open_client() as client:
                estimate = client.cost(numbers, text)
            result.update(
                available=True,
                total_cost=estimate.total_cost,
                total_parts=estimate.total_parts,
                currency=estimate.currency or self.currency_id.name,
                message=_("Cost from %(name)s.", name=self.name),
            )
        except NotSupported:
            if self.price_per_part:
                result.update(
                    available=True,
                    total_cost=self.price_per_part * parts * len(numbers),
                    message=_("Estimated with the price per part."),
                )
            else:
                result["message"] = _("Not available for this provider.")
        except ProviderError as err:
            result["message"] = err.message
        return result

    def _estimate_cost_text(self, numbers, text, times=1):
        """The estimate as a user reads it, in the user's language: ``"0.20 EUR"``,
        ``"1 234,50 RUB"`` in Russian (``times`` the cost of ``text`` to
        ``numbers``), or why there is none."""
        estimate = self._estimate_cost(numbers, text)
        if not estimate["available"]:
            return estimate["message"]
        amount = tools.formatLang(self.env, estimate["total_cost"] * times, digits=2)
        return f"{amount} {estimate['currency']}"

    def _fetch_balance(self):
        """Ask the provider for its balance; store it and warn when low."""
        self.ensure_one()
        try:
            with self._open_client() as client:
                balance = client.balance()
        except NotSupported:
            return None
        except ProviderError as err:
            raise UserError(
                _(
                    "Could not read the balance of %(name)s: %(error)s",
                    name=self.name,
                    error=err.message,
                )
            ) from err
        text = balance.text or ""
        if balance.amount is not None:
            text = f"{balance.amount:.2f} {balance.currency or self.currency_id.name}"
        self.write(
            {
                "balance": balance.amount or 0.0,
                "balance_text": text,
                "balance_date": fields.Datetime.now(),
            }
        )
        self._check_balance_alert()
        return balance

    def _check_balance_alert(self):
        for provider in self.filtered("balance_alert_threshold"):
            low = provider.balance < provider.balance_alert_threshold
            if low and not provider.balance_alert_sent:
                body = _(
                    "The balance of %(name)s is %(balance)s, under the alert "
                    "threshold of %(threshold)s.",
                    name=provider.name,
                    balance=provider.balance_text,
                    threshold=provider.balance_alert_threshold,
                )
                for user in provider.balance_alert_user_ids:
                    provider.activity_schedule(
                        "mail.mail_activity_data_todo",
                        summary=_("Low SMS balance"),
                        note=body,
                        user_id=user.id,
                    )
                provider.message_post(body=body)
                provider.balance_alert_sent = True
            elif not low and provider.balance_alert_sent:
                provider.balance_alert_sent = False

    @api.model
    def _cron_check_balances(self):
        for provider in self.search([("active", "=", True)]):
            try:
                provider._fetch_balance()
            except UserError as err:
                _logger.warning("SMS balance check failed: %s", err)

    def _apply_status_updates(self, updates):
        """Apply ``StatusUpdate``s to this provider's messages.

        Matched by provider message id, the most recent message first (ids such
        as a modem's TP-MR are reused). Returns the updated messages.
        """
        self.ensure_one()
        return self.env["sms.sms"].sudo()._apply_status_updates(self, updates)

    def _receive_inbound(self, messages, stop_keywords=None):
        self.ensure_one()
        return (
            self.env["sms.inbound"]
            .sudo()
            ._create_from_provider(self, messages, stop_keywords=stop_keywords)
        )

    @api.model
    def _cron_fetch_inbound(self):
        """Read new inbound messages from providers that receive them."""
        for provider in self.search([("active", "=", True)]):
            try:
                with provider._open_client() as client:
                    messages = client.fetch_inbound()
            except NotSupported:
                continue
            except ProviderError as err:
                _logger.warning("Inbound SMS from %s failed: %s", provider.name, err)
                continue
            if messages:
                provider._receive_inbound(messages)
