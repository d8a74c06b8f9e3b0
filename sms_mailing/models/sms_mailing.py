"""The SMS mailing: its fields, its life cycle (create, write, copy) and the
actions of its form. The rest of ``sms.mailing`` lives by concern in
``sms_mailing_render.py`` (the text each recipient gets),
``sms_mailing_audience.py`` (who gets it), ``sms_mailing_estimate.py`` (before
launch), ``sms_mailing_queue.py`` (the queuing cron) and
``sms_mailing_statistics.py`` (after launch, and the drill-downs of its
counters)."""

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

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
    "template_id",
    "smart_encoding",
    "all_phones",
    "ab_testing_enabled",
    "ab_testing_pc",
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
        compute="_compute_body",
        store=True,
        readonly=False,
        precompute=True,
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
        help="The text a recipient receives, for the first recipient of the "
        "audience (as Check shows it): macros filled, with the opt-out line and "
        "short links.",
    )
    final_body_sample_partner_id = fields.Many2one(
        "res.partner", "Shown for", compute="_compute_body_info"
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
    parts_total = fields.Integer(
        "Parts sent",
        compute="_compute_statistics",
        help="Parts that left: those of the messages a provider took. A message "
        "refused at sending (rejected key, bad number) counts none.",
    )
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
    cost_unknown = fields.Boolean(
        compute="_compute_estimate",
        help="The cost could not be estimated (the note says why): the form "
        "says Unknown, never 0.",
    )
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

    @api.depends("template_id")
    def _compute_body(self):
        # The template's raw text becomes the mailing's (in the form, and in a
        # create() through the API that names a template and no text): the
        # mailing's own checks (macros, rendering restrictions) apply to it
        # like to a typed text.
        for mailing in self:
            mailing.body = (
                mailing.template_id.body if mailing.template_id else mailing.body
            )

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
        # The estimate's figures, read before the launch empties them.
        figures = (
            {
                "recipients": self.recipient_estimate,
                "parts": self.parts_estimate,
                "cost": self.cost_estimate,
                "cost_unknown": self.cost_unknown,
            }
            if len(self) == 1
            else None
        )
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
        if figures is None:
            return True
        return self._launch_notification(**figures)

    def _launch_notification(self, recipients, parts, cost, cost_unknown):
        """What the user reads after Launch: recipients, parts and cost (the
        estimate's figures at launch), as one sentence."""
        self.ensure_one()
        values = {"recipients": recipients, "parts": parts}
        cost = tools.format_amount(self.env, cost, self.currency_id)
        if self.state == "scheduled":
            date = tools.format_datetime(
                self.env, self.start_date, tz=self.env.user.tz, dt_format=False
            )
            message = (
                _(
                    "Mailing scheduled for %(date)s. Recipients: %(recipients)s; "
                    "parts: %(parts)s; cost: unknown.",
                    date=date,
                    **values,
                )
                if cost_unknown
                else _(
                    "Mailing scheduled for %(date)s. Recipients: %(recipients)s; "
                    "parts: %(parts)s; cost: %(cost)s.",
                    date=date,
                    cost=cost,
                    **values,
                )
            )
        else:
            message = (
                _(
                    "Mailing launched. Recipients: %(recipients)s; parts: "
                    "%(parts)s; cost: unknown.",
                    **values,
                )
                if cost_unknown
                else _(
                    "Mailing launched. Recipients: %(recipients)s; parts: "
                    "%(parts)s; cost: %(cost)s.",
                    cost=cost,
                    **values,
                )
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                # No title: the sentence says it all ("Mailing launched. ...").
                "message": message,
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

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
        outgoing._set_state("canceled")
        for mailing in self:
            # A log note, as Odoo logs what happens to a record: it notifies
            # nobody, so it needs no sender email (a manager may have none).
            mailing._message_log(
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
        if self.state == "draft":  # a launched mailing's fields stay as launched
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
