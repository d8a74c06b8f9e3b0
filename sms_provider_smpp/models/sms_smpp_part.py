from odoo import fields, models


class SmsSmppPart(models.Model):
    """The SMSC message id of a later part of a concatenated SMS, pointing to
    the first part's id (the ``provider_message_id`` of the ``sms.sms``), so
    that the receipt of any part finds its message."""

    _name = "sms.smpp.part"
    _description = "SMPP message part"
    _log_access = False

    provider_id = fields.Many2one(
        "sms.provider", required=True, ondelete="cascade", index=True
    )
    part_message_id = fields.Char("Part message ID", required=True, index=True)
    message_id = fields.Char(required=True)
    received_at = fields.Datetime(default=fields.Datetime.now, index=True)
