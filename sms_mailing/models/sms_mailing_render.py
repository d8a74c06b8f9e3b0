"""The text of a mailing as each recipient gets it: Odoo's rendering rights,
macros, tracked short links and the opt-out line."""

from odoo import _, api, models
from odoo.exceptions import AccessError, UserError

from ..tools import campaign, macros

# link_tracker's shortest code (LINK_TRACKER_MIN_CODE_LENGTH): the length of a
# short link in an estimate before its tracker exists.
LINK_CODE_LENGTH = 3


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingRender(models.Model):
    _inherit = "sms.mailing"

    def _compute_render_model(self):
        self.render_model = "res.partner"

    @api.depends(
        "body", "optout_link", "link_tracking", "partner_ids", "group_ids", "list_ids"
    )
    def _compute_body_info(self):
        """The text as the first recipient receives it (Check's default
        contact), else with its macros when nobody would receive it or the
        text does not render (Check and Launch then say why)."""
        for mailing in self:
            partner = self.env["res.partner"]
            text = False
            if (mailing.body or "").strip():
                partner = mailing._sample_recipient(recipients_only=True)
                try:
                    text = partner and mailing._final_texts(partner)[partner.id]
                except UserError:
                    partner = self.env["res.partner"]
                if not partner:
                    text = mailing._finalize_texts({0: mailing.body})[0]
            mailing.final_body_sample = text
            mailing.final_body_sample_partner_id = partner

    # ------------------------------------------------------------------
    # Rendering rights (Odoo's "Restrict Template Rendering")
    # ------------------------------------------------------------------

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
            body = vals.get("body")
            if "body" not in vals and vals.get("template_id"):
                # the text comes from the template (_compute_body)
                body = self.env["sms.template"].browse(vals["template_id"]).body
            if body:
                self.new({"body": body})._check_access_right_dynamic_template()

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
