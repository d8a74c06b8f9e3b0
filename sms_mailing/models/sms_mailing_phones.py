"""Every phone of a contact: one message per distinct valid number (mobile and
phone), with the exclusions applied to each number."""

from odoo import fields, models
from odoo.tools import SQL

from ..tools import phone
from .sms_mailing_audience import IS_RECIPIENT


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingPhones(models.Model):
    _inherit = "sms.mailing"

    all_phones = fields.Boolean(
        "Every phone of a contact",
        tracking=True,
        help="Send to each distinct valid number of a contact (mobile and phone), "
        "one SMS per number. Each number is checked on its own: a blacklisted "
        "number or one another contact already gets is left out. Without it, a "
        "contact gets one SMS, on its mobile, else its phone.",
    )

    def _second_numbers(self, partner_ids):
        """``{partner_id: e164}``: the other valid number of each contact with
        both a mobile and a phone, when it differs from its first number
        (``phone_sanitized``: the mobile, else the phone)."""
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, p.phone_sanitized, p.mobile, p.phone, c.code
                  FROM res_partner p
             LEFT JOIN res_country c ON c.id = p.country_id
                 WHERE p.id IN %s
                   AND NULLIF(btrim(p.mobile), '') IS NOT NULL
                   AND NULLIF(btrim(p.phone), '') IS NOT NULL
                """,
                partner_ids,
            )
        )
        seconds = {}
        for partner_id, first, mobile, landline, country in self.env.cr.fetchall():
            for raw in (mobile, landline):
                e164, _error = phone.normalize(raw, country)
                if e164 and e164 != first:
                    seconds[partner_id] = e164
                    break
        return seconds

    def _blacklisted(self, numbers):
        if not numbers:
            return set()
        # sudo: whether numbers are blacklisted (yes/no), as the launch's
        # own query reads phone_blacklist.
        return set(
            self.env["phone.blacklist"]
            .sudo()
            .search([("number", "in", list(numbers))])
            .mapped("number")
        )

    def _batch_rows(self, partner_ids):
        rows = super()._batch_rows(partner_ids)
        if not self.all_phones:
            return rows
        seconds = self._second_numbers(tuple(partner_ids) or (0,))
        blacklisted = self._blacklisted(seconds.values())
        result = []
        for partner_id, e164, raw, optout, is_blacklisted in rows:
            result.append(((partner_id, 0), e164, raw, optout, is_blacklisted))
            second = seconds.get(partner_id)
            if second:
                result.append(
                    ((partner_id, 1), second, second, optout, second in blacklisted)
                )
        return result

    def _audience_stats(self):
        stats = super()._audience_stats()
        if not self.all_phones or not stats["total"]:
            return stats
        # The second numbers of the contacts who get SMS, not blacklisted,
        # and not the first number of a recipient (the queue's duplicates).
        self.env.cr.execute(
            self._audience_sql(
                SQL("p.id"),
                self._audience_query().subselect(),
                where=SQL("p.sms_opt_out IS NOT TRUE"),
            )
        )
        ids = tuple(row[0] for row in self.env.cr.fetchall())
        if not ids:
            return stats
        seconds = set(self._second_numbers(ids).values())
        seconds -= self._blacklisted(seconds)
        if seconds:
            self.env.cr.execute(
                self._audience_sql(
                    SQL("DISTINCT p.phone_sanitized"),
                    ids,
                    where=SQL(
                        "%s AND p.phone_sanitized = ANY(%s)",
                        IS_RECIPIENT,
                        list(seconds),
                    ),
                )
            )
            seconds -= {row[0] for row in self.env.cr.fetchall()}
        stats["recipients"] += len(seconds)
        return stats

    def _estimate_texts(self, partners):
        texts, notes = super()._estimate_texts(partners)
        if not self.all_phones or not partners:
            return texts, notes
        # One text per number: a contact's second number gets the same text
        # (the same length: its opt-out link names another message of the
        # same id length).
        # A second number that is another recipient's number (or another
        # contact's second number) is a duplicate, as when queuing.
        seconds = self._second_numbers(tuple(partners.ids))
        taken = set(partners.mapped("phone_sanitized")) | self._blacklisted(
            seconds.values()
        )
        extra = []
        for partner_id, text in zip(partners.ids, texts, strict=True):
            number = seconds.get(partner_id)
            if number and number not in taken:
                taken.add(number)
                extra.append(text)
        return texts + extra, notes
