from odoo import fields, models


class SmsMailingBatch(models.Model):
    """A batch of a launching mailing's audience, frozen when queuing starts.

    The queuing cron evaluates the audience once, in one query, and stores it
    here as batches of contact ids in ascending order; then it takes the
    batches one by one, removing each in the transaction that queues its
    messages. Evaluating the audience's domain again for every batch (with a
    keyset condition ``id > last id queued``) made each batch scan the part of
    the audience already queued: a many2many group such as a tag is read from
    its first contact every time, so that a launch cost grew with the square of
    its audience.
    """

    _name = "sms.mailing.batch"
    _description = "SMS Mailing Audience Batch"
    _order = "mailing_id, sequence"
    _log_access = False

    mailing_id = fields.Many2one("sms.mailing", required=True, ondelete="cascade")
    sequence = fields.Integer(required=True)
    partner_ids_text = fields.Text(
        "Contact ids", required=True, help="Comma-separated, in ascending order."
    )

    _sql_constraints = [
        (
            "mailing_sequence_unique",
            "UNIQUE(mailing_id, sequence)",
            "A mailing has one audience batch per position.",
        ),
    ]
