from odoo import fields, models


class LinkTrackerClick(models.Model):
    _inherit = "link.tracker.click"

    sms_sms_id = fields.Many2one(
        "sms.sms",
        "SMS",
        index="btree_not_null",
        ondelete="set null",
        help="The SMS of a mailing whose tracked link was clicked.",
    )
