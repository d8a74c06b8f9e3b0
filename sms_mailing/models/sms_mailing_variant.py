"""A text variant of a mailing's A/B test."""

from collections import defaultdict

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import segments

VARIANT_LETTERS = "ABC"


class SmsMailingVariant(models.Model):
    _name = "sms.mailing.variant"
    _description = "SMS Mailing Variant"
    _order = "mailing_id, sequence, id"

    mailing_id = fields.Many2one(
        "sms.mailing", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    name = fields.Char("Variant", compute="_compute_name")
    body = fields.Text(
        "Text",
        required=True,
        help="Macros such as {{ object.name }} are replaced for each contact.",
    )
    body_parts = fields.Integer(
        "Parts per message",
        compute="_compute_body_info",
        help="The parts of this text as sent, for the first contact of the audience.",
    )
    final_body_sample = fields.Text("Text as sent", compute="_compute_body_info")
    is_winner = fields.Boolean("Winner", compute="_compute_is_winner")
    sent_count = fields.Integer("Sent", compute="_compute_statistics")
    delivered_count = fields.Integer("Delivered", compute="_compute_statistics")
    clicked_count = fields.Integer("Clicked", compute="_compute_statistics")
    clicked_ratio = fields.Float("Clicked (%)", compute="_compute_statistics")
    optout_count = fields.Integer("Opted out", compute="_compute_statistics")
    optout_ratio = fields.Float("Opted out (%)", compute="_compute_statistics")

    @api.depends("mailing_id.variant_ids", "sequence")
    def _compute_name(self):
        letters = {}
        for mailing in self.mailing_id:
            ordered = mailing.variant_ids.sorted(lambda v: (v.sequence, v.id or 0))
            for index, variant in enumerate(ordered):
                letters[variant] = VARIANT_LETTERS[index % len(VARIANT_LETTERS)]
        for variant in self:
            letter = letters.get(variant)
            variant.name = (
                _("Variant %(letter)s", letter=letter) if letter else _("Variant")
            )

    @api.depends(
        "body",
        "mailing_id.optout_link",
        "mailing_id.link_tracking",
        "mailing_id.smart_encoding",
        "mailing_id.partner_ids",
        "mailing_id.group_ids",
        "mailing_id.list_ids",
    )
    def _compute_body_info(self):
        for variant in self:
            variant.final_body_sample = False
            variant.body_parts = 0
            if not variant.body or not variant.mailing_id:
                continue
            shadow = variant.mailing_id._ab_shadow(variant)
            try:
                text = shadow._render_sample()
            except UserError:
                text = shadow._finalize_texts({0: variant.body})[0]
            variant.final_body_sample = text
            variant.body_parts = segments.analyze(text).parts

    @api.depends("mailing_id.ab_testing_winner_id")
    def _compute_is_winner(self):
        for variant in self:
            variant.is_winner = variant.mailing_id.ab_testing_winner_id == variant

    def _compute_statistics(self):
        saved = [vid for vid in self.ids if isinstance(vid, int)]
        counts = defaultdict(lambda: [0, 0, 0, 0])
        if saved:
            self.env["sms.sms"].flush_model()
            self.env["link.tracker.click"].flush_model()
            self.env.cr.execute(
                SQL(
                    """
                    SELECT s.sms_mailing_variant_id,
                           count(DISTINCT s.id) FILTER (
                               WHERE s.state IN ('pending', 'sent')),
                           count(DISTINCT s.id) FILTER (WHERE s.state = 'sent'),
                           count(DISTINCT s.id) FILTER (WHERE c.id IS NOT NULL),
                           count(DISTINCT s.id) FILTER (
                               WHERE s.optout_at IS NOT NULL)
                      FROM sms_sms s
                 LEFT JOIN link_tracker_click c ON c.sms_sms_id = s.id
                     WHERE s.sms_mailing_variant_id = ANY(%s)
                       AND s.is_test IS NOT TRUE
                  GROUP BY s.sms_mailing_variant_id
                    """,
                    saved,
                )
            )
            for row in self.env.cr.fetchall():
                counts[row[0]] = list(row[1:])
        for variant in self:
            sent, delivered, clicked, optout = counts[variant.id]
            variant.sent_count = sent
            variant.delivered_count = delivered
            variant.clicked_count = clicked
            variant.optout_count = optout
            variant.clicked_ratio = 100.0 * clicked / sent if sent else 0.0
            variant.optout_ratio = 100.0 * optout / sent if sent else 0.0

    @api.model_create_multi
    def create(self, vals_list):
        mailings = self.env["sms.mailing"].browse(
            {vals.get("mailing_id") for vals in vals_list if vals.get("mailing_id")}
        )
        mailings._check_variants_editable()
        self.env["sms.mailing"]._check_body_rights(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self.mailing_id._check_variants_editable()
        self.env["sms.mailing"]._check_body_rights([vals])
        return super().write(vals)

    def unlink(self):
        self.mailing_id._check_variants_editable()
        return super().unlink()

    def action_select_as_winner(self):
        """Chosen by hand: this variant's text goes to the rest of the
        audience now."""
        self.ensure_one()
        return self.mailing_id._ab_send_winner(self)
