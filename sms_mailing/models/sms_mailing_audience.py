"""Who a mailing reaches: its audience (contacts, dynamic groups, lists) and
the recipients left after exclusions."""

from odoo import api, models
from odoo.osv import expression
from odoo.tools import SQL

# Who of the audience gets a message, in :meth:`SmsMailingAudience._audience_sql`:
# a valid number, not "Do not use SMS", not on the phone blacklist. (The
# queuing cron decides the same per contact, with a reason for each excluded
# one: ``tools.audience.exclusion_reason``.)
IS_RECIPIENT = SQL(
    "p.phone_sanitized IS NOT NULL AND p.sms_opt_out IS NOT TRUE AND bl.id IS NULL"
)


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingAudience(models.Model):
    _inherit = "sms.mailing"

    def _audience_domain(self):
        self.ensure_one()
        domains = []
        # _origin: the estimate follows an unsaved form (records of an onchange).
        if self.partner_ids:
            domains.append([("id", "in", self.partner_ids._origin.ids)])
        for group in self.group_ids._origin:
            domains.append(group._get_domain())
        if self.list_ids:
            domains.append([("sms_list_ids", "in", self.list_ids.ids)])
        if not domains:
            return expression.FALSE_DOMAIN
        return expression.OR(domains)

    def _sample_recipient(self, recipients_only=False):
        """The contact a sample text is shown for (Check, *Text as sent*):
        the first contact of the audience who will receive the mailing (a
        valid number, not *Do not use SMS*, not blacklisted), else, unless
        ``recipients_only``, its first contact."""
        self.ensure_one()
        Partner = self.env["res.partner"]
        domain = self._audience_domain()
        recipient = Partner.search(
            [
                *domain,
                ("phone_sanitized", "!=", False),
                ("sms_opt_out", "=", False),
                ("phone_sanitized_blacklisted", "=", False),
            ],
            limit=1,
            order="id",
        )
        if recipient or recipients_only:
            return recipient
        return Partner.search(domain, limit=1, order="id")

    def _audience_query(self):
        return self.env["res.partner"]._search(self._audience_domain())

    @api.model
    def _audience_sql(self, columns, partner_ids, where=None, tail=None):
        """``SELECT columns`` of the contacts ``partner_ids`` (a subquery, or a
        list of ids), each beside its active blacklist entry: the one place the
        exclusion join is written. ``p`` is the contact, ``bl`` its blacklist
        entry (``bl.id IS NULL``: not blacklisted); :data:`IS_RECIPIENT` is
        the condition of a contact who gets a message. ``where`` adds a
        condition, ``tail`` ends the query (ORDER BY, LIMIT)."""
        if isinstance(partner_ids, SQL):
            in_audience = SQL("p.id IN %s", partner_ids)
        else:
            in_audience = SQL("p.id = ANY(%s)", list(partner_ids))
        return SQL(
            """
            SELECT %s
              FROM res_partner p
         LEFT JOIN phone_blacklist bl
                ON bl.number = p.phone_sanitized AND bl.active
             WHERE %s AND %s
                   %s
            """,
            columns,
            in_audience,
            where or SQL("TRUE"),
            tail or SQL(""),
        )

    def _audience_stats(self):
        """Recipients after exclusions, computed in one SQL query."""
        self.ensure_one()
        self.env["res.partner"].flush_model()
        columns = SQL(
            """
            count(*),
            count(*) FILTER (WHERE p.phone_sanitized IS NULL),
            count(*) FILTER (WHERE p.phone_sanitized IS NOT NULL AND p.sms_opt_out),
            count(*) FILTER (WHERE p.phone_sanitized IS NOT NULL
                             AND p.sms_opt_out IS NOT TRUE AND bl.id IS NOT NULL),
            count(DISTINCT p.phone_sanitized) FILTER (WHERE %(recipient)s),
            min(p.phone_sanitized) FILTER (WHERE %(recipient)s)
            """,
            recipient=IS_RECIPIENT,
        )
        self.env.cr.execute(
            self._audience_sql(columns, self._audience_query().subselect())
        )
        total, no_number, optout, blacklist, recipients, sample = self.env.cr.fetchone()
        return {
            "total": total,
            "no_number": no_number,
            "optout": optout,
            "blacklist": blacklist,
            "recipients": recipients,
            "sample_number": sample,
        }

    def _audience_presence(self):
        """``(has_contacts, has_recipients)``: whether the audience has a
        contact, and a contact who would get a message (a valid number, not
        *Do not use SMS*, not blacklisted). Stops at the first of each, where
        counting them all (``_audience_stats``) reads the whole audience: at
        launch, a million contacts took seconds."""
        self.ensure_one()
        self.env["res.partner"].flush_model()
        audience_ids = self._audience_query().subselect()
        self.env.cr.execute(
            SQL(
                """
                SELECT EXISTS (SELECT 1 FROM res_partner p WHERE p.id IN %s),
                       EXISTS (%s)
                """,
                audience_ids,
                self._audience_sql(SQL("1"), audience_ids, where=IS_RECIPIENT),
            )
        )
        return self.env.cr.fetchone()
