from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError

from ..tools import phone, segments
from ..tools.provider import FAILURE_CREDENTIALS

# Failures that a provider setting causes (key, account, credit): only an
# administrator can fix them.
PROVIDER_SETTING_FAILURES = (FAILURE_CREDENTIALS, "sms_acc", "sms_credit")


class SmsPartnerSend(models.TransientModel):
    _name = "sms.partner.send"
    _description = "Send an SMS to a contact"

    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    number = fields.Char(
        compute="_compute_number",
        store=True,
        readonly=False,
        precompute=True,
    )
    number_e164 = fields.Char("International number", compute="_compute_number_e164")
    number_error = fields.Char(compute="_compute_number_e164")
    template_id = fields.Many2one(
        "sms.template",
        domain=[("model", "=", "res.partner")],
        help="Fills the message with the template's text for this contact.",
    )
    body = fields.Text("Message")
    candidate_provider_ids = fields.Many2many(
        "sms.provider", compute="_compute_candidate_provider_ids"
    )
    provider_count = fields.Integer(compute="_compute_candidate_provider_ids")
    provider_id = fields.Many2one(
        "sms.provider",
        compute="_compute_provider_id",
        store=True,
        readonly=False,
        domain="[('id', 'in', candidate_provider_ids)]",
    )
    encoding = fields.Char(compute="_compute_segments")
    parts = fields.Integer(compute="_compute_segments")
    units = fields.Integer(compute="_compute_segments", help="Septets or UCS-2 units")
    remaining = fields.Integer("Left in this part", compute="_compute_segments")
    part_limit = fields.Integer("Per part", compute="_compute_segments")
    cost = fields.Monetary(
        "Estimated cost", compute="_compute_cost", currency_field="cost_currency_id"
    )
    cost_currency_id = fields.Many2one("res.currency", compute="_compute_cost")
    cost_text = fields.Char("Cost", compute="_compute_cost")
    max_parts = fields.Integer(related="provider_id.max_parts")
    too_long = fields.Char(compute="_compute_too_long")
    warning = fields.Char(compute="_compute_warning")

    @api.depends("partner_id")
    def _compute_number(self):
        for wizard in self:
            wizard.number = wizard.partner_id.mobile or wizard.partner_id.phone

    @api.depends("number", "partner_id.country_id")
    def _compute_number_e164(self):
        for wizard in self:
            e164, error = phone.normalize(
                wizard.number, wizard.partner_id.country_id.code
            )
            wizard.number_e164 = e164
            wizard.number_error = {
                phone.MISSING: _("Enter a phone number."),
                phone.INVALID: _(
                    "%(number)s is not a valid phone number.", number=wizard.number
                ),
            }.get(error, False)

    @api.depends("number_e164")
    def _compute_candidate_provider_ids(self):
        for wizard in self:
            providers = self.env["sms.provider"]
            if wizard.number_e164:
                providers = self.env["sms.provider"]._route(wizard.number_e164)
            wizard.candidate_provider_ids = providers
            wizard.provider_count = len(providers)

    @api.depends("candidate_provider_ids")
    def _compute_provider_id(self):
        for wizard in self:
            if wizard.provider_id not in wizard.candidate_provider_ids:
                wizard.provider_id = wizard.candidate_provider_ids[:1]

    @api.onchange("template_id")
    def _onchange_template_id(self):
        if not self.template_id:
            return
        if self.partner_id:
            # Rendered by the template itself (mail.render.mixin): the same
            # engine and the same rendering restrictions as Odoo's SMS composer.
            self.body = self.template_id._render_field(
                "body", self.partner_id.ids, compute_lang=True
            )[self.partner_id.id]
        else:
            self.body = self.template_id.body

    @api.depends("body")
    def _compute_segments(self):
        for wizard in self:
            info = segments.analyze(wizard.body or "")
            wizard.encoding = info.encoding
            wizard.parts = info.parts
            wizard.units = info.length
            wizard.remaining = info.remaining
            wizard.part_limit = info.part_limit

    @api.depends("body", "number_e164", "provider_id")
    def _compute_cost(self):
        for wizard in self:
            wizard.cost = False
            wizard.cost_currency_id = wizard.provider_id.currency_id
            wizard.cost_text = False
            if not (wizard.provider_id and wizard.number_e164 and wizard.body):
                continue
            amount, currency, note = wizard.provider_id._estimate_cost_amount(
                [wizard.number_e164], wizard.body
            )
            wizard.cost_currency_id = currency
            if amount is None:
                wizard.cost_text = note
            else:
                wizard.cost = amount
                wizard.cost_text = tools.format_amount(self.env, amount, currency)

    @api.depends("body", "provider_id")
    def _compute_too_long(self):
        for wizard in self:
            wizard.too_long = (
                wizard.provider_id._too_long_error(wizard.parts)
                if wizard.provider_id
                else False
            ) or False

    @api.depends("partner_id.sms_opt_out", "partner_id.phone_sanitized_blacklisted")
    def _compute_warning(self):
        for wizard in self:
            partner = wizard.partner_id
            if partner.sms_opt_out:
                wizard.warning = _(
                    "%(name)s asked not to receive SMS (Do not use SMS). Send only "
                    "if this message is one they expect.",
                    name=partner.display_name,
                )
            elif partner.phone_sanitized_blacklisted:
                wizard.warning = _(
                    "This number is on the SMS blacklist. Send only if this "
                    "message is one they expect."
                )
            else:
                wizard.warning = False

    @api.model
    def _action_open(self, partner, number=None, title=None):
        """The action opening this dialog for ``partner`` and/or ``number``."""
        context = {"default_partner_id": partner.id}
        if number:
            context["default_number"] = number
        return {
            "type": "ir.actions.act_window",
            "name": title or _("Send an SMS"),
            "res_model": self._name,
            "view_mode": "form",
            # views: also opened from JavaScript (orm.call + doAction).
            "views": [(False, "form")],
            "target": "new",
            "context": context,
        }

    def _check_sendable(self):
        self.ensure_one()
        if self.number_error:
            raise UserError(self.number_error)
        if not (self.body or "").strip():
            raise UserError(_("Write the text of the SMS."))
        if not self.env["sms.provider"]._get_active_providers():
            raise UserError(
                _(
                    "No SMS provider is configured. An administrator can add one "
                    "in SMS > Configuration > Providers."
                )
            )
        if not self.provider_id or self.provider_id not in self.candidate_provider_ids:
            raise UserError(
                _(
                    "No active SMS provider can send to %(number)s.",
                    number=self.number_e164,
                )
            )
        self.provider_id._check_text(self.body)

    def _send_sms(self):
        """Send through the chatter of the contact, or alone for a bare number."""
        if not self.partner_id:
            # sudo: sending from the dialog is what the SMS User group grants
            # (no create right on sms.sms); the text is sent as typed, never
            # rendered, and the SMS belongs to the user (create_uid).
            sms = (
                self.env["sms.sms"]
                .sudo()
                .create(
                    {
                        "number": self.number_e164,
                        "body": self.body,
                        "requested_provider_id": self.provider_id.id,
                        "state": "outgoing",
                    }
                )
            )
            sms.send()
            return sms
        # sudo: sending from the card is what the SMS User group grants: a user
        # who may read the contact (checked here) may log the SMS on it, even
        # without the right to edit contacts (Odoo asks for write access to
        # post a message); the text is sent as typed, never rendered.
        self.partner_id.check_access("read")
        message = (
            self.partner_id.sudo()
            .with_context(sms_requested_provider_id=self.provider_id.id)
            ._message_sms(
                self.body,
                partner_ids=self.partner_id.ids,
                sms_pid_to_number={self.partner_id.id: self.number_e164},
            )
        )
        # sudo: the SMS just created for the message just posted.
        return (
            self.env["sms.sms"]
            .sudo()
            .search([("mail_message_id", "=", message.id)], limit=1)
        )

    def _send_error(self, sms):
        """Why ``sms`` was not sent, and who can fix it: a provider setting
        (key, account, credit) is for an administrator, whom a user who cannot
        open the provider settings is told to ask."""
        error = sms.error_message or dict(
            sms._fields["failure_type"]._description_selection(self.env)
        ).get(sms.failure_type, sms.failure_type)
        if sms.failure_type not in PROVIDER_SETTING_FAILURES:
            return _(
                "The SMS to %(number)s could not be sent: %(error)s",
                number=self.number_e164,
                error=error,
            )
        if self.env["sms.provider"].has_access("write"):
            return _(
                "The SMS to %(number)s could not be sent: %(error)s Check the "
                "provider %(provider)s in SMS > Configuration > Providers.",
                number=self.number_e164,
                error=error,
                provider=self.provider_id.name,
            )
        return _(
            "The SMS to %(number)s could not be sent: %(error)s Ask an "
            "administrator to check the settings of the provider %(provider)s.",
            number=self.number_e164,
            error=error,
            provider=self.provider_id.name,
        )

    def action_send(self):
        self.ensure_one()
        self._check_sendable()
        sms = self._send_sms()
        if sms.state == "error":
            raise UserError(self._send_error(sms))
        if sms.state == "outgoing":
            title, kind = _("SMS queued"), "warning"
            text = _(
                "%(provider)s is temporarily unavailable (%(error)s); the SMS "
                "will be retried automatically.",
                provider=self.provider_id.name,
                error=sms.error_message,
            )
        else:
            title, kind = _("SMS sent"), "success"
            text = _(
                "Sent to %(number)s through %(provider)s. Parts: %(parts)s.",
                number=self.number_e164,
                provider=self.provider_id.name,
                parts=sms.parts,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": text,
                "type": kind,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
