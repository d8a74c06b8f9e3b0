from odoo import _, fields, models, tools
from odoo.tools import SQL

# Sent and received messages of every number, the rows of a conversation.
MESSAGES_SQL = """
            SELECT s.id * 2 AS id, s.number, s.partner_id, s.body,
                   COALESCE(s.sent_at, s.create_date) AS date, 'out' AS direction,
                   s.state, TRUE AS is_read, s.company_id,
                   s.id AS sms_id, NULL::integer AS inbound_id
              FROM sms_sms s
             WHERE s.number IS NOT NULL AND s.is_test IS NOT TRUE
               AND NOT (s.state = 'canceled' AND s.failure_type IS NOT NULL)
            UNION ALL
            SELECT i.id * 2 + 1, i.number, i.partner_id, i.body, i.received_at, 'in',
                   'received', i.is_read, i.company_id, NULL, i.id
              FROM sms_inbound i
"""


class SmsConversation(models.Model):
    """One row per phone number: the SMS sent to it and received from it."""

    _name = "sms.conversation"
    _description = "SMS Conversation"
    _auto = False
    _order = "last_date DESC"
    _rec_name = "number"

    number = fields.Char(readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    last_date = fields.Datetime("Last message", readonly=True)
    last_body = fields.Text("Last text", readonly=True)
    message_count = fields.Integer("Messages", readonly=True)
    unread_count = fields.Integer("Unread", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    message_ids = fields.One2many(
        "sms.conversation.message", compute="_compute_message_ids", string="Thread"
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
            CREATE VIEW %s AS
            SELECT hashtext(m.number) & 2147483647 AS id,
                   m.number,
                   (array_agg(m.partner_id ORDER BY m.date DESC)
                        FILTER (WHERE m.partner_id IS NOT NULL))[1] AS partner_id,
                   max(m.date) AS last_date,
                   (array_agg(m.body ORDER BY m.date DESC))[1] AS last_body,
                   count(*) AS message_count,
                   count(*) FILTER (WHERE m.direction = 'in' AND NOT m.is_read)
                       AS unread_count,
                   (array_agg(m.company_id ORDER BY m.date DESC))[1] AS company_id
              FROM (%s) AS m
          GROUP BY m.number
                """,
                SQL.identifier(self._table),
                SQL(MESSAGES_SQL),
            )
        )

    def _compute_message_ids(self):
        Message = self.env["sms.conversation.message"]
        for conversation in self:
            conversation.message_ids = Message.search(
                [("number", "=", conversation.number)], order="date ASC, id ASC"
            )

    def action_mark_read(self):
        self.env["sms.inbound"].search(
            [("number", "in", self.mapped("number")), ("is_read", "=", False)]
        ).write({"is_read": True})

    def action_reply(self):
        self.ensure_one()
        self.action_mark_read()
        return self.env["sms.partner.send"]._action_open(
            self.partner_id,
            number=self.number,
            title=_("Reply to %(number)s", number=self.number),
        )


class SmsConversationMessage(models.Model):
    """Sent (``sms.sms``) and received (``sms.inbound``) messages together."""

    _name = "sms.conversation.message"
    _description = "SMS Conversation Message"
    _auto = False
    _order = "date DESC, id DESC"
    _rec_name = "number"

    number = fields.Char(readonly=True)
    partner_id = fields.Many2one("res.partner", "Contact", readonly=True)
    body = fields.Text(readonly=True)
    date = fields.Datetime(readonly=True)
    direction = fields.Selection([("out", "Sent"), ("in", "Received")], readonly=True)
    state = fields.Selection(
        [
            ("outgoing", "In Queue"),
            ("process", "Processing"),
            ("pending", "Sent"),
            ("sent", "Delivered"),
            ("error", "Error"),
            ("canceled", "Cancelled"),
            ("received", "Received"),
        ],
        readonly=True,
    )
    is_read = fields.Boolean(readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    sms_id = fields.Many2one("sms.sms", readonly=True)
    inbound_id = fields.Many2one("sms.inbound", readonly=True)

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL("CREATE VIEW %s AS %s", SQL.identifier(self._table), SQL(MESSAGES_SQL))
        )
