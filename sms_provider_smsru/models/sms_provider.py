import secrets

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.sms_mailing.tools import phone, segments
from odoo.addons.sms_mailing.tools.exceptions import ProviderError

from ..tools.smsru_client import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, SmsRuClient

CALLBACK_ROUTE = "/sms_provider_smsru/callback"


def _new_token():
    return secrets.token_urlsafe(32)


class SmsProvider(models.Model):
    _inherit = "sms.provider"

    provider_type = fields.Selection(
        selection_add=[("smsru", "SMS.ru")], ondelete={"smsru": "cascade"}
    )
    smsru_api_id = fields.Char(
        "SMS.ru API key",
        groups="base.group_system",
        copy=False,
        tracking=True,
        help="The api_id of your SMS.ru account (SMS.ru > Settings > API).",
    )
    smsru_sender = fields.Char(
        "SMS.ru sender",
        related="sender",
        readonly=False,
        help="A sender name approved in your SMS.ru account; empty: SMS.ru's "
        "default sender.",
    )
    smsru_base_url = fields.Char(
        "SMS.ru API URL",
        default=DEFAULT_BASE_URL,
        help="Change only to use a test or staging server.",
    )
    smsru_test_mode = fields.Boolean(
        "SMS.ru test mode",
        tracking=True,
        help="SMS.ru accepts the messages but sends nothing and charges nothing.",
    )
    smsru_translit = fields.Boolean(
        "Transliterate",
        help="SMS.ru turns Cyrillic into Latin letters: 160 characters a part "
        "instead of 70.",
    )
    smsru_daytime = fields.Boolean(
        "Deliver in daytime",
        help="SMS.ru holds messages until daytime in the recipient's time zone.",
    )
    smsru_ttl = fields.Integer(
        "Lifetime (minutes)",
        help="Give up delivery after this many minutes (1-1440); 0: SMS.ru's default.",
    )
    smsru_timeout = fields.Float(
        "HTTP timeout (seconds)",
        default=DEFAULT_TIMEOUT,
        help="How long to wait for SMS.ru before retrying later.",
    )
    smsru_callback_token = fields.Char(
        "Callback token",
        groups="base.group_system",
        copy=False,
        readonly=True,
    )
    smsru_callback_url = fields.Char(
        "Callback URL",
        compute="_compute_smsru_callback_url",
        groups="base.group_system",
        help="Register this address in SMS.ru (Settings > API > Callback) or "
        "with the button: SMS.ru then reports delivery statuses at once.",
    )

    @api.depends("provider_type", "smsru_callback_token")
    def _compute_smsru_callback_url(self):
        for provider in self:
            if (
                provider.provider_type == "smsru"
                and provider.id
                and (provider.smsru_callback_token)
            ):
                provider.smsru_callback_url = (
                    f"{provider.get_base_url()}{CALLBACK_ROUTE}/"
                    f"{provider.id}/{provider.smsru_callback_token}"
                )
            else:
                provider.smsru_callback_url = False

    @api.constrains("smsru_ttl", "smsru_timeout", "smsru_base_url", "provider_type")
    def _check_smsru_settings(self):
        for provider in self.filtered(lambda p: p.provider_type == "smsru"):
            if not 0 <= provider.smsru_ttl <= 1440:
                raise ValidationError(
                    _("The SMS.ru lifetime must be between 1 and 1440 minutes.")
                )
            if provider.smsru_timeout <= 0:
                raise ValidationError(_("The HTTP timeout must be positive."))
            if not (provider.smsru_base_url or "").startswith(("http://", "https://")):
                raise ValidationError(
                    _("The SMS.ru API URL must start with http:// or https://.")
                )

    @api.model_create_multi
    def create(self, vals_list):
        providers = super().create(vals_list)
        providers._smsru_ensure_token()
        providers._activate_currency()
        return providers

    def write(self, vals):
        result = super().write(vals)
        if vals.get("provider_type") == "smsru":
            self._smsru_ensure_token()
        if {"provider_type", "currency_id"} & set(vals):
            self._activate_currency()
        return result

    def _uses_sender(self):
        # The approved sender is edited as "SMS.ru sender" on the SMS.ru tab.
        return self.provider_type != "smsru" and super()._uses_sender()

    def _default_currency(self):
        if self.provider_type == "smsru":
            rub = self.env.ref("base.RUB", raise_if_not_found=False)
            if rub:
                return rub
        return super()._default_currency()

    def _analyze_text(self, text):
        # SMS.ru transliterates Cyrillic before counting: GSM-7 parts.
        if self.provider_type == "smsru" and self.smsru_translit:
            text = segments.transliterate(text or "")
        return super()._analyze_text(text)

    def _activate_currency(self):
        """SMS.ru bills in roubles: make the provider's currency active so that
        amounts are shown with it (Odoo only formats active currencies)."""
        # sudo: activating a currency only makes it selectable and displayable;
        # the administrator chose it for this provider.
        self.currency_id.sudo().filtered(lambda c: not c.active).write({"active": True})

    def _smsru_ensure_token(self):
        # sudo: the token field is for administrators only; it is set, never
        # returned.
        for provider in self.sudo().filtered(
            lambda p: p.provider_type == "smsru" and not p.smsru_callback_token
        ):
            provider.smsru_callback_token = _new_token()

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_smsru_register_callback(self):
        """Register this provider's callback URL with SMS.ru (``callback/add``)."""
        self.ensure_one()
        self.check_access("write")
        # sudo: the URL holds the token (an administrators' field); after the
        # write check above only administrators get here.
        url = self.sudo().smsru_callback_url
        try:
            with self._open_client() as client:
                registered = client.callback_add(url)
        except ProviderError as err:
            raise UserError(
                _(
                    "SMS.ru did not register the callback URL: %(error)s",
                    error=err.message,
                )
            ) from err
        if url not in registered:
            raise UserError(
                _(
                    "SMS.ru did not keep the callback URL %(url)s; it keeps: %(urls)s",
                    url=url,
                    urls=", ".join(registered) or _("none"),
                )
            )
        self._message_log(
            body=_("Callback URL registered with SMS.ru: %(url)s", url=url)
        )
        return self._notify(
            _("Callback registered"),
            _("SMS.ru will report delivery statuses to %(url)s", url=url),
            "success",
        )

    def action_smsru_regenerate_token(self):
        """New secret in the callback URL; the old URL stops working."""
        self.check_access("write")
        # sudo: after the write check, a new secret replaces the old one.
        for provider in self.sudo():
            provider.smsru_callback_token = _new_token()
        return True

    def action_smsru_push_stoplist(self):
        """Put opted-out and blacklisted numbers on the SMS.ru stop list."""
        self.ensure_one()
        self.check_access("write")
        numbers = self._smsru_stoplist_numbers()
        try:
            with self._open_client() as client:
                for number, reason in numbers.items():
                    client.stoplist_add(number, reason)
        except ProviderError as err:
            raise UserError(
                _(
                    "SMS.ru refused the stop list update: %(error)s",
                    error=err.message,
                )
            ) from err
        self._message_log(
            body=_(
                "%(count)s numbers pushed to the SMS.ru stop list.",
                count=len(numbers),
            )
        )
        return self._notify(
            _("SMS.ru stop list"),
            _("%(count)s numbers pushed to the stop list.", count=len(numbers)),
            "success",
        )

    # ------------------------------------------------------------------
    # Client hooks
    # ------------------------------------------------------------------
    def _get_client_config(self):
        config = super()._get_client_config()
        if self.provider_type == "smsru":
            # sudo: credentials go to the client only, never to the caller.
            provider = self.sudo()
            config.update(
                api_id=provider.smsru_api_id or "",
                base_url=provider.smsru_base_url or DEFAULT_BASE_URL,
                timeout=provider.smsru_timeout or DEFAULT_TIMEOUT,
                test_mode=provider.smsru_test_mode,
                translit=provider.smsru_translit,
                daytime=provider.smsru_daytime,
                ttl=provider.smsru_ttl,
            )
        return config

    def _get_client(self):
        if self.provider_type == "smsru":
            self.ensure_one()
            return SmsRuClient(self._get_client_config())
        return super()._get_client()

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _smsru_stoplist_numbers(self):
        """``{e164: reason}`` of the numbers that must never get an SMS."""
        numbers = {}
        # sudo: numbers only, sent to the provider's stop list (administrators).
        blacklist = self.env["phone.blacklist"].sudo().search([("active", "=", True)])
        for entry in blacklist:
            e164, error = phone.normalize(entry.number)
            if not error:
                numbers[e164] = "Blacklisted in Odoo"
        # sudo: every opted-out contact's numbers, sent to the stop list only.
        partners = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("sms_opt_out", "=", True)])
        )
        for partner in partners:
            for raw in (partner.mobile, partner.phone):
                e164, error = phone.normalize(raw, partner.country_id.code)
                if not error:
                    numbers.setdefault(e164, "Opted out of SMS in Odoo")
        return numbers
