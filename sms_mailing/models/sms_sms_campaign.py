"""The A/B test variant a mailing message carries."""

from odoo import fields, models


# One concern per file (see models/__init__.py).
# pylint: disable=consider-merging-classes-inherited
class SmsSms(models.Model):
    _inherit = "sms.sms"

    sms_mailing_variant_id = fields.Many2one(
        "sms.mailing.variant",
        "Variant",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
