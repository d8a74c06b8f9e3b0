from odoo import _, api, fields, models
from odoo.tools import SQL

# The table of list members, shared by sms.mailing.list.partner_ids and
# res.partner.sms_list_ids.
LIST_RELATION = "sms_mailing_list_res_partner_rel"


class SmsMailingList(models.Model):
    _name = "sms.mailing.list"
    _description = "SMS Mailing List"
    _order = "name"
    _check_company_auto = True

    name = fields.Char(required=True)
    partner_ids = fields.Many2many(
        "res.partner",
        LIST_RELATION,
        "list_id",
        "partner_id",
        string="Contacts",
        help="Contacts of this list: they receive the mailings that use it, "
        "unless they are excluded (no valid number, Do not use SMS, blacklisted).",
    )
    partner_count = fields.Integer(
        "Number of contacts", compute="_compute_partner_count"
    )
    company_id = fields.Many2one("res.company", default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    description = fields.Text()

    _sql_constraints = [
        (
            "name_company_unique",
            "UNIQUE(name, company_id)",
            "A list of this name exists.",
        ),
    ]

    @api.depends("partner_ids")
    def _compute_partner_count(self):
        # Counted in SQL: a list may hold 100,000 contacts, never read them.
        counts = {}
        if self.ids:
            self.env["res.partner"].flush_model(["active"])
            self.flush_model(["partner_ids"])
            self.env.cr.execute(
                SQL(
                    """
                    SELECT rel.list_id, count(*)
                      FROM %s rel
                      JOIN res_partner p ON p.id = rel.partner_id AND p.active
                     WHERE rel.list_id = ANY(%s)
                  GROUP BY rel.list_id
                    """,
                    SQL.identifier(LIST_RELATION),
                    self.ids,
                )
            )
            counts = dict(self.env.cr.fetchall())
        for mailing_list in self:
            mailing_list.partner_count = counts.get(mailing_list._origin.id, 0)

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for mailing_list, vals in zip(self, vals_list, strict=True):
            if "name" not in (default or {}):
                vals["name"] = _("%(name)s (copy)", name=mailing_list.name)
        return vals_list

    def _add_partners(self, partner_ids):
        """Add contacts by id in one statement; returns how many were new.

        The relation is written in SQL: linking 100,000 contacts through the
        ORM would load the list's current members into the cache.
        """
        self.ensure_one()
        self.check_access("write")
        partner_ids = list(partner_ids)
        if not partner_ids:
            return 0
        self.flush_model(["partner_ids"])
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO %s (list_id, partner_id)
                SELECT %s, unnest(%s::int[])
                    ON CONFLICT DO NOTHING
                """,
                SQL.identifier(LIST_RELATION),
                self.id,
                partner_ids,
            )
        )
        added = self.env.cr.rowcount
        self.invalidate_recordset(["partner_ids", "partner_count"])
        self.env["res.partner"].invalidate_model(["sms_list_ids"])
        return added

    def action_view_partners(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": "res.partner",
            "view_mode": "list,form",
            "views": [
                (self.env.ref("sms_mailing.res_partner_view_list_sms_list").id, "list"),
                (False, "form"),
            ],
            "domain": [("sms_list_ids", "in", self.ids)],
            "context": {"default_sms_list_ids": [(4, self.id)]},
        }

    def action_import(self):
        self.ensure_one()
        return self.env["sms.contact.import"]._action_open({"default_list_id": self.id})
