from odoo import _, api, fields, models

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
    too_long = fields.Char(compute="_compute_body")

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
                wizard.body = mailing._finalize_texts({0: mailing.body or ""})[0]
            else:
                wizard.body = mailing._final_texts(wizard.partner_id)[
                    wizard.partner_id.id
                ]
            info = segments.analyze(wizard.body or "")
            wizard.parts = info.parts
            wizard.encoding = info.encoding
            number = wizard.partner_id.phone_sanitized
            provider = mailing._provider_for(number) if number else None
            if provider and wizard.body:
                wizard.cost = provider._estimate_cost_text([number], wizard.body)
            else:
                wizard.cost = False
            limit = mailing.max_parts
            wizard.too_long = (
                _(
                    "Too long: this text takes %(parts)s SMS parts and the provider "
                    "accepts at most %(max)s. Shorten it.",
                    parts=info.parts,
                    max=limit,
                )
                if limit and info.parts > limit
                else False
            )
