"""After launch: what happened to a mailing's messages (counters, ratios,
exclusion and failure summaries, clicks and opt-outs) and the drill-downs
of its counters (``action_view_*``)."""

from collections import defaultdict

from markupsafe import Markup

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

    # Drill-downs of the counters (the buttons of the form).

    def _action_view_sms(
        self, domain, name, group_by=None, first_view="list", empty=None
    ):
        """The messages of the mailing matching ``domain``, titled ``name`` (what
        was clicked), opening on ``first_view``; ``empty`` is ``(title, text)``,
        the page shown when there are none (each counter its own)."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_mailing.sms_sms_action"
        )
        views = action.get("views") or []
        views = [v for v in views if v[1] == first_view] + [
            v for v in views if v[1] != first_view
        ]
        context = {"create": False}
        if group_by:
            context["group_by"] = group_by
        action.update(
            name=name,
            display_name=name,
            views=views,
            view_mode=",".join(v[1] for v in views),
            domain=[("sms_mailing_id", "in", self.ids), ("is_test", "=", False)]
            + domain,
            context=context,
        )
        if empty:
            action["help"] = self._empty_help(*empty)
        return action

    @api.model
    def _empty_help(self, title, text):
        return Markup('<p class="o_view_nocontent_empty_folder">%s</p><p>%s</p>') % (
            title,
            text,
        )

    def action_view_clicked(self):
        return self._action_view_sms(
            [("clicked", "=", True)],
            _("Clicked"),
            empty=(
                _("No click yet"),
                _("Recipients who open a tracked link of the text are listed here."),
            ),
        )

    def action_view_optout(self):
        return self._action_view_sms(
            [("optout_at", "!=", False)],
            _("Opted out"),
            empty=(
                _("Nobody opted out"),
                _("Recipients who use the opt-out link of the text are listed here."),
            ),
        )

    def action_view_links(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Links"),
            "res_model": "link.tracker",
            "view_mode": "list,form",
            "views": [
                (self.env.ref("sms_mailing.link_tracker_view_list_sms").id, "list"),
                (False, "form"),
            ],
            "domain": [("source_id", "=", self.utm_source_id.id or 0)],
            "context": {"create": False},
        }

    def action_view_all(self):
        return self._action_view_sms(
            [
                "!",
                "&",
                ("state", "=", "canceled"),
                ("failure_type", "in", list(EXCLUSIONS)),
            ],
            _("Recipients"),
            empty=(
                _("No recipient"),
                _("The messages of this mailing are listed here once it is launched."),
            ),
        )

    def action_view_excluded(self):
        """The contacts of the audience who get no SMS, each with the reason
        in the words of the Exclusions tab (contacts, not messages: an
        excluded contact has no message text, and often no number)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Excluded"),
            "display_name": _("Excluded"),
            "res_model": "res.partner",
            "view_mode": "list,form",
            "views": [
                (
                    self.env.ref("sms_mailing.res_partner_view_list_sms_excluded").id,
                    "list",
                ),
                (False, "form"),
            ],
            # The user's own rights on the messages apply (no sudo).
            "domain": [
                (
                    "sms_ids",
                    "any",
                    [
                        ("sms_mailing_id", "=", self.id),
                        ("is_test", "=", False),
                        ("state", "=", "canceled"),
                        ("failure_type", "in", list(EXCLUSIONS)),
                    ],
                )
            ],
            "context": {"create": False, "sms_exclusion_mailing_id": self.id},
            "help": self._empty_help(
                _("No excluded contact"),
                _(
                    "Contacts of the audience who get no SMS (no number, invalid "
                    "number, Do not use SMS, blacklisted, same number as another "
                    "contact) are listed here."
                ),
            ),
        }

    def action_view_queued(self):
        return self._action_view_sms(
            [("state", "in", ("outgoing", "process"))],
            _("In queue"),
            empty=(
                _("No SMS in the queue"),
                _("Messages waiting to be handed to a provider are listed here."),
            ),
        )

    def action_view_sent(self):
        return self._action_view_sms(
            [("state", "in", ("pending", "sent"))],
            _("Sent"),
            empty=(
                _("No SMS sent yet"),
                _("Messages a provider took are listed here."),
            ),
        )

    def action_view_delivered(self):
        # Deliveries over time; Odoo 18's smallest date interval is the day.
        action = self._action_view_sms(
            [("state", "=", "sent")],
            _("Delivered"),
            first_view="graph",
            empty=(
                _("No SMS delivered yet"),
                _("Deliveries appear here as the providers report them."),
            ),
        )
        action["context"] = dict(action["context"], graph_groupbys=["delivered_at:day"])
        return action

    def action_view_retrying(self):
        return self._action_view_sms(
            [("state", "=", "outgoing"), ("error_message", "!=", False)],
            _("Waiting for retry"),
            empty=(
                _("No SMS waiting for a retry"),
                _(
                    "Messages a provider refused for a temporary reason are "
                    "listed here until they are sent again."
                ),
            ),
        )

    def action_view_failed(self):
        return self._action_view_sms(
            [("state", "=", "error")],
            _("Failed"),
            "failure_type",
            empty=(
                _("No failed SMS"),
                _(
                    "Messages a provider refused or could not deliver are listed "
                    "here, with the reason."
                ),
            ),
        )
