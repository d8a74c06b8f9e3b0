import logging
import time
from collections import defaultdict

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import campaign, macros, segments
from .sms_sms import commit_batch

_logger = logging.getLogger(__name__)

# link_tracker's shortest code (LINK_TRACKER_MIN_CODE_LENGTH): the length of a
# short link in an estimate before its tracker exists.
LINK_CODE_LENGTH = 3

# Why a contact of the audience gets no SMS (failure types of canceled messages).
EXCLUSIONS = (
    "sms_number_missing",
    "sms_number_format",
    "sms_optout",
    "sms_blacklist",
    "sms_duplicate",
)


class SmsMailing(models.Model):
    _name = "sms.mailing"
    _description = "SMS Mailing"
    _inherit = ["mail.thread", "mail.activity.mixin"]
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
    render_model = fields.Char(default="res.partner", store=False)
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
    quiet_hours = fields.Boolean(
        help="Hold messages during the night in each recipient's time zone."
    )
    quiet_start = fields.Float("Quiet from", default=21.0)
    quiet_end = fields.Float("Quiet until", default=9.0)
    sms_ids = fields.One2many("sms.sms", "sms_mailing_id", "SMS", copy=False)
    launched_at = fields.Datetime(readonly=True, copy=False)
    done_at = fields.Datetime(readonly=True, copy=False)
    audience_done = fields.Boolean(readonly=True, copy=False)
    audience_cursor = fields.Integer(readonly=True, copy=False)
    audience_max_id = fields.Integer(readonly=True, copy=False)
    launch_error = fields.Char(readonly=True, copy=False)

    # statistics
    total_count = fields.Integer("Recipients", compute="_compute_statistics")
    excluded_count = fields.Integer("Excluded", compute="_compute_statistics")
    queued_count = fields.Integer("In queue", compute="_compute_statistics")
    sent_count = fields.Integer("Sent", compute="_compute_statistics")
    delivered_count = fields.Integer("Delivered", compute="_compute_statistics")
    failed_count = fields.Integer("Failed", compute="_compute_statistics")
    canceled_count = fields.Integer("Canceled", compute="_compute_statistics")
    parts_total = fields.Integer("Parts", compute="_compute_statistics")
    cost_total = fields.Float("Cost", compute="_compute_statistics", digits=(16, 2))
    progress = fields.Float(compute="_compute_statistics")
    exclusion_summary = fields.Html(compute="_compute_statistics", sanitize=False)
    clicked_count = fields.Integer("Clicked", compute="_compute_campaign_statistics")
    clicked_ratio = fields.Float("Clicked (%)", compute="_compute_campaign_statistics")
    optout_count = fields.Integer("Opted out", compute="_compute_campaign_statistics")
    link_count = fields.Integer("Links", compute="_compute_campaign_statistics")

    # before launch
    recipient_estimate = fields.Integer(
        "Recipients after exclusions", compute="_compute_estimate"
    )
    parts_estimate = fields.Integer("Total parts", compute="_compute_estimate")
    cost_estimate = fields.Char("Estimated cost", compute="_compute_estimate")
    body_parts = fields.Integer("Parts per message", compute="_compute_body_info")
    body_encoding = fields.Char("Encoding", compute="_compute_body_info")

    _sql_constraints = [
        (
            "quiet_hours_range",
            "CHECK(quiet_start >= 0 AND quiet_start < 24"
            " AND quiet_end >= 0 AND quiet_end < 24)",
            "Quiet hours must be between 0:00 and 23:59.",
        ),
    ]

    @api.depends("body", "optout_link", "link_tracking")
    def _compute_body_info(self):
        for mailing in self:
            final = mailing._finalize_texts({0: mailing.body or ""})[0]
            info = segments.analyze(final)
            mailing.final_body_sample = final
            mailing.body_parts = info.parts
            mailing.body_encoding = info.encoding

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
            data["cost"] += cost
        labels = dict(
            self.env["sms.sms"]._fields["failure_type"]._description_selection(self.env)
        )
        for mailing in self:
            data = stats[mailing.id]
            mailing.total_count = data["total"]
            mailing.excluded_count = data["excluded"]
            mailing.queued_count = data["outgoing"] + data["process"]
            mailing.sent_count = data["pending"] + data["sent"]
            mailing.delivered_count = data["sent"]
            mailing.failed_count = data["error"]
            mailing.canceled_count = data["canceled"]
            mailing.parts_total = data["parts"]
            mailing.cost_total = data["cost"]
            to_send = data["total"] - data["excluded"] - data["canceled"]
            done = to_send - mailing.queued_count
            mailing.progress = 100.0 * done / to_send if to_send else 0.0
            reasons = exclusions[mailing.id]
            mailing.exclusion_summary = (
                Markup("<ul>%s</ul>")
                % Markup("").join(
                    Markup("<li>%s: %s</li>") % (labels.get(key, key), reasons[key])
                    for key in EXCLUSIONS
                    if key in reasons
                )
                if reasons
                else False
            )

    @api.depends(
        "body",
        "partner_ids",
        "group_ids",
        "provider_id",
        "state",
        "optout_link",
        "link_tracking",
    )
    def _compute_estimate(self):
        for mailing in self:
            if mailing.state != "draft" or not mailing.id:
                mailing.recipient_estimate = 0
                mailing.parts_estimate = 0
                mailing.cost_estimate = False
                continue
            stats = mailing._audience_stats()
            parts = segments.analyze(
                mailing._finalize_texts({0: mailing.body or ""})[0]
            ).parts
            mailing.recipient_estimate = stats["recipients"]
            mailing.parts_estimate = parts * stats["recipients"]
            mailing.cost_estimate = mailing._cost_estimate_text(stats)

    def _provider_for(self, number):
        """The mailing's provider, else the one routing picks for ``number``."""
        self.ensure_one()
        return (
            self.provider_id
            or self.env["sms.provider"]._route(number, company=self.company_id)[:1]
        )

    def _cost_estimate_text(self, stats):
        if not stats["recipients"] or not self.body:
            return False
        provider = self._provider_for(stats["sample_number"] or "")
        if not provider:
            return _("No provider available")
        return provider._estimate_cost_text(
            [stats["sample_number"]], self._render_sample(), times=stats["recipients"]
        )

    @api.constrains("launch_type", "start_date")
    def _check_start_date(self):
        for mailing in self:
            if mailing.launch_type == "deferred" and not mailing.start_date:
                raise ValidationError(_("A deferred mailing needs a start date."))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
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
        if self.partner_ids:
            domains.append([("id", "in", self.partner_ids.ids)])
        for group in self.group_ids:
            domains.append(group._get_domain())
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
                            "'%(field)s'. Pick fields with the magnifier next to "
                            "the text.",
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
        """``{partner_id: text}`` for ``partners`` (a batch, prefetched)."""
        if template.is_static:
            return dict.fromkeys(partners.ids, template.text)
        if not template.simple:
            try:
                return self.env["mail.render.mixin"]._render_template(
                    template.text, "res.partner", partners.ids, engine="inline_template"
                )
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
        secret = self._optout_secret() if self.optout_link else None
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
        if self.launch_type == "deferred" and (
            not self.start_date or self.start_date <= fields.Datetime.now()
        ):
            raise UserError(_("A deferred mailing needs a start date in the future."))
        stats = self._audience_stats()
        if not stats["total"]:
            raise UserError(_("The audience is empty: add contacts or dynamic groups."))
        if not stats["recipients"]:
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
        sample = self._render_sample()
        parts = segments.analyze(sample).parts
        limit = min(providers.mapped("max_parts"))
        if parts > limit:
            raise UserError(
                _(
                    "The text takes %(parts)s SMS parts; the provider accepts at most "
                    "%(max)s. Shorten it.",
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
        provider = (
            self.provider_id
            or self.env["sms.provider"]._get_active_providers(self.company_id)[:1]
        )
        if not provider:
            raise UserError(_("No active SMS provider."))
        return provider

    def action_preview(self):
        self.ensure_one()
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
        self._template()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send a test"),
            "res_model": "sms.mailing.test",
            "view_mode": "form",
            "target": "new",
            "context": {"default_mailing_id": self.id},
        }

    def _action_view_sms(self, domain, name, group_by=None):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sms_mailing.sms_sms_action"
        )
        action.update(
            name=name,
            domain=[("sms_mailing_id", "in", self.ids), ("is_test", "=", False)]
            + domain,
            context={"group_by": group_by} if group_by else {},
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
        return self._action_view_sms([], _("Messages"))

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
        action = self._action_view_sms([("state", "=", "sent")], _("Delivered"))
        action["view_mode"] = "graph,list,form,pivot"
        action["context"] = {"graph_groupbys": ["delivered_at:hour"]}
        return action

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
            time_budget = float(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("sms_mailing.queue_time_budget", 50)
            )
        deadline = time.monotonic() + time_budget
        for mailing in self.search(
            [("state", "=", "sending"), ("audience_done", "=", False)]
        ):
            mailing = mailing.with_user(mailing.user_id or self.env.user)
            commit_batch(self.env)
            while not mailing.audience_done and mailing.state == "sending":
                try:
                    mailing.sudo()._queue_batch()
                except UserError as err:
                    mailing.sudo().write(
                        {"launch_error": str(err), "state": "canceled"}
                    )
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
        batch_size = batch_size or int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("sms_mailing.queue_batch_size", 2000)
        )
        template = self._template()
        Partner = self.env["res.partner"]
        domain = expression.AND(
            [
                self._audience_domain(),
                [("id", ">", self.audience_cursor), ("id", "<=", self.audience_max_id)],
            ]
        )
        partner_ids = Partner._search(domain, order="id", limit=batch_size)
        partner_ids = list(partner_ids)
        if not partner_ids:
            self.write({"audience_done": True})
            self.env.ref("sms_mailing.ir_cron_sms_dispatch")._trigger()
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
        numbers = [row[1] for row in rows if row[1]]
        self.env["sms.sms"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT number FROM sms_sms"
                " WHERE sms_mailing_id = %s AND number = ANY(%s)"
                " AND (state != 'canceled' OR failure_type IS NULL"
                " OR failure_type NOT IN ('sms_duplicate', 'sms_number_missing',"
                " 'sms_number_format', 'sms_optout', 'sms_blacklist'))",
                self.id,
                numbers,
            )
        )
        seen = {row[0] for row in self.env.cr.fetchall()}
        to_render = []
        plan = []
        for partner_id, e164, raw, optout, blacklisted in rows:
            if not e164:
                reason = (
                    "sms_number_format" if raw and raw.strip() else "sms_number_missing"
                )
            elif optout:
                reason = "sms_optout"
            elif blacklisted:
                reason = "sms_blacklist"
            elif e164 in seen:
                reason = "sms_duplicate"
            else:
                reason = None
                seen.add(e164)
                to_render.append(partner_id)
            plan.append((partner_id, e164 or raw or "", reason))
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
            self.env.ref("sms_mailing.ir_cron_sms_dispatch")._trigger()
        return len(partner_ids)

    def _insert_sms(self, plan, bodies, sms_ids=None):
        """Insert the batch's messages in one statement (the launch hot path).

        The values travel as one array per column, and PostgreSQL draws the
        random UUIDs: no SQL object or UUID is built per message in Python.
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
                       replace(gen_random_uuid()::text, '-', ''), t.number, t.body,
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
