from odoo import api, fields, models

from ..tools import segments


class SmsMailingPreview(models.TransientModel):
    _name = "sms.mailing.preview"
    _description = "Preview an SMS mailing for a contact"

    mailing_id = fields.Many2one("sms.mailing", required=True, ondelete="cascade")
    partner_id = fields.Many2one(
        "res.partner",
        "Contact",
        compute="_compute_partner_id",
        store=True,
        readonly=False,
    )
    body = fields.Text("Text", compute="_compute_body")
    parts = fields.Integer(compute="_compute_body")
    encoding = fields.Char(compute="_compute_body")
    cost = fields.Char(compute="_compute_body")

    @api.depends("mailing_id")
    def _compute_partner_id(self):
        for wizard in self:
            if not wizard.partner_id and wizard.mailing_id:
                wizard.partner_id = self.env["res.partner"].search(
                    wizard.mailing_id._audience_domain(), limit=1
                )

    @api.depends("mailing_id", "partner_id")
    def _compute_body(self):
        for wizard in self:
            mailing = wizard.mailing_id
            if not wizard.partner_id:
                wizard.body = mailing.body
            else:
                wizard.body = mailing._render_for(
                    mailing._template(), wizard.partner_id
                )[wizard.partner_id.id]
            info = segments.analyze(wizard.body or "")
            wizard.parts = info.parts
            wizard.encoding = info.encoding
            number = wizard.partner_id.phone_sanitized
            provider = mailing.provider_id or (
                self.env["sms.provider"]._route(number, company=mailing.company_id)[:1]
                if number
                else self.env["sms.provider"]
            )
            if provider and number and wizard.body:
                estimate = provider._estimate_cost([number], wizard.body)
                wizard.cost = (
                    f"{estimate['total_cost']:.2f} {estimate['currency']}"
                    if estimate["available"]
                    else estimate["message"]
                )
            else:
                wizard.cost = False
