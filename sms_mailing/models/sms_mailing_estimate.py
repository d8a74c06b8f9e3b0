"""Before launch: recipients, SMS parts and cost a mailing will take."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import segments

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
        template = self._template()
        partners = self._estimate_partners(
            recipients if recipients <= ESTIMATE_EXACT_LIMIT else ESTIMATE_SAMPLE
        )
        notes = []
        try:
            texts = list(self._final_texts(partners, template=template).values())
        except UserError as err:
            # A text this user may not render (or that does not render yet):
            # Check and Launch refuse it and say why; the estimate counts the
            # raw text (with its opt-out line), and its note says why.
            raw = dict.fromkeys(partners.ids, self.body or "")
            texts = list(self._finalize_texts(raw).values())
            notes.append(str(err))
        infos = [segments.analyze(text) for text in texts]
        parts = sum(info.parts for info in infos)
        exact = len(texts) >= recipients
        if not exact:
            # Round up: a sample never makes the total smaller than it says.
            parts = -(-parts * recipients // max(len(texts), 1))
        longest = max(range(len(texts)), key=lambda i: infos[i].parts)
        values.update(
            parts_estimate=parts,
            body_parts=infos[longest].parts,
            body_encoding=segments.UCS2
            if any(info.encoding == segments.UCS2 for info in infos)
            else segments.GSM7,
        )
        if self.max_parts and values["body_parts"] > self.max_parts:
            values["too_long"] = _(
                "Too long: a recipient's text takes %(parts)s SMS parts and the "
                "provider accepts at most %(max)s. Shorten it.",
                parts=values["body_parts"],
                max=self.max_parts,
            )
        provider = self._provider_for(stats["sample_number"] or "")
        if not exact:
            notes.append(
                _(
                    "Approximate: computed on %(sample)s of %(total)s recipients.",
                    sample=len(texts),
                    total=recipients,
                )
            )
        if not provider:
            notes.append(_("No provider available."))
            values["cost_unknown"] = True
        else:
            # The cost of the longest text, per part, times every part: one
            # request to a provider's cost API, whatever the audience.
            amount, currency, note = provider._estimate_cost_amount(
                [stats["sample_number"]], texts[longest]
            )
            if amount is None:
                # Unknown, not 0 (e.g. SMS.ru's cost API refused the key).
                notes.append(note)
                values["cost_unknown"] = True
            else:
                per_part = amount / (infos[longest].parts or 1)
                values["cost_estimate"] = currency._convert(
                    per_part * parts,
                    self.currency_id,
                    self.company_id or self.env.company,
                    fields.Date.today(),
                )
        values["estimate_note"] = " ".join(notes) or False
        return values

    def _estimate_partners(self, limit):
        """Up to ``limit`` contacts who would get the SMS (one per number, as
        queuing picks them), spread over the audience."""
        self.ensure_one()
        self.env["res.partner"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM (
                    SELECT DISTINCT ON (p.phone_sanitized) p.id
                      FROM res_partner p
                 LEFT JOIN phone_blacklist bl
                        ON bl.number = p.phone_sanitized AND bl.active
                     WHERE p.id IN %s
                       AND p.phone_sanitized IS NOT NULL
                       AND p.sms_opt_out IS NOT TRUE
                       AND bl.id IS NULL
                  ORDER BY p.phone_sanitized, p.id
                ) AS recipients
              ORDER BY md5(id::text)
                 LIMIT %s
                """,
                self._audience_query().subselect(),
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
