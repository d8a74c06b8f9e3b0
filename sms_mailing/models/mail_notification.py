from odoo import fields, models


class MailNotification(models.Model):
    _inherit = "mail.notification"

    # Provider answers stored on sms.sms are copied here by sms.tracker.
    failure_type = fields.Selection(
        selection_add=[
            ("sms_blacklist", "Blacklisted"),
            ("sms_optout", "Opted Out"),
            ("sms_duplicate", "Duplicate"),
        ]
    )
