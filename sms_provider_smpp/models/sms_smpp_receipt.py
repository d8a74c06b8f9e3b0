from odoo import fields, models


class SmsSmppReceipt(models.Model):
    """A delivery receipt received before its message could be found (its
    submit_sm_resp not yet stored by another lane, or a part id not yet
    known): applied by the next session or the scheduled read of received
    messages, forgotten after ``KEEP_DAYS``."""

    _name = "sms.smpp.receipt"
    _description = "SMPP delivery receipt waiting for its message"
    _order = "id"
    _log_access = False

    provider_id = fields.Many2one(
        "sms.provider", required=True, ondelete="cascade", index=True
    )
    message_id = fields.Char(required=True)
    state = fields.Char(required=True)
    failure_type = fields.Char()
    error = fields.Char()
    received_at = fields.Datetime(default=fields.Datetime.now, index=True)
