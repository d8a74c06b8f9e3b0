import logging
import time
from collections import defaultdict

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import audience, campaign, macros, segments, settings
from ..tools.transaction import commit_batch

_logger = logging.getLogger(__name__)

# Audiences up to this size are rendered whole for the estimate; larger ones
# are estimated from a sample of this many recipients.
ESTIMATE_EXACT_LIMIT = 500
ESTIMATE_SAMPLE = 200
# link_tracker's shortest code (LINK_TRACKER_MIN_CODE_LENGTH): the length of a
# short link in an estimate before its tracker exists.
LINK_CODE_LENGTH = 3

# Why a contact of the audience gets no SMS (failure types of canceled messages).
EXCLUSIONS = audience.EXCLUSIONS


# What a launched mailing keeps as it was launched: its text, audience,
# provider and dates (the queuing cron reads them batch after batch).
LOCKED_FIELDS = (
    "body",
    "partner_ids",
    "group_ids",
    "list_ids",
    "optout_link",
    "link_tracking",
    "provider_id",
    "company_id",
    "launch_type",
    "start_date",
    "quiet_hours",
    "quiet_start",
    "quiet_end",
)


class SmsMailing(models.Model):
    _name = "sms.mailing"
    _description = "SMS Mailing"
    # mail.render.mixin: Odoo's "Restrict Template Rendering" rule
    # (_check_access_right_dynamic_template) and its inline_template renderer.
    # _unrestricted_rendering stays False: a text is rendered with the rights
    # of the user who renders it (see _render_for), never trusted as stored.
    _inherit = ["mail.thread", "mail.activity.mixin", "mail.render.mixin"]
    _order = "id DESC"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    user_id = fields.Many2one(
        "res.users",
        "Responsible",
        default=lambda self: self.env.user,
        copy=False,
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    provider_id = fields.Many2one(
        "sms.provider",
        check_company=True,
        tracking=True,
        help="Leave empty to let routing choose a provider for each number.",
    )
    body = fields.Text(
        "Text",
        tracking=True,
        help="Macros such as {{ object.name }} or {{ object.country_id.name }} "
        "are replaced for each contact.",
    )
    template_id = fields.Many2one(
        "sms.template",
        domain=[("model", "=", "res.partner")],
        help="Copies the template's text into the mailing; the text can then be "
        "edited.",
    )
    optout_link = fields.Boolean(
        "Add an opt-out link",
        default=True,
        tracking=True,
        help="Each message ends with a line such as 'STOP: https://.../sms/stop/...': "
        "a personal link that lets the recipient stop SMS mailings in one click.",
    )
    link_tracking = fields.Boolean(
        "Track links",
        tracking=True,
        help="Every link of the text is replaced by a short link per recipient: "
        "the mailing then shows who clicked.",
    )
    utm_source_id = fields.Many2one(
        "utm.source",
        "Source",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The source of this mailing's tracked links.",
    )
    final_body_sample = fields.Text(
        "Text as sent",
        compute="_compute_body_info",
        help="The text with the "
        "opt-out line and short links, as a recipient receives it (macros not "
        "filled).",
    )
    launch_type = fields.Selection(
        [("immediate", "Immediately"), ("deferred", "At a given date")],
        default="immediate",
        required=True,
        tracking=True,
    )
    start_date = fields.Datetime(tracking=True)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("scheduled", "Scheduled"),
            ("sending", "Sending"),
            ("done", "Done"),
            ("canceled", "Canceled"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
        tracking=True,
        group_expand=True,
    )
    partner_ids = fields.Many2many("res.partner", string="Contacts")
    group_ids = fields.Many2many("sms.mailing.group", string="Dynamic groups")
    list_ids = fields.Many2many("sms.mailing.list", string="Lists", check_company=True)
    quiet_hours = fields.Boolean(
        help="Hold messages during the night in each recipient's time zone."
    )
    quiet_start = fields.Float("Quiet from", default=21.0)
    quiet_end = fields.Float("Quiet until", default=9.0)
    sms_ids = fields.One2many("sms.sms", "sms_mailing_id", "SMS", copy=False)
    launched_at = fields.Datetime(readonly=True, copy=False)
    launched_by_id = fields.Many2one(
        "res.users",
        "Launched by",
        readonly=True,
        copy=False,
        help="The queuing renders the text with this user's rights.",
    )
    done_at = fields.Datetime(readonly=True, copy=False)
    audience_done = fields.Boolean(readonly=True, copy=False)
    audience_cursor = fields.Integer(readonly=True, copy=False)
    audience_max_id = fields.Integer(readonly=True, copy=False)
    launch_error = fields.Char(readonly=True, copy=False)

    # statistics
    total_count = fields.Integer("Audience", compute="_compute_statistics")
    recipient_count = fields.Integer(
        "Recipients",
        compute="_compute_statistics",
        help="Contacts who get the SMS: the audience without the excluded ones.",
    )
    excluded_count = fields.Integer("Excluded", compute="_compute_statistics")
    queued_count = fields.Integer("In queue", compute="_compute_statistics")
    sent_count = fields.Integer("Sent", compute="_compute_statistics")
    delivered_count = fields.Integer("Delivered", compute="_compute_statistics")
    failed_count = fields.Integer("Failed", compute="_compute_statistics")
    canceled_count = fields.Integer("Canceled", compute="_compute_statistics")
    sent_ratio = fields.Integer("Sent (%)", compute="_compute_statistics")
    delivered_ratio = fields.Integer("Delivered (%)", compute="_compute_statistics")
    failed_ratio = fields.Integer("Failed (%)", compute="_compute_statistics")
    parts_planned = fields.Integer(
        "Parts to send",
        compute="_compute_statistics",
        help="Parts of every message queued at launch (the real total).",
    )
    parts_total = fields.Integer("Parts sent", compute="_compute_statistics")
    currency_id = fields.Many2one("res.currency", compute="_compute_currency_id")
    cost_total = fields.Monetary("Cost", compute="_compute_statistics")
    progress = fields.Float(compute="_compute_statistics")
    exclusion_summary = fields.Html(compute="_compute_statistics", sanitize=False)
    retry_count = fields.Integer(
        "Waiting for retry",
        compute="_compute_statistics",
        help="In queue after a temporary failure of the provider (outage, "
        "timeout): sent again with a growing delay, or through another provider.",
    )
    failure_summary = fields.Html(compute="_compute_statistics", sanitize=False)
    clicked_count = fields.Integer("Clicked", compute="_compute_campaign_statistics")
    clicked_ratio = fields.Float("Clicked (%)", compute="_compute_campaign_statistics")
    optout_count = fields.Integer("Opted out", compute="_compute_campaign_statistics")
    link_count = fields.Integer("Links", compute="_compute_campaign_statistics")

    # before launch
    recipient_estimate = fields.Integer(
        "Recipients after exclusions", compute="_compute_estimate"
    )
    parts_estimate = fields.Integer("Total parts", compute="_compute_estimate")
    cost_estimate = fields.Monetary("Estimated cost", compute="_compute_estimate")
    estimate_note = fields.Char(compute="_compute_estimate")
    body_parts = fields.Integer(
        "Parts per message",
        compute="_compute_estimate",
        help="The most parts one recipient's text takes, macros replaced.",
    )
    body_encoding = fields.Char("Encoding", compute="_compute_estimate")
    max_parts = fields.Integer(
        "Maximum parts",
        compute="_compute_currency_id",
        help="The most parts the provider (or every routed provider) accepts.",
    )
    too_long = fields.Char(compute="_compute_estimate")
    launch_problem = fields.Char(
        compute="_compute_launch_problem",
        help="Why Launch would be refused now (then it is refused at once, "
        "without asking for a confirmation first).",
    )

    _sql_constraints = [
        (
            "quiet_hours_range",
            "CHECK(quiet_start >= 0 AND quiet_start < 24"
            " AND quiet_end >= 0 AND quiet_end < 24)",
            "Quiet hours must be between 0:00 and 23:59.",
        ),
    ]

    def _compute_render_model(self):
        self.render_model = "res.partner"

    @api.depends("provider_id", "company_id")
    def _compute_currency_id(self):
        for mailing in self:
            providers = mailing.provider_id or self.env[
                "sms.provider"
            ]._get_active_providers(mailing.company_id or self.env.company)
            mailing.currency_id = (
                providers[:1].currency_id
                or (mailing.company_id or self.env.company).currency_id
            )
            mailing.max_parts = min(providers.mapped("max_parts") or [0])

    @api.depends("body", "optout_link", "link_tracking")
    def _compute_body_info(self):
        for mailing in self:
            mailing.final_body_sample = mailing._finalize_texts(
                {0: mailing.body or ""}
            )[0]

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
            if state in ("pending", "sent", "error"):
                data["parts"] += parts
            if state != "canceled":
                data["planned"] += parts
            data["cost"] += cost
        # The words of the contact form and of the launch checks, not Odoo's
        # failure labels ("Opted Out" is "Do not use SMS" on a contact).
        labels = {
            "sms_number_missing": _("No phone number"),
            "sms_number_format": _("Invalid phone number"),
            "sms_optout": _("Do not use SMS"),
            "sms_blacklist": _("Blacklisted number"),
            "sms_duplicate": _("Same number as another contact"),
        }
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
            mailing.parts_total = data["parts"]
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
                continue
            mailing.update(estimate)

    @api.depends(
        "body",
        "partner_ids",
        "group_ids",
        "list_ids",
        "optout_link",
        "link_tracking",
        "provider_id",
        "state",
        "launch_type",
        "start_date",
    )
    def _compute_launch_problem(self):
        for mailing in self:
            mailing.launch_problem = False
            if mailing.state != "draft":
                continue
            try:
                mailing._check_launchable()
            except UserError as err:
                mailing.launch_problem = str(err)

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
        else:
            # The cost of the longest text, per part, times every part: one
            # request to a provider's cost API, whatever the audience.
            amount, currency, note = provider._estimate_cost_amount(
                [stats["sample_number"]], texts[longest]
            )
            if amount is None:
                notes.append(note)
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

    @api.constrains("launch_type", "start_date")
    def _check_start_date(self):
        for mailing in self:
            if mailing.launch_type == "deferred" and not mailing.start_date:
                raise ValidationError(_("A deferred mailing needs a start date."))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        self._check_body_rights(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        locked = [name for name in LOCKED_FIELDS if name in vals]
        if locked:
            launched = self.filtered(lambda m: m.state != "draft")
            if launched:
                raise UserError(
                    _(
                        "The mailing %(name)s is no longer a draft: its text, "
                        "audience, provider and dates cannot change any more. "
                        "Duplicate it to send a new version.",
                        name=launched[0].name,
                    )
                )
        self._check_body_rights([vals])
        return super().write(vals)

    @api.model
    def _check_body_rights(self, vals_list):
        """Odoo's "Restrict Template Rendering" rule on texts about to be stored.

        Only template editors may write a text with code (any expression but
        the few Odoo allows everybody and plain field paths, see
        :meth:`_has_unsafe_expression`): Odoo's own check and message
        (``_check_access_right_dynamic_template``), run on the new text before
        anything is written.
        """
        for vals in vals_list:
            if vals.get("body"):
                self.new({"body": vals["body"]})._check_access_right_dynamic_template()

    def _has_unsafe_expression(self):
        """Odoo's decision for the one rendered field, the text.

        A text whose macros are all plain field paths of contacts
        (``{{ object.country_id.name }}``, what the "Insert a field" button
        writes) runs no code: :meth:`_render_for` reads those fields as the
        user rendering it (the launcher, for queuing), with that user's
        access rights, never evaluating anything. Any other expression is
        Odoo's decision (the few it allows everybody).

        (The mixin's default would read every field of the mailing, counters
        included, on each write.)
        """
        return any(
            not self._is_field_paths_only(mailing.body)
            and self._has_unsafe_expression_template_inline_template(
                mailing.body, "res.partner"
            )
            # sudo as in Odoo's mixin: the text is only read for the decision
            for mailing in self.sudo()
        )

    @api.model
    def _is_field_paths_only(self, body):
        """Whether every macro of ``body`` is a chain of existing contact fields."""
        try:
            template = macros.Template(body or "")
        except macros.MacroError:
            return False
        if not template.simple:
            return False
        for path in template.paths:
            model = self.env["res.partner"]
            for name in path:
                if model is None or name not in model._fields:
                    return False
                field = model._fields[name]
                model = self.env[field.comodel_name] if field.relational else None
        return True

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        for mailing, vals in zip(self, vals_list, strict=True):
            if "name" not in (default or {}):
                vals["name"] = _("%(name)s (copy)", name=mailing.name)
        return vals_list

    @api.onchange("launch_type")
    def _onchange_launch_type(self):
        if self.launch_type == "immediate":
            self.start_date = False

    @api.onchange("template_id")
    def _onchange_template_id(self):
        # The template's raw text becomes the mailing's: the mailing's own checks
        # (macros, rendering restrictions) apply to it like to a typed text.
        if self.template_id:
            self.body = self.template_id.body

    # ------------------------------------------------------------------
    # Audience
    # ------------------------------------------------------------------
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

    def _audience_query(self):
        return self.env["res.partner"]._search(self._audience_domain())

    def _audience_stats(self):
        """Recipients after exclusions, computed in one SQL query."""
        self.ensure_one()
        self.env["res.partner"].flush_model()
        query = self._audience_query()
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*),
                       count(*) FILTER (WHERE p.phone_sanitized IS NULL),
                       count(*) FILTER (WHERE p.phone_sanitized IS NOT NULL
                                        AND p.sms_opt_out),
                       count(*) FILTER (WHERE p.phone_sanitized IS NOT NULL
                                        AND p.sms_opt_out IS NOT TRUE
                                        AND bl.id IS NOT NULL),
                       count(DISTINCT p.phone_sanitized) FILTER (
                           WHERE p.sms_opt_out IS NOT TRUE AND bl.id IS NULL),
                       min(p.phone_sanitized) FILTER (
                           WHERE p.sms_opt_out IS NOT TRUE AND bl.id IS NULL)
                  FROM res_partner p
             LEFT JOIN phone_blacklist bl
                    ON bl.number = p.phone_sanitized AND bl.active
                 WHERE p.id IN %s
                """,
                query.subselect(),
            )
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
                       EXISTS (SELECT 1
                                 FROM res_partner p
                            LEFT JOIN phone_blacklist bl
                                   ON bl.number = p.phone_sanitized AND bl.active
                                WHERE p.id IN %s
                                  AND p.phone_sanitized IS NOT NULL
                                  AND p.sms_opt_out IS NOT TRUE
                                  AND bl.id IS NULL)
                """,
                audience_ids,
                audience_ids,
            )
        )
        return self.env.cr.fetchone()

    # ------------------------------------------------------------------
    # Macros
    # ------------------------------------------------------------------
    def _template(self):
        self.ensure_one()
        try:
            template = macros.Template(self.body or "")
        except macros.MacroError as err:
            raise UserError(err.message) from err
        Partner = self.env["res.partner"]
        for macro, path in template.macros:
            if path is None:
                continue
            model = Partner
            for depth, name in enumerate(path):
                field = model._fields.get(name)
                if field is None:
                    raise UserError(
                        _(
                            "The macro %(macro)s is unknown: %(model)s has no field "
                            "'%(field)s'. Pick fields with the \"Insert a field\" "
                            "button under the text.",
                            macro=macro,
                            model=model._description,
                            field=name,
                        )
                    )
                if field.relational:
                    model = self.env[field.comodel_name]
                elif depth < len(path) - 1:
                    raise UserError(
                        _(
                            "The macro %(macro)s is not valid: '%(field)s' is not a "
                            "relation, nothing can follow it.",
                            macro=macro,
                            field=name,
                        )
                    )
        return template

    def _render_for(self, template, partners):
        """``{partner_id: text}`` for ``partners`` (a batch, prefetched).

        The one place where a mailing text is rendered (queuing, sample,
        preview, test send). It renders with the rights of the current user,
        never as the superuser: the queuing cron calls it as the user who
        launched the mailing. Odoo's rule is checked again here (a regex on
        the text, once per batch), so a text that reached the database by
        another path than a checked write is refused, not rendered.
        """
        self.ensure_one()
        mailing = self._check_render_rights()
        partners = partners.with_env(mailing.env)
        if template.is_static:
            return dict.fromkeys(partners.ids, template.text)
        if not template.simple:
            try:
                return mailing._render_template(
                    template.text, "res.partner", partners.ids, engine="inline_template"
                )
            except AccessError:
                raise
            except Exception as err:
                raise UserError(
                    _("A macro of the text cannot be rendered: %(error)s", error=err)
                ) from err
        # Read only the macros' fields: the first access would otherwise read
        # every column of res.partner for the whole batch.
        partners.fetch({path[0] for path in template.paths})

        def resolver(partner):
            def resolve(path):
                value = partner
                for name in path:
                    value = value[name] if value else False
                if isinstance(value, models.BaseModel):
                    value = value.display_name if value else ""
                return macros.format_value(value)

            return resolve

        return {p.id: template.render(resolver(p)) for p in partners}

    def _check_render_rights(self):
        """Odoo's rule for the current user (never sudo) and this text;
        returns the mailing in that user's environment."""
        self.ensure_one()
        mailing = self.with_user(self.env.user)  # drops sudo, keeps the user
        try:
            mailing._check_access_right_dynamic_template()
        except AccessError as err:
            raise AccessError(
                _(
                    "%(user)s may not render the text of %(mailing)s: %(error)s",
                    user=mailing.env.user.name,
                    mailing=mailing.name,
                    error=err,
                )
            ) from err
        return mailing

    def _render_sample(self, partner=None):
        """The final text (see ``_final_texts``) for ``partner``, else for the
        first contact of the audience, else the unrendered text."""
        self.ensure_one()
        if partner is None:
            partner = self.env["res.partner"].search(self._audience_domain(), limit=1)
        if not partner:
            return self._finalize_texts({0: self.body or ""})[0]
        return self._final_texts(partner)[partner.id]

    # ------------------------------------------------------------------
    # Final text: macros, tracked links, opt-out line
    # ------------------------------------------------------------------
    def _final_texts(self, partners, sms_ids=None, template=None):
        """``{partner_id: text}`` exactly as each recipient receives it.

        The one place the sent text is built, used by queuing, the estimate, the
        preview and the test send: macros filled (``_render_for``), then every
        URL replaced by the recipient's tracked short link (``link_tracking``),
        then the opt-out line (``optout_link``). ``sms_ids`` maps each partner
        to the id of its message; without it (estimate, preview) the id the
        next message will get stands in, so lengths and parts are the real ones.
        """
        self.ensure_one()
        texts = self._render_for(template or self._template(), partners)
        return self._finalize_texts(texts, sms_ids)

    def _finalize_texts(self, texts, sms_ids=None):
        """Add tracked links and the opt-out line to rendered ``texts``
        (``{key: text}``); ``sms_ids`` maps the same keys to message ids, and
        only then are missing short links created."""
        self.ensure_one()
        if not (self.link_tracking or self.optout_link):
            return dict(texts)
        sample_id = None if sms_ids else self._next_sms_id()
        base_url = self.get_base_url()
        short = {}
        if self.link_tracking:
            own = base_url + "/r/"
            urls = {
                url
                for text in texts.values()
                for url in campaign.find_urls(text)
                if not url.startswith(own)
            }
            short = self._short_links(urls, create=bool(sms_ids)) if urls else {}
        secret = None
        if self.optout_link:
            # A sample (estimate, preview) is signed with another key: it has
            # the real token's length, but it opts nobody out, not even the
            # recipient whose message later takes that id.
            secret = self._optout_secret() if sms_ids else "sample, never valid"
        result = {}
        for key, text in texts.items():
            sms_id = sms_ids[key] if sms_ids else sample_id
            if short:
                text = campaign.replace_urls(
                    text, {url: f"{link}/s/{sms_id}" for url, link in short.items()}
                )
            if self.optout_link:
                url = campaign.optout_url(base_url, campaign.sign(secret, sms_id))
                text = campaign.append_line(text, campaign.optout_line(url))
            result[key] = text
        return result

    def _next_sms_id(self):
        """The id the next ``sms.sms`` will get (the length of sample links)."""
        self.env.cr.execute(
            "SELECT last_value + 1 FROM sms_sms_id_seq",
        )
        return self.env.cr.fetchone()[0]

    def _reserve_sms_ids(self, count):
        """``count`` ids of the ``sms.sms`` sequence, for texts that name their
        own message (opt-out token, tracked links) before it is inserted."""
        self.env.cr.execute(
            SQL(
                "SELECT nextval('sms_sms_id_seq') FROM generate_series(1, %s)",
                count,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _optout_secret(self):
        # sudo: the database secret signs the opt-out tokens; it is never shown.
        return self.env["ir.config_parameter"].sudo().get_param("database.secret")

    def _short_links(self, urls, create=False):
        """``{url: short url}`` of this mailing's trackers (the mailing is their
        UTM source, the medium is SMS). Without ``create``, a URL without a
        tracker yet gets a placeholder of the same length as a new short link."""
        self.ensure_one()
        # sudo: only administrators may create link trackers; the URLs are the
        # ones of a text the mailing's manager may edit.
        Tracker = self.env["link.tracker"].sudo()
        source = self._utm_source(create=create)
        found = {}
        if source:
            for tracker in Tracker.search(
                [
                    ("source_id", "=", source.id),
                    ("url", "in", list(urls)),
                    ("campaign_id", "=", False),
                    ("label", "in", (False, "")),
                ]
            ):
                found[tracker.url] = tracker.short_url
        missing = [url for url in urls if url not in found]
        if missing and create:
            # sudo: the "sms" UTM medium, found or created once for every mailing.
            medium = (
                self.env["utm.medium"]
                .sudo()
                ._fetch_or_create_utm_medium("sms", module="sms_mailing")
            )
            trackers = Tracker.search_or_create(
                [
                    {
                        # a title avoids fetching the page while queuing
                        "title": url,
                        "url": url,
                        "source_id": source.id,
                        "medium_id": medium.id,
                    }
                    for url in missing
                ]
            )
            found.update(zip(missing, trackers.mapped("short_url"), strict=True))
        elif missing:
            placeholder = "{}/r/{}".format(self.get_base_url(), "x" * LINK_CODE_LENGTH)
            found.update(dict.fromkeys(missing, placeholder))
        return found

    def _utm_source(self, create=False):
        self.ensure_one()
        if not self.utm_source_id and create:
            # sudo: a UTM source per mailing, created by the launch of the mailing.
            self.sudo().utm_source_id = (
                self.env["utm.source"].sudo().create({"name": self.name})
            )
        return self.utm_source_id

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _check_launchable(self):
        self.ensure_one()
        if self.state != "draft":
            raise UserError(_("Only a draft mailing can be launched."))
        if not (self.body or "").strip():
            raise UserError(_("Write the text of the mailing before launching it."))
        template = self._template()
        # The estimate below counts the raw text of a text this user may not
        # render: refuse it here, with the reason.
        self._check_render_rights()
        if self.launch_type == "deferred" and (
            not self.start_date or self.start_date <= fields.Datetime.now()
        ):
            raise UserError(_("A deferred mailing needs a start date in the future."))
        has_contacts, has_recipients = self._audience_presence()
        if not has_contacts:
            raise UserError(
                _("The audience is empty: add contacts, dynamic groups or lists.")
            )
        if not has_recipients:
            raise UserError(
                _(
                    "Every contact of the audience is excluded (no valid number, "
                    "Do not use SMS or blacklisted): nobody would receive it."
                )
            )
        providers = self.provider_id or self.env["sms.provider"]._get_active_providers(
            self.company_id
        )
        if not providers:
            raise UserError(
                _(
                    "No active SMS provider: an administrator can add one in "
                    "SMS > Configuration > Providers."
                )
            )
        parts = self._estimate().get("body_parts", 0)
        limit = min(providers.mapped("max_parts"))
        if parts > limit:
            raise UserError(
                _(
                    "A recipient's text takes %(parts)s SMS parts; the provider "
                    "accepts at most %(max)s. Shorten it.",
                    parts=parts,
                    max=limit,
                )
            )
        return template

    def action_launch(self):
        for mailing in self:
            mailing._check_launchable()
            if mailing.link_tracking:
                # created now, not by concurrent queuing batches
                mailing._utm_source(create=True)
            self.env["res.partner"].flush_model()
            self.env.cr.execute("SELECT COALESCE(max(id), 0) FROM res_partner")
            max_id = self.env.cr.fetchone()[0]
            values = {
                "audience_cursor": 0,
                "audience_max_id": max_id,
                "audience_done": False,
                "launch_error": False,
            }
            values["launched_by_id"] = self.env.user.id
            if mailing.launch_type == "deferred":
                values["state"] = "scheduled"
            else:
                values.update(state="sending", launched_at=fields.Datetime.now())
            mailing.write(values)
        self.env.ref("sms_mailing.ir_cron_sms_mailing_process")._trigger()
        return True

    def action_cancel(self):
        for mailing in self:
            if mailing.state not in ("draft", "scheduled", "sending"):
                raise UserError(
                    _("Only a draft, scheduled or sending mailing can be canceled.")
                )
        self.write({"state": "canceled"})
        self._forget_audience()
        # sudo: the write above proved the right to cancel these mailings;
        # their own queued messages are canceled with them, whoever queued them.
        outgoing = (
            self.env["sms.sms"]
            .sudo()
            .search([("sms_mailing_id", "in", self.ids), ("state", "=", "outgoing")])
        )
        outgoing.write({"state": "canceled", "failure_type": False})
        for mailing in self:
            mailing.message_post(
                body=_(
                    "Mailing canceled: %(count)s messages not yet sent were canceled.",
                    count=len(
                        outgoing.filtered(lambda s, m=mailing: s.sms_mailing_id == m)
                    ),
                )
            )
        return True

    def action_draft(self):
        self.filtered(
            lambda m: m.state in ("scheduled", "canceled") and not m.sms_ids
        ).write({"state": "draft"})

    def action_retry_failed(self):
        self.check_access("write")
        # sudo: after the write check on the mailings, their own failed
        # messages are queued again, whoever queued them.
        failed = (
            self.env["sms.sms"]
            .sudo()
            .search(
                [
                    ("sms_mailing_id", "in", self.ids),
                    ("state", "=", "error"),
                    ("is_test", "=", False),
                ]
            )
        )
        failed.action_retry()
        self.filtered(lambda m: m.state == "done").write(
            {"state": "sending", "done_at": False}
        )
        return True

    def action_check_balance(self):
        return self._main_provider().action_check_balance()

    def action_check_availability(self):
        return self._main_provider().action_check_availability()

    def _main_provider(self):
        self.ensure_one()
        # Routing hands out providers in sudo: only who may run the mailing
        # asks them for a balance or availability.
        self.check_access("write")
        provider = (
            self.provider_id
            or self.env["sms.provider"]._get_active_providers(self.company_id)[:1]
        )
        if not provider:
            raise UserError(_("No active SMS provider."))
        return provider

    def action_preview(self):
        self.ensure_one()
        if not (self.body or "").strip():
            raise UserError(_("Write the text of the mailing before launching it."))
        self._check_access_right_dynamic_template()
        self._template()
        return {
            "type": "ir.actions.act_window",
            "name": _("Preview"),
            "res_model": "sms.mailing.preview",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mailing_id": self.id},
        }

    def action_test(self):
        self.ensure_one()
        self._check_access_right_dynamic_template()
        self._template()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send a test"),
            "res_model": "sms.mailing.test",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mailing_id": self.id},
        }

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

    def _action_view_sms(self, domain, name, group_by=None, first_view="list"):
        """The messages of the mailing matching ``domain``, titled ``name`` (what
        was clicked), opening on ``first_view``."""
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
        return action

    def action_view_clicked(self):
        action = self._action_view_sms([("clicked", "=", True)], _("Clicked"))
        return action

    def action_view_optout(self):
        return self._action_view_sms([("optout_at", "!=", False)], _("Opted out"))

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

    def action_save_as_template(self):
        """A new ``sms.template`` on contacts with the mailing's text."""
        self.ensure_one()
        if not (self.body or "").strip():
            raise UserError(_("Write the text of the mailing first."))
        self._template()
        template = self.env["sms.template"].create(
            {
                "name": self.name,
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": self.body,
            }
        )
        self.template_id = template
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Template saved"),
                "message": _(
                    "The text is saved as the SMS template %(name)s.",
                    name=template.name,
                ),
                "type": "success",
            },
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
        )

    def action_view_excluded(self):
        return self._action_view_sms(
            [("state", "=", "canceled"), ("failure_type", "in", list(EXCLUSIONS))],
            _("Excluded"),
            group_by="failure_type",
        )

    def action_view_queued(self):
        return self._action_view_sms(
            [("state", "in", ("outgoing", "process"))], _("In queue")
        )

    def action_view_sent(self):
        return self._action_view_sms([("state", "in", ("pending", "sent"))], _("Sent"))

    def action_view_delivered(self):
        # Deliveries over time; Odoo 18's smallest date interval is the day.
        action = self._action_view_sms(
            [("state", "=", "sent")], _("Delivered"), first_view="graph"
        )
        action["context"] = dict(action["context"], graph_groupbys=["delivered_at:day"])
        return action

    def action_view_retrying(self):
        return self._action_view_sms(
            [("state", "=", "outgoing"), ("error_message", "!=", False)],
            _("Waiting for retry"),
        )

    def action_view_failed(self):
        return self._action_view_sms(
            [("state", "=", "error")], _("Failed"), "failure_type"
        )

    # ------------------------------------------------------------------
    # Queuing (cron)
    # ------------------------------------------------------------------
    @api.model
    def _cron_process(self, time_budget=None):
        """Start due deferred mailings, queue audiences in committed batches,
        and close mailings whose every message reached a final state."""
        now = fields.Datetime.now()
        due = self.search([("state", "=", "scheduled"), ("start_date", "<=", now)])
        if due:
            due.write({"state": "sending", "launched_at": now})
        if time_budget is None:
            time_budget = float(settings.get(self.env, "sms_mailing.queue_time_budget"))
        deadline = time.monotonic() + time_budget
        for mailing in self.search(
            [("state", "=", "sending"), ("audience_done", "=", False)]
        ):
            # The audience is resolved and the text rendered with the rights
            # of the user who launched: no sudo, so the cron can neither reach
            # contacts nor evaluate code that this user could not.
            launcher = mailing.launched_by_id or mailing.user_id or mailing.create_uid
            mailing = mailing.with_user(launcher).with_company(mailing.company_id)
            commit_batch(self.env)
            while not mailing.audience_done and mailing.state == "sending":
                try:
                    mailing._queue_batch()
                except UserError as err:  # AccessError included
                    # sudo: the cron records the failure on the mailing it
                    # runs, whatever the launcher may still write.
                    mailing.sudo().write(
                        {"launch_error": str(err), "state": "canceled"}
                    )
                    mailing._forget_audience()
                    mailing.sudo().message_post(body=str(err))
                    break
                commit_batch(self.env)
                mailing.invalidate_recordset(["state"])
                if time.monotonic() > deadline:
                    self.env.ref("sms_mailing.ir_cron_sms_mailing_process")._trigger()
                    return
        self._close_finished()

    @api.model
    def _close_finished(self):
        sending = self.search([("state", "=", "sending"), ("audience_done", "=", True)])
        if not sending:
            return
        self.env["sms.sms"].flush_model()
        # sudo: the cron reads which mailings still have queued messages.
        busy = {
            mailing.id
            for (mailing,) in self.env["sms.sms"]
            .sudo()
            ._read_group(
                [
                    ("sms_mailing_id", "in", sending.ids),
                    ("state", "in", ("outgoing", "process")),
                    ("is_test", "=", False),
                ],
                ["sms_mailing_id"],
            )
        }
        finished = sending.filtered(lambda m: m.id not in busy)
        finished.write({"state": "done", "done_at": fields.Datetime.now()})

    def _queue_batch(self, batch_size=None):
        """Queue the next batch of the audience: one ``sms.sms`` per number.

        Exclusions are stored as canceled messages with their reason. Returns
        the number of contacts handled; sets ``audience_done`` at the end.
        """
        self.ensure_one()
        batch_size = batch_size or settings.get(
            self.env, "sms_mailing.queue_batch_size"
        )
        template = self._template()
        Partner = self.env["res.partner"]
        if not self.audience_cursor:
            self._freeze_audience(batch_size)
        partner_ids = self._take_audience_batch()
        if not partner_ids:
            self.write({"audience_done": True})
            self.env["sms.sms"]._trigger_lanes()
            return 0
        self.env.cr.execute(
            SQL(
                """
                SELECT p.id, p.phone_sanitized, COALESCE(p.mobile, p.phone),
                       p.sms_opt_out, bl.id IS NOT NULL
                  FROM res_partner p
             LEFT JOIN phone_blacklist bl
                    ON bl.number = p.phone_sanitized AND bl.active
                 WHERE p.id = ANY(%s)
              ORDER BY p.id
                """,
                partner_ids,
            )
        )
        rows = self.env.cr.fetchall()
        seen = self._numbers_with_message([row[1] for row in rows if row[1]])
        plan, to_render = audience.plan_batch(rows, seen)
        sms_ids = {}
        if to_render and (self.optout_link or self.link_tracking):
            sms_ids = dict(
                zip(to_render, self._reserve_sms_ids(len(to_render)), strict=True)
            )
        bodies = (
            self._final_texts(
                Partner.browse(to_render), sms_ids=sms_ids or None, template=template
            )
            if to_render
            else {}
        )
        self._insert_sms(plan, bodies, sms_ids)
        self.write({"audience_cursor": partner_ids[-1]})
        if to_render:
            self.env["sms.sms"]._trigger_lanes()
        return len(partner_ids)

    def _freeze_audience(self, batch_size):
        """Evaluate the audience once, in one query, and store it as numbered
        batches of ``batch_size`` contact ids, batch 0 holding the lowest ids
        (audience order is ascending id, as the duplicate rule wants: the
        oldest contact keeps the number). Contacts created after the launch
        (``audience_max_id``) are left out."""
        self.ensure_one()
        self.env["res.partner"].flush_model()
        self.env.cr.execute(
            SQL("DELETE FROM sms_mailing_batch WHERE mailing_id = %s", self.id)
        )
        query = self.env["res.partner"]._search(
            expression.AND(
                [self._audience_domain(), [("id", "<=", self.audience_max_id)]]
            )
        )
        if query.is_empty():  # neither contacts nor groups: nothing to store
            return
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO sms_mailing_batch (mailing_id, sequence, partner_ids_text)
                SELECT %s, numbered.sequence, string_agg(numbered.id::text, ',')
                  FROM (SELECT audience.id,
                               (row_number() OVER (ORDER BY audience.id) - 1) / %s
                               AS sequence
                          FROM %s AS audience) AS numbered
              GROUP BY numbered.sequence
                """,
                self.id,
                batch_size,
                query.subselect(),
            )
        )

    def _forget_audience(self):
        """Drop the part of the frozen audience not queued yet."""
        # sudo: internal bookkeeping of the queuing cron, which users cannot
        # write (and need not): the mailings are theirs
        self.env["sms.mailing.batch"].sudo().search(
            [("mailing_id", "in", self.ids)]
        ).unlink()

    def _take_audience_batch(self):
        """The contact ids of the next frozen batch (ascending), removed from
        the stored audience in the current transaction; ``[]`` at the end."""
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM sms_mailing_batch
                 WHERE id = (SELECT id FROM sms_mailing_batch
                              WHERE mailing_id = %s
                           ORDER BY sequence LIMIT 1)
             RETURNING partner_ids_text
                """,
                self.id,
            )
        )
        row = self.env.cr.fetchone()
        # sorted here: string_agg without ORDER BY lets PostgreSQL group the
        # whole audience by hashing instead of sorting it
        return sorted(int(pid) for pid in row[0].split(",")) if row else []

    def _numbers_with_message(self, numbers):
        """Which of ``numbers`` already have a message in the mailing (not an
        exclusion).

        One probe of the (mailing, number) index a number, whatever the
        planner believes: while a mailing is being queued its statistics do
        not know it yet, and ``number = ANY(...)`` was then checked as a filter
        on every message the mailing already had, in each batch.
        """
        self.env["sms.sms"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT n.number
                  FROM unnest(%s::varchar[]) AS n(number)
            CROSS JOIN LATERAL (
                       SELECT 1 FROM sms_sms s
                        WHERE s.sms_mailing_id = %s AND s.number = n.number
                          AND (s.state != 'canceled' OR s.failure_type IS NULL
                               OR s.failure_type NOT IN %s)
                        LIMIT 1) AS found
                """,
                numbers,
                self.id,
                audience.EXCLUSIONS,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _insert_sms(self, plan, bodies, sms_ids=None):
        """Insert the batch's messages in one statement (the launch hot path).

        The values travel as one array per column, and PostgreSQL draws the
        UUIDs: no SQL object or UUID is built per message in Python. A UUID is
        32 hexadecimal digits as Odoo's, but time-ordered like a UUIDv7 (the
        milliseconds, then 74 random bits of a UUID4): the batch's keys land at
        the right edge of the unique index instead of on a random page each,
        which, once the table holds millions of messages, made every batch
        read and rewrite thousands of index pages.
        ``sms_ids`` gives the ids reserved for texts that name their message;
        the others take the next id of the sequence.
        """
        sms_ids = sms_ids or {}
        seg_cache = {}
        columns = ([], [], [], [], [], [], [], [])
        ids, numbers, texts, partner_ids, states, reasons, parts_list, encodings = (
            columns
        )
        for partner_id, number, reason in plan:
            ids.append(sms_ids.get(partner_id) if reason is None else None)
            body = bodies.get(partner_id, "") if reason is None else ""
            if reason is None and body not in seg_cache:
                info = segments.analyze(body)
                seg_cache[body] = (
                    info.parts,
                    "gsm7" if info.encoding == segments.GSM7 else "ucs2",
                )
            parts, encoding = seg_cache[body] if reason is None else (0, "gsm7")
            numbers.append(number or None)
            texts.append(body)
            partner_ids.append(partner_id)
            states.append("outgoing" if reason is None else "canceled")
            reasons.append(reason)
            parts_list.append(parts)
            encodings.append(encoding)
        uid = self.env.uid
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO sms_sms (id, uuid, number, body, partner_id, state,
                    failure_type, sms_mailing_id, company_id, requested_provider_id,
                    parts, encoding, create_uid, write_uid, create_date, write_date,
                    to_delete, attempts, is_test)
                SELECT COALESCE(t.id, nextval('sms_sms_id_seq')),
                       lpad(to_hex((extract(epoch FROM clock_timestamp())
                                    * 1000)::bigint), 12, '0')
                       || right(replace(gen_random_uuid()::text, '-', ''), 20),
                       t.number, t.body,
                       t.partner_id, t.state, t.failure_type, %s, %s, %s, t.parts,
                       t.encoding, %s, %s, %s, %s, FALSE, 0, FALSE
                  FROM unnest(%s::int[], %s::varchar[], %s::text[], %s::int[],
                              %s::varchar[], %s::varchar[], %s::int[], %s::varchar[])
                       WITH ORDINALITY
                       AS t(id, number, body, partner_id, state, failure_type, parts,
                            encoding, position)
              ORDER BY t.position
                """,
                self.id,
                self.company_id.id,
                self.provider_id.id or None,
                uid,
                uid,
                now,
                now,
                *columns,
            )
        )
        self.env["sms.sms"].invalidate_model()
