from odoo import _, fields, models
from odoo.exceptions import UserError

from ..tools import phone


class SmsMailingTest(models.TransientModel):
    _name = "sms.mailing.test"
    _description = "Send a test of an SMS mailing"

    mailing_id = fields.Many2one("sms.mailing", required=True, ondelete="cascade")
    number = fields.Char(
        required=True,
        default=lambda self: (
            self.env.user.partner_id.mobile or self.env.user.partner_id.phone
        ),
    )
    partner_id = fields.Many2one(
        "res.partner",
        "Render as",
        default=lambda self: self.env.user.partner_id,
        help="The macros are filled with this contact's fields.",
    )

    def action_send(self):
        self.ensure_one()
        mailing = self.mailing_id
        country = self.partner_id.country_id or self.env.company.country_id
        e164, error = phone.normalize(self.number, country.code)
        if error:
            raise UserError(self._number_error(country))
        if not (mailing.body or "").strip():
            raise UserError(_("Write the text of the mailing first."))
        texts = (
            mailing._render_for(mailing._template(), self.partner_id)
            if self.partner_id
            else {0: mailing.body}
        )
        key = next(iter(texts))
        # sudo: only SMS Managers reach this wizard (ir.model.access); the test
        # message goes to the number they typed, with the text they could render.
        sms = (
            self.env["sms.sms"]
            .sudo()
            .create(
                {
                    "number": e164,
                    "body": texts[key],
                    "partner_id": False,
                    "sms_mailing_id": mailing.id,
                    "requested_provider_id": mailing.provider_id.id,
                    "company_id": mailing.company_id.id,
                    "is_test": True,
                    "state": "outgoing",
                }
            )
        )
        # The final text names its message (opt-out token, tracked links).
        sms.body = mailing._finalize_texts(texts, sms_ids={key: sms.id})[key]
        sms.send()
        if sms.state == "error":
            raise UserError(
                _("The test SMS could not be sent: %(error)s", error=sms.error_message)
            )
        # A log note, as Odoo's sms composer logs its SMS: it notifies nobody,
        # so it needs no sender email (a manager may have none).
        mailing._message_log(body=_("Test SMS sent to %(number)s.", number=e164))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Test sent"),
                "message": _("Test SMS sent to %(number)s.", number=e164),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _number_error(self, country):
        """Why the number is refused, and how to type it."""
        number = (self.number or "").strip()
        if number.startswith(("+", "00")):
            return _("%(number)s is not a valid phone number.", number=number)
        if not country:
            return _(
                '%(number)s is a national number, and neither the "Render as" '
                "contact nor your company has a country to read it in. Type it "
                "with its country code, e.g. +33 6 12 34 56 78.",
                number=number,
            )
        return _(
            "%(number)s is not a valid phone number of %(country)s (national "
            'numbers are read in the country of the "Render as" contact, else '
            "of your company). Type it with its country code, e.g. "
            "+33 6 12 34 56 78, or choose a contact of its country in "
            '"Render as".',
            number=number,
            country=country.name,
        )
