"""After launch: what happened to a mailing's messages (counters, ratios,
exclusion and failure summaries, clicks and opt-outs)."""

from collections import defaultdict

from odoo import _, api, models
from odoo.tools import SQL

from ..tools import statistics
from ..tools.audience import EXCLUSIONS


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingStatistics(models.Model):
    _inherit = "sms.mailing"

    def _compute_statistics(self):
        """Counters and summaries of the mailings' messages: three grouped
        reads for all the mailings, then one update per mailing."""
        groups, retrying, failures = self._statistics_groups()
        failure_labels = dict(
            self.env["sms.sms"]._fields["failure_type"]._description_selection(self.env)
        )
        for mailing in self:
            totals, excluded = statistics.tally(groups[mailing.id])
            values = statistics.counters(totals)
            values.update(
                retry_count=retrying.get(mailing.id, 0),
                failure_summary=mailing._failure_summary(
                    failures[mailing.id], failure_labels
                ),
                exclusion_summary=mailing._exclusion_summary(excluded),
            )
            mailing.update(values)

    def _statistics_groups(self):
        """The mailings' messages (tests left out), grouped: ``(groups,
        retrying, failures)``, each keyed by mailing id. ``groups`` lists
        ``(state, failure_type, count, parts, cost, parts_sent)``
        (``parts_sent``: the parts of the messages a provider took, see
        :func:`~..tools.statistics.tally`); ``retrying`` counts the
        messages back in the queue after an error; ``failures`` lists the
        failed ones as ``(count, failure_type, error)``."""
        self.env["sms.sms"].flush_model()
        # sudo: counters and provider error texts (no text, no number) of
        # mailings the user can read.
        Sms = self.env["sms.sms"].sudo()
        domain = [("sms_mailing_id", "in", self.ids), ("is_test", "=", False)]
        groups_by = ["sms_mailing_id", "state", "failure_type"]
        # Parts sent: the parts of the messages a provider took (sent_at),
        # whatever became of them.
        parts_sent = {
            (mailing.id, state, failure_type): parts
            for mailing, state, failure_type, parts in Sms._read_group(
                domain + [("sent_at", "!=", False)], groups_by, ["parts:sum"]
            )
        }
        groups = defaultdict(list)
        for mailing, state, failure_type, count, parts, cost in Sms._read_group(
            domain, groups_by, ["__count", "parts:sum", "cost:sum"]
        ):
            sent = parts_sent.get((mailing.id, state, failure_type), 0)
            groups[mailing.id].append((state, failure_type, count, parts, cost, sent))
        retrying = {
            mailing.id: count
            for mailing, count in Sms._read_group(
                domain + [("state", "=", "outgoing"), ("error_message", "!=", False)],
                ["sms_mailing_id"],
                ["__count"],
            )
        }
        failures = defaultdict(list)
        for mailing, failure_type, error, count in Sms._read_group(
            domain + [("state", "=", "error")],
            ["sms_mailing_id", "failure_type", "error_message"],
            ["__count"],
        ):
            failures[mailing.id].append((count, failure_type, error))
        return groups, retrying, failures

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

    def _exclusion_summary(self, excluded):
        """Why contacts were excluded, as a table (``{reason: count}``)."""
        if not excluded:
            return False
        labels = self._exclusion_labels()
        return self.env["ir.qweb"]._render(
            "sms_mailing.sms_mailing_exclusion_summary",
            {
                "reasons": [
                    (labels[key], excluded[key])
                    for key in EXCLUSIONS
                    if key in excluded
                ]
            },
        )

    def _failure_summary(self, rows, labels, limit=10):
        """Why messages failed, most frequent reason first (a list):
        ``rows`` of ``(count, failure_type, error)``, ``labels`` the names
        of the failure types."""
        if not rows:
            return False
        top, others = statistics.top_failures(rows, limit)
        return self.env["ir.qweb"]._render(
            "sms_mailing.sms_mailing_failure_summary",
            {
                "failures": [
                    (
                        count,
                        labels.get(failure_type, failure_type) or _("Unknown"),
                        error,
                    )
                    for count, failure_type, error in top
                ],
                "others": others
                and _("%(count)s more with other reasons", count=others),
            },
        )
