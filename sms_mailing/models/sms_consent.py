"""The consent history of a contact: every SMS opt-out and opt-in, kept as proof."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError

OPTOUT = "optout"
OPTIN = "optin"


class SmsConsent(models.Model):
    _name = "sms.consent"
    _description = "SMS consent change"
    _order = "date DESC, id DESC"
    _rec_name = "number"

    partner_id = fields.Many2one(
        "res.partner", "Contact", index=True, ondelete="set null", readonly=True
    )
    number = fields.Char(index=True, readonly=True)
    action = fields.Selection(
        [(OPTOUT, "Opt-out"), (OPTIN, "Opt-in")],
        required=True,
        readonly=True,
    )
    source = fields.Selection(
        [
            ("link", "Opt-out link"),
            ("keyword", "SMS keyword"),
            ("portal", "Customer portal"),
            ("import", "Contact import"),
            ("user", "Changed by a user"),
        ],
        required=True,
        readonly=True,
    )
    detail = fields.Char(
        readonly=True,
        help="The keyword received, the mailing of the link, the imported file...",
    )
    date = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    user_id = fields.Many2one(
        "res.users", "By", default=lambda self: self.env.user, readonly=True
    )
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, readonly=True
    )

    def write(self, vals):
        # A proof is never rewritten (the superuser may, e.g. to anonymise).
        if not self.env.su:
            raise UserError(_("The consent history cannot be changed."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        if not self.env.su:
            raise UserError(_("The consent history cannot be deleted."))

    @api.model
    def _log(self, partners, action, source, number=None, detail=None):
        """Record one opt-out or opt-in per contact of ``partners`` (with
        ``number``, else the contact's own number), or one for the number alone
        when no contact has it. Returns the new records."""
        # sudo: the history is written by the code that changes the consent
        # (a link, a keyword, the portal, an import, a user's edit), whatever
        # the rights of who triggers it; nobody writes it directly.
        Consent = self.sudo()
        vals = {
            "action": action,
            "source": source,
            "detail": detail or False,
            "user_id": self.env.user.id,
        }
        if not partners:
            if not number:
                return Consent.browse()
            return Consent.create({**vals, "number": number})
        return Consent.create(
            [
                {
                    **vals,
                    "partner_id": partner.id,
                    "number": number or partner.phone_sanitized or False,
                    "company_id": partner.company_id.id or self.env.company.id,
                }
                for partner in partners
            ]
        )

    @api.model
    def _last_for_number(self, number):
        """The latest change recorded for ``number`` (or an empty recordset)."""
        # sudo: a yes/no read of the history of one number, for the code
        # deciding on a keyword received from it.
        return self.sudo().search([("number", "=", number)], limit=1)
