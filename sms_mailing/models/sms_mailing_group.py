import ast

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.safe_eval import safe_eval


class SmsMailingGroup(models.Model):
    _name = "sms.mailing.group"
    _description = "SMS Dynamic Group"
    _order = "name"

    # translatable like a tag: a group is shared configuration (the demo one
    # is named in each language)
    name = fields.Char(required=True, translate=True)
    domain = fields.Char(
        default="[]",
        required=True,
        help="Contacts matching this filter when a mailing is launched.",
    )
    filter_id = fields.Many2one(
        "ir.filters",
        "Saved filter",
        domain="[('model_id', '=', 'res.partner')]",
        help="Pick a saved filter of Contacts, then Import it.",
    )
    partner_count = fields.Integer("Contacts", compute="_compute_partner_count")
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    active = fields.Boolean(default=True)

    def _get_domain(self):
        self.ensure_one()
        try:
            domain = ast.literal_eval(self.domain or "[]")
        except (ValueError, SyntaxError):
            domain = safe_eval(self.domain or "[]", self._domain_context())
        return domain

    def _domain_context(self):
        return {
            "uid": self.env.uid,
            "user": self.env.user,
            "context_today": fields.Date.today,
        }

    @api.depends("domain")
    def _compute_partner_count(self):
        Partner = self.env["res.partner"]
        for group in self:
            try:
                group.partner_count = Partner.search_count(group._get_domain())
            except Exception:  # pylint: disable=broad-except
                group.partner_count = 0

    @api.constrains("domain")
    def _check_domain(self):
        for group in self:
            try:
                self.env["res.partner"].search_count(group._get_domain(), limit=1)
            except Exception as err:
                raise ValidationError(
                    _(
                        "The filter of %(name)s is not valid: %(error)s",
                        name=group.name,
                        error=err,
                    )
                ) from err

    def action_import_filter(self):
        self.ensure_one()
        if not self.filter_id:
            raise UserError(_("Choose a saved filter of Contacts to import."))
        self.write(
            {"domain": self.filter_id.domain, "name": self.name or self.filter_id.name}
        )

    def action_view_partners(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": "res.partner",
            "view_mode": "list,form",
            "domain": self._get_domain(),
        }
