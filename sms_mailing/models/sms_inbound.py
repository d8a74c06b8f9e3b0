from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..tools import phone
from ..tools.keywords import (
    DEFAULT_START_KEYWORDS,
    DEFAULT_STOP_KEYWORDS,
    is_stop,
    parse_keywords,
)
from .sms_consent import OPTIN, OPTOUT


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
    is_start = fields.Boolean(
        "Opt-in request",
        readonly=True,
        help="The text was a start keyword: it lifts an opt-out made by a stop "
        "keyword from the same number.",
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
    def _known_message_ids(self, provider, messages):
        """The provider's message IDs among ``messages`` already received
        (a message fetched twice is stored once)."""
        return set(
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

    @api.model
    def _post_on_partners(self, partners, number, body):
        """A note with the received text on each contact of the number."""
        for partner in partners:
            partner.message_post(
                body=Markup("<p>%s</p><p>%s</p>")
                % (_("SMS received from %(number)s:", number=number), body),
                author_id=partner.id,
                message_type="comment",
                subtype_xmlid="mail.mt_note",
            )

    @api.model
    def _create_from_provider(self, provider, messages, stop_keywords=None):
        keywords = parse_keywords(stop_keywords or DEFAULT_STOP_KEYWORDS)
        start_keywords = parse_keywords(
            provider._start_keywords() or DEFAULT_START_KEYWORDS
        )
        created = self.browse()
        known = self._known_message_ids(provider, messages)
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
            start = bool(e164) and not stop and is_stop(message.body, start_keywords)
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
                    "is_start": start,
                }
            )
            created |= inbound
            self._post_on_partners(partners, number, message.body)
            if stop:
                inbound._opt_out(partners, e164)
            elif start:
                inbound._opt_in(partners, e164)
        return created

    def _opt_out(self, partners, number):
        reason = _("Opted out by SMS: %(text)s", text=self.body)
        # sudo: a STOP received from this number blacklists only this number.
        self.env["phone.blacklist"].sudo()._add([number], message=reason)
        partners.with_context(sms_consent_logged=True).write({"sms_opt_out": True})
        for partner in partners:
            partner.message_post(body=reason, subtype_xmlid="mail.mt_note")
        self.env["sms.consent"]._log(
            partners, OPTOUT, "keyword", number=number, detail=self.body.strip()
        )

    def _opted_out_by_keyword(self, number):
        """Whether the last opt-out of ``number`` was a stop keyword (a START
        lifts only that one: not an opt-out by link, portal, import or user)."""
        last = self.env["sms.consent"]._last_for_number(number)
        if last:
            return last.action == OPTOUT and last.source == "keyword"
        # A STOP received before the history was kept.
        return bool(
            self.search_count(
                [
                    ("number", "=", number),
                    ("is_stop", "=", True),
                    ("id", "!=", self.id),
                ],
                limit=1,
            )
        )

    def _opt_in(self, partners, number):
        if not self._opted_out_by_keyword(number):
            return
        reason = _("Opted in again by SMS: %(text)s", text=self.body)
        # sudo: a START from this number lifts only this number's STOP.
        self.env["phone.blacklist"].sudo()._remove([number], message=reason)
        partners.with_context(sms_consent_logged=True).write({"sms_opt_out": False})
        for partner in partners:
            partner.message_post(body=reason, subtype_xmlid="mail.mt_note")
        self.env["sms.consent"]._log(
            partners, OPTIN, "keyword", number=number, detail=self.body.strip()
        )
