from odoo import _, api, fields, models, tools
from odoo.tools import SQL

# Sent and received messages of every number, the rows of a conversation.
# Only the messages the current user may read are taken: the ids come from
# ``_search`` on ``sms.sms`` and ``sms.inbound``, which applies their record
# rules (an SMS User reads the SMS they sent and the received SMS of their
# companies; a manager reads every SMS of their companies).
MESSAGES_SQL = """
            SELECT s.id * 2 AS id, s.number, s.partner_id, s.body,
                   COALESCE(s.sent_at, s.create_date) AS date, 'out' AS direction,
                   s.state, TRUE AS is_read, s.company_id, s.create_uid AS user_id,
                   s.id AS sms_id, NULL::integer AS inbound_id
              FROM sms_sms s
             WHERE s.number IS NOT NULL AND s.is_test IS NOT TRUE
               AND NOT (s.state = 'canceled' AND s.failure_type IS NOT NULL)
               AND s.id IN %s
            UNION ALL
            SELECT i.id * 2 + 1, i.number, i.partner_id, i.body, i.received_at, 'in',
                   'received', i.is_read, i.company_id, NULL, NULL, i.id
              FROM sms_inbound i
             WHERE i.id IN %s
"""

MESSAGES_DEPENDS = {
    "sms.sms": [
        "number",
        "partner_id",
        "body",
        "sent_at",
        "state",
        "failure_type",
        "company_id",
        "is_test",
        "create_uid",
    ],
    "sms.inbound": ["number", "partner_id", "body", "received_at", "is_read"],
}


def _messages_sql(env):
    """The rows of every message ``env``'s user may read (see MESSAGES_SQL)."""
    return SQL(
        MESSAGES_SQL,
        env["sms.sms"]._search([]).subselect(),
        env["sms.inbound"]._search([]).subselect(),
    )


class SmsConversation(models.Model):
    """One row per phone number: the SMS sent to it and received from it."""

    _name = "sms.conversation"
    _description = "SMS Conversation"
    _auto = False
    _depends = MESSAGES_DEPENDS
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

    @property
    def _table_query(self):
        # Built for the current user: each sees the totals and last text of
        # the messages they may read, never another user's outgoing text.
        return SQL(
            """
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
            _messages_sql(self.env),
        )

    def init(self):
        # Earlier versions stored a view shared by every user.
        tools.drop_view_if_exists(self.env.cr, self._table)

    @api.depends_context("uid")
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
    _depends = MESSAGES_DEPENDS
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
    user_id = fields.Many2one("res.users", "Sent by", readonly=True)
    sms_id = fields.Many2one("sms.sms", readonly=True)
    inbound_id = fields.Many2one("sms.inbound", readonly=True)

    @property
    def _table_query(self):
        return _messages_sql(self.env)

    def init(self):
        # Earlier versions stored a view shared by every user.
        tools.drop_view_if_exists(self.env.cr, self._table)
