from odoo import _, api, fields, models
from odoo.exceptions import UserError


class SmsMailingListAdd(models.TransientModel):
    _name = "sms.mailing.list.add"
    _description = "Add contacts to an SMS list"

    partner_ids = fields.Many2many("res.partner", string="Contacts")
    partner_count = fields.Integer(
        "Selected contacts", compute="_compute_partner_count"
    )
    list_id = fields.Many2one("sms.mailing.list")
    list_name = fields.Char("New list")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if (
            "partner_ids" in fields_list
            and self.env.context.get("active_model") == "res.partner"
            and self.env.context.get("active_ids")
        ):
            values["partner_ids"] = [fields.Command.set(self.env.context["active_ids"])]
        return values

    @api.depends("partner_ids")
    def _compute_partner_count(self):
        for wizard in self:
            wizard.partner_count = len(wizard.partner_ids)

    def action_add(self):
        self.ensure_one()
        if not self.partner_ids:
            raise UserError(_("Select the contacts to add to the list."))
        mailing_list = self.list_id
        if not mailing_list:
            name = (self.list_name or "").strip()
            if not name:
                raise UserError(_("Choose a list or name a new one."))
            mailing_list = self.env["sms.mailing.list"].create({"name": name})
        added = mailing_list._add_partners(self.partner_ids.ids)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": _(
                    "%(added)s contacts added to %(list)s (%(already)s were already "
                    "in it).",
                    added=added,
                    list=mailing_list.name,
                    already=len(self.partner_ids) - added,
                ),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
