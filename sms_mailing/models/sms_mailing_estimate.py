"""Before launch: recipients, SMS parts and cost a mailing will take."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import estimate
from .sms_mailing_audience import IS_RECIPIENT

# Audiences up to this size are rendered whole for the estimate; larger ones
# are estimated from a sample of this many recipients.
ESTIMATE_EXACT_LIMIT = 500
ESTIMATE_SAMPLE = 200


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingEstimate(models.Model):
    _inherit = "sms.mailing"

    @api.depends(
        "body",
        "partner_ids",
        "group_ids",
        "list_ids",
        "provider_id",
        "company_id",
        "state",
        "optout_link",
        "link_tracking",
    )
    def _compute_estimate(self):
        for mailing in self:
            mailing.update(
                {
                    "recipient_estimate": 0,
                    "parts_estimate": 0,
                    "cost_estimate": 0.0,
                    "cost_unknown": False,
                    "estimate_note": False,
                    "body_parts": 0,
                    "body_encoding": False,
                    "too_long": False,
                }
            )
            if mailing.state not in ("draft", "scheduled"):
                continue
            try:
                estimate = mailing._estimate()
            except UserError as err:
                mailing.estimate_note = str(err)
                mailing.cost_unknown = bool((mailing.body or "").strip())
                continue
            mailing.update(estimate)

    def _estimate(self):
        """Recipients, parts and cost of the mailing, from the texts recipients
        get (``_final_texts``): exact for an audience of up to
        ``ESTIMATE_EXACT_LIMIT`` recipients, else scaled from a sample and
        said to be approximate."""
        self.ensure_one()
        stats = self._audience_stats()
        recipients = stats["recipients"]
        values = {"recipient_estimate": recipients}
        if not recipients or not (self.body or "").strip():
            return values
        partners = self._estimate_partners(
            recipients if recipients <= ESTIMATE_EXACT_LIMIT else ESTIMATE_SAMPLE
        )
        texts, notes = self._estimate_texts(partners)
        parts, longest = estimate.summarize_parts(texts, recipients)
        values.update(parts)
        if self.max_parts and values["body_parts"] > self.max_parts:
            values["too_long"] = _(
                "Too long: a recipient's text takes %(parts)s SMS parts and the "
                "provider accepts at most %(max)s. Shorten it.",
                parts=values["body_parts"],
                max=self.max_parts,
            )
        if len(texts) < recipients:
            notes.append(
                _(
                    "Approximate: computed on %(sample)s of %(total)s recipients.",
                    sample=len(texts),
                    total=recipients,
                )
            )
        cost, note = self._estimate_cost(stats["sample_number"], texts[longest], values)
        if note:
            notes.append(note)
        if cost is None:
            # Unknown, not 0 (no provider, or e.g. SMS.ru's cost API refused
            # the key): the form shows Unknown.
            values["cost_unknown"] = True
        else:
            values["cost_estimate"] = cost
        values["estimate_note"] = " ".join(notes) or False
        return values

    def _estimate_texts(self, partners):
        """``(texts, notes)``: the final texts of ``partners``, and why they
        are not (a text this user may not render, or that does not render
        yet: Check and Launch refuse it and say why; the estimate counts the
        raw text, with its opt-out line, and its note says why)."""
        template = self._template()
        try:
            return list(self._final_texts(partners, template=template).values()), []
        except UserError as err:
            raw = dict.fromkeys(partners.ids, self.body or "")
            return list(self._finalize_texts(raw).values()), [str(err)]

    def _estimate_cost(self, number, text, parts):
        """``(cost, note)`` of the mailing in its currency: the cost of the
        longest ``text``, per part, times every part (``parts``: the
        estimate's values), asked to the provider of ``number`` (one request
        to its cost API, whatever the audience); ``None`` and why when it is
        not known."""
        provider = self._provider_for(number or "")
        if not provider:
            return None, _("No provider available.")
        amount, currency, note = provider._estimate_cost_amount([number], text)
        if amount is None:
            return None, note
        per_part = amount / (parts["body_parts"] or 1)
        cost = currency._convert(
            per_part * parts["parts_estimate"],
            self.currency_id,
            self.company_id or self.env.company,
            fields.Date.today(),
        )
        return cost, None

    def _estimate_partners(self, limit):
        """Up to ``limit`` contacts who would get the SMS (one per number, as
        queuing picks them), spread over the audience."""
        self.ensure_one()
        self.env["res.partner"].flush_model()
        recipients = self._audience_sql(
            SQL("DISTINCT ON (p.phone_sanitized) p.id"),
            self._audience_query().subselect(),
            where=IS_RECIPIENT,
            tail=SQL("ORDER BY p.phone_sanitized, p.id"),
        )
        self.env.cr.execute(
            SQL(
                "SELECT id FROM (%s) AS recipients ORDER BY md5(id::text) LIMIT %s",
                recipients,
                limit,
            )
        )
        return self.env["res.partner"].browse(row[0] for row in self.env.cr.fetchall())

    def _provider_for(self, number):
        """The mailing's provider, else the one routing picks for ``number``."""
        self.ensure_one()
        return (
            self.provider_id
            or self.env["sms.provider"]._route(number, company=self.company_id)[:1]
        )
