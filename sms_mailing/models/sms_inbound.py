from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..tools import phone
from ..tools.keywords import DEFAULT_STOP_KEYWORDS, is_stop, parse_keywords


class SmsInbound(models.Model):
    _name = "sms.inbound"
    _description = "Received SMS"
    _order = "received_at DESC, id DESC"
    _rec_name = "number"

    number = fields.Char(required=True, index=True)
    partner_id = fields.Many2one("res.partner", "Contact", index=True)
    body = fields.Text(required=True)
    received_at = fields.Datetime(default=fields.Datetime.now, required=True)
    provider_id = fields.Many2one("sms.provider", "Received by", readonly=True)
    provider_message_id = fields.Char(readonly=True)
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    is_read = fields.Boolean("Read", default=False)
    is_stop = fields.Boolean(
        "Opt-out request", readonly=True, help="The text was a stop keyword."
    )

    def init(self):
        # A gateway may hand the same message over twice (read again after a
        # crash): it is stored once.
        self.env.cr.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS sms_inbound_provider_reference_uniq "
            "ON sms_inbound (provider_id, provider_message_id) "
            "WHERE provider_message_id IS NOT NULL"
        )

    def write(self, vals):
        # SMS Users answer the shared inbox: they mark messages read or unread
        # and link them to a contact; the rest changes only by managers.
        if (
            set(vals) - {"is_read", "partner_id"}
            and not self.env.su
            and not self.env.user.has_group("sms_mailing.group_sms_manager")
        ):
            raise AccessError(
                _(
                    "Only SMS managers may change a received SMS; you may mark it "
                    "read or link it to a contact."
                )
            )
        return super().write(vals)

    def action_mark_read(self):
        self.write({"is_read": True})

    def action_mark_unread(self):
        self.write({"is_read": False})

    @api.model
    def _find_partners(self, e164):
        if not e164:
            return self.env["res.partner"]
        return self.env["res.partner"].search(
            [("phone_sanitized", "=", e164)], order="id"
        )

    @api.model
    def _create_from_provider(self, provider, messages, stop_keywords=None):
        keywords = parse_keywords(stop_keywords or DEFAULT_STOP_KEYWORDS)
        created = self.browse()
        known = set(
            self.search(
                [
                    ("provider_id", "=", provider.id),
                    (
                        "provider_message_id",
                        "in",
                        [
                            m.provider_message_id
                            for m in messages
                            if m.provider_message_id
                        ],
                    ),
                ]
            ).mapped("provider_message_id")
        )
        for message in messages:
            if message.provider_message_id:
                if message.provider_message_id in known:
                    continue
                known.add(message.provider_message_id)
            e164, _error = phone.normalize(message.number)
            number = e164 or message.number
            partners = self._find_partners(e164)
            # A sender that is no phone number (a short code, "MyBank") cannot be
            # blacklisted nor match a contact: the text is kept, nothing more.
            stop = bool(e164) and is_stop(message.body, keywords)
            inbound = self.create(
                {
                    "number": number,
                    "partner_id": partners[:1].id,
                    "body": message.body,
                    "received_at": message.received_at or fields.Datetime.now(),
                    "provider_id": provider.id,
                    "provider_message_id": message.provider_message_id,
                    "company_id": provider.company_id.id or self.env.company.id,
                    "is_stop": stop,
                }
            )
            created |= inbound
            for partner in partners:
                partner.message_post(
                    body=Markup("<p>%s</p><p>%s</p>")
                    % (_("SMS received from %(number)s:", number=number), message.body),
                    author_id=partner.id,
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
            if stop:
                inbound._opt_out(partners, e164)
        return created

    def _opt_out(self, partners, number):
        reason = _("Opted out by SMS: %(text)s", text=self.body)
        # sudo: a STOP received from this number blacklists only this number.
        self.env["phone.blacklist"].sudo()._add([number], message=reason)
        partners.write({"sms_opt_out": True})
        for partner in partners:
            partner.message_post(body=reason, subtype_xmlid="mail.mt_note")
