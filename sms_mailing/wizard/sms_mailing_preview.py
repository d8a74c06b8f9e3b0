from odoo import _, api, fields, models

from ..tools import audience, segments


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
    not_received = fields.Char(
        "Why not received",
        compute="_compute_not_received",
        help="Why the chosen contact will not receive this mailing.",
    )

    @api.depends("mailing_id")
    def _compute_partner_id(self):
        for wizard in self:
            if not wizard.partner_id and wizard.mailing_id:
                # A contact who will receive it, else whoever the audience
                # holds: the hint then says why that one gets nothing.
                wizard.partner_id = wizard.mailing_id._sample_recipient()

    @api.depends("mailing_id", "partner_id")
    def _compute_not_received(self):
        for wizard in self:
            wizard.not_received = (
                wizard._not_received_reason() if wizard.partner_id else False
            )

    def _earlier_same_number(self, audience_domain):
        """The first contact of the audience before this one with the same
        number and not opted out (the one who gets the only SMS sent to it),
        or an empty recordset."""
        partner = self.partner_id
        number = partner.phone_sanitized
        Partner = self.env["res.partner"]
        if not number:
            return Partner
        return Partner.search(
            [
                *audience_domain,
                ("phone_sanitized", "=", number),
                ("sms_opt_out", "=", False),
                ("id", "<", partner.id),
            ],
            limit=1,
            order="id",
        )

    def _not_received_reason(self):
        """A sentence saying why the contact gets no SMS of this mailing, or
        False when they get one (the reasons and their order are those of the
        launch, tools/audience.py)."""
        partner = self.partner_id
        name = partner.display_name
        audience_domain = self.mailing_id._audience_domain()
        Partner = self.env["res.partner"]
        if not Partner.search_count([*audience_domain, ("id", "=", partner.id)]):
            return _(
                "%(name)s is not in the audience of this mailing: this is the "
                "text they would get if they were.",
                name=name,
            )
        number = partner.phone_sanitized
        raw = partner.mobile or partner.phone
        first = self._earlier_same_number(audience_domain)
        seen = {number} if first else set()
        reason = audience.exclusion_reason(
            number, raw, partner.sms_opt_out, partner.phone_sanitized_blacklisted, seen
        )
        sentences = {
            audience.MISSING: _(
                "%(name)s will not receive this mailing: the contact has no "
                "mobile or phone number.",
                name=name,
            ),
            audience.INVALID: _(
                "%(name)s will not receive this mailing: %(number)s is not a "
                "valid phone number.",
                name=name,
                number=raw,
            ),
            audience.OPTOUT: _(
                "%(name)s will not receive this mailing: the contact is marked "
                "Do not use SMS.",
                name=name,
            ),
            audience.BLACKLIST: _(
                "%(name)s will not receive this mailing: %(number)s is on the "
                "blacklist.",
                name=name,
                number=number,
            ),
            audience.DUPLICATE: _(
                "%(name)s will not receive this mailing: %(number)s is also the "
                "number of %(other)s, who gets the only SMS sent to it.",
                name=name,
                number=number,
                other=first.display_name,
            ),
        }
        return sentences.get(reason, False)

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
