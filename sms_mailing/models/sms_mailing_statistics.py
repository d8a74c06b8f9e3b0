"""After launch: what happened to a mailing's messages (counters, ratios,
exclusion and failure summaries, clicks and opt-outs)."""

from collections import defaultdict

from markupsafe import Markup

from odoo import _, api, models
from odoo.tools import SQL

from ..tools.audience import EXCLUSIONS


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingStatistics(models.Model):
    _inherit = "sms.mailing"

    def _compute_statistics(self):
        self.env["sms.sms"].flush_model()
        # sudo: counters only (no text, no number) of mailings the user can read.
        rows = (
            self.env["sms.sms"]
            .sudo()
            ._read_group(
                [("sms_mailing_id", "in", self.ids), ("is_test", "=", False)],
                ["sms_mailing_id", "state", "failure_type"],
                ["__count", "parts:sum", "cost:sum"],
            )
        )
        stats = defaultdict(lambda: defaultdict(float))
        exclusions = defaultdict(dict)
        for mailing, state, failure_type, count, parts, cost in rows:
            data = stats[mailing.id]
            data["total"] += count
            if state == "canceled" and failure_type in EXCLUSIONS:
                data["excluded"] += count
                exclusions[mailing.id][failure_type] = count
                continue
            data[state] += count
            if state != "canceled":
                data["planned"] += parts
            data["cost"] += cost
        # Parts sent: the parts that left, i.e. of the messages a provider took
        # (sent_at), whatever became of them; a message refused at sending
        # (a rejected key, a bad number) sent nothing.
        # sudo: part counts only, of mailings the user can read.
        parts_sent = dict(
            self.env["sms.sms"]
            .sudo()
            ._read_group(
                [
                    ("sms_mailing_id", "in", self.ids),
                    ("is_test", "=", False),
                    ("sent_at", "!=", False),
                ],
                ["sms_mailing_id"],
                ["parts:sum"],
            )
        )
        labels = self._exclusion_labels()
        failure_labels = dict(
            self.env["sms.sms"]._fields["failure_type"]._description_selection(self.env)
        )
        # sudo: counts and provider error texts of mailings the user can read.
        retrying = dict(
            self.env["sms.sms"]
            .sudo()
            ._read_group(
                [
                    ("sms_mailing_id", "in", self.ids),
                    ("is_test", "=", False),
                    ("state", "=", "outgoing"),
                    ("error_message", "!=", False),
                ],
                ["sms_mailing_id"],
                ["__count"],
            )
        )
        failures = defaultdict(list)
        # sudo: failure reasons (provider errors, no texts) of readable mailings.
        for mailing, failure_type, error, count in (
            self.env["sms.sms"]
            .sudo()
            ._read_group(
                [
                    ("sms_mailing_id", "in", self.ids),
                    ("is_test", "=", False),
                    ("state", "=", "error"),
                ],
                ["sms_mailing_id", "failure_type", "error_message"],
                ["__count"],
            )
        ):
            failures[mailing.id].append((count, failure_type, error))
        for mailing in self:
            data = stats[mailing.id]
            mailing.total_count = data["total"]
            mailing.excluded_count = data["excluded"]
            mailing.queued_count = data["outgoing"] + data["process"]
            mailing.sent_count = data["pending"] + data["sent"]
            mailing.delivered_count = data["sent"]
            mailing.failed_count = data["error"]
            mailing.canceled_count = data["canceled"]
            mailing.recipient_count = data["total"] - data["excluded"]
            recipients = mailing.recipient_count
            for count_field, ratio_field in (
                ("sent_count", "sent_ratio"),
                ("delivered_count", "delivered_ratio"),
                ("failed_count", "failed_ratio"),
            ):
                mailing[ratio_field] = (
                    round(100 * mailing[count_field] / recipients) if recipients else 0
                )
            mailing.parts_planned = data["planned"]
            mailing.parts_total = parts_sent.get(mailing, 0)
            mailing.cost_total = data["cost"]
            to_send = data["total"] - data["excluded"] - data["canceled"]
            done = to_send - mailing.queued_count
            mailing.progress = 100.0 * done / to_send if to_send else 0.0
            mailing.retry_count = retrying.get(mailing, 0)
            mailing.failure_summary = mailing._failure_summary(
                failures[mailing.id], failure_labels
            )
            reasons = exclusions[mailing.id]
            mailing.exclusion_summary = (
                Markup(
                    '<table class="table table-sm o_sms_exclusions w-auto">'
                    "<thead><tr><th>%s</th><th class='text-end'>%s</th></tr></thead>"
                    "<tbody>%s</tbody></table>"
                )
                % (
                    _("Reason"),
                    _("Contacts"),
                    Markup("").join(
                        Markup("<tr><td>%s</td><td class='text-end'>%s</td></tr>")
                        % (labels[key], reasons[key])
                        for key in EXCLUSIONS
                        if key in reasons
                    ),
                )
                if reasons
                else False
            )

    @api.model
    def _exclusion_labels(self):
        """Why a contact gets no SMS, in the words of the contact form and of
        the launch checks (not Odoo's failure labels: "Opted Out" is "Do not
        use SMS" on a contact): the Exclusions tab and the excluded contacts'
        list say the same."""
        return {
            "sms_number_missing": _("No phone number"),
            "sms_number_format": _("Invalid phone number"),
            "sms_optout": _("Do not use SMS"),
            "sms_blacklist": _("Blacklisted number"),
            "sms_duplicate": _("Same number as another contact"),
        }

    def _compute_campaign_statistics(self):
        saved_ids = [
            mailing_id for mailing_id in self.ids if isinstance(mailing_id, int)
        ]
        self.env["sms.sms"].flush_model()
        self.env["link.tracker.click"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT s.sms_mailing_id,
                       count(DISTINCT s.id) FILTER (WHERE c.id IS NOT NULL),
                       count(DISTINCT s.id) FILTER (WHERE s.optout_at IS NOT NULL)
                  FROM sms_sms s
             LEFT JOIN link_tracker_click c ON c.sms_sms_id = s.id
                 WHERE s.sms_mailing_id = ANY(%s) AND s.is_test IS NOT TRUE
                   AND (c.id IS NOT NULL OR s.optout_at IS NOT NULL)
              GROUP BY s.sms_mailing_id
                """,
                saved_ids,
            )
        )
        counts = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        # sudo: link trackers are administrators'; only counts per mailing are read.
        links = dict(
            self.env["link.tracker"]
            .sudo()
            ._read_group(
                [("source_id", "in", self.utm_source_id.ids)],
                ["source_id"],
                ["__count"],
            )
        )
        for mailing in self:
            clicked, optout = counts.get(mailing.id, (0, 0))
            mailing.clicked_count = clicked
            mailing.optout_count = optout
            mailing.clicked_ratio = (
                100.0 * clicked / mailing.sent_count if mailing.sent_count else 0.0
            )
            mailing.link_count = links.get(mailing.utm_source_id, 0)

    def _failure_summary(self, rows, labels, limit=10):
        """Why messages failed, most frequent reason first (HTML list)."""
        if not rows:
            return False
        rows = sorted(rows, key=lambda row: -row[0])
        items = [
            Markup("<li><b>%s</b>: %s (%s)</li>")
            % (count, labels.get(failure_type, failure_type) or _("Unknown"), error)
            if error
            else Markup("<li><b>%s</b>: %s</li>")
            % (count, labels.get(failure_type, failure_type) or _("Unknown"))
            for count, failure_type, error in rows[:limit]
        ]
        if len(rows) > limit:
            others = sum(row[0] for row in rows[limit:])
            items.append(
                Markup("<li>%s</li>")
                % _("%(count)s more with other reasons", count=others)
            )
        return Markup("<ul>%s</ul>") % Markup("").join(items)
