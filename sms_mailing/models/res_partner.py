from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import phone
from ..tools.macros import split_name


class ResPartner(models.Model):
    _inherit = "res.partner"

    sms_opt_out = fields.Boolean(
        "Do not use SMS",
        tracking=True,
        help="The contact is left out of SMS mailings. An SMS sent from the "
        "contact card still goes out, with a warning.",
    )
    sms_ids = fields.One2many("sms.sms", "partner_id", "Sent SMS", readonly=True)
    sms_list_ids = fields.Many2many(
        "sms.mailing.list",
        "sms_mailing_list_res_partner_rel",
        "partner_id",
        "list_id",
        string="SMS lists",
    )
    sms_count = fields.Integer("SMS", compute="_compute_sms_count")
    sms_first_name = fields.Char(
        "First name", compute="_compute_sms_names", help="For SMS macros."
    )
    sms_last_name = fields.Char(
        "Last name", compute="_compute_sms_names", help="For SMS macros."
    )

    sms_exclusion_reason = fields.Char(
        "Reason",
        compute="_compute_sms_exclusion_reason",
        groups="sms_mailing.group_sms_user",
        help="Why the contact gets no SMS of the mailing whose excluded contacts "
        "are listed.",
    )

    @api.depends_context("sms_exclusion_mailing_id")
    def _compute_sms_exclusion_reason(self):
        reasons = {}
        mailing_id = self.env.context.get("sms_exclusion_mailing_id")
        mailing = self.env["sms.mailing"]
        if mailing_id and isinstance(mailing_id, int):
            mailing = mailing.browse(mailing_id).exists()
        if mailing:
            labels = mailing._exclusion_labels()
            # No sudo: the user's rights on the mailing's messages apply.
            for sms in self.env["sms.sms"].search_fetch(
                [
                    ("sms_mailing_id", "=", mailing.id),
                    ("partner_id", "in", self.ids),
                    ("state", "=", "canceled"),
                    ("failure_type", "in", list(labels)),
                ],
                ["partner_id", "failure_type"],
            ):
                reasons[sms.partner_id.id] = labels[sms.failure_type]
        for partner in self:
            partner.sms_exclusion_reason = reasons.get(partner.id, False)

    def _phone_format(
        self,
        fname=False,
        number=False,
        country=False,
        force_format="E164",
        raise_exception=False,
    ):
        """No E.164 number longer than E.164 allows (15 digits): phonenumbers
        calls some such numbers valid (German ones of 16 digits), no SMS
        provider takes them. The contact's sanitized number is then its other
        number, or none (invalid for a mailing, as the card and the import
        say)."""
        formatted = super()._phone_format(
            fname=fname,
            number=number,
            country=country,
            force_format=force_format,
            raise_exception=raise_exception,
        )
        if force_format != "E164" or not formatted or phone.is_e164(formatted):
            return formatted
        if raise_exception:
            raise UserError(
                _(
                    "%(number)s has more digits than an international number may "
                    "have (15).",
                    number=formatted,
                )
            )
        return False

    @api.depends("name", "is_company")
    def _compute_sms_names(self):
        for partner in self:
            first, last = split_name(partner.name, partner.is_company)
            partner.sms_first_name = first
            partner.sms_last_name = last

    @api.depends_context("uid")
    def _compute_sms_count(self):
        # No sudo: the count is of the SMS the user may read (the button opens
        # that list), never of other users' SMS.
        counts = dict(
            self.env["sms.sms"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.sms_count = counts.get(partner, 0)

    def action_open_sms_send(self):
        """Our send dialog: the card's SMS button, the SMS button of the phone
        and mobile fields (``sms_number`` in the context) and Action > Send SMS
        all open it."""
        self.ensure_one()
        return self.env["sms.partner.send"]._action_open(
            self,
            number=self.env.context.get("sms_number") or None,
            title=_("Send an SMS to %(name)s", name=self.display_name),
        )

    def action_view_sms(self):
        self.ensure_one()
        return self.env["sms.sms"]._action_open(
            [("partner_id", "=", self.id)], {"default_partner_id": self.id}
        )

    @api.model
    def _sms_demo_set_lang(self, xmlids_by_lang):
        """Demo data: the demo contacts get the language of their country when
        it is installed (a contact's language must be an active one), so that
        the opt-out page and templates answer them in it."""
        for code, xmlids in xmlids_by_lang.items():
            if not self.env["res.lang"]._get_code(code):
                continue
            for xmlid in xmlids:
                partner = self.env.ref(xmlid, raise_if_not_found=False)
                if partner:
                    partner.lang = code
