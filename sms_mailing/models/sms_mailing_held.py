from odoo import fields, models


class SmsMailingHeld(models.Model):
    """Contacts of an A/B test's audience waiting for the winning text.

    While the test runs, the recipients outside the test share are kept here
    (contact ids, as in ``sms.mailing.batch``); when the winner is chosen they
    become the mailing's audience batches again and are queued with its text.
    """

    _name = "sms.mailing.held"
    _description = "SMS Mailing Held Recipients"
    _order = "mailing_id, id"
    _log_access = False

    mailing_id = fields.Many2one("sms.mailing", required=True, ondelete="cascade")
    partner_ids_text = fields.Text(
        "Contact ids", required=True, help="Comma-separated, in ascending order."
    )
