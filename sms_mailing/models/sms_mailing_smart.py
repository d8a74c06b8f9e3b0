"""Smart encoding of a mailing's texts: GSM-7 look-alikes where they save."""

from odoo import _, api, fields, models, tools

from ..tools import smart_encoding


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingSmart(models.Model):
    _inherit = "sms.mailing"

    smart_encoding = fields.Boolean(
        "Smart encoding",
        tracking=True,
        help="Characters that force the costly Unicode encoding (UCS-2) and have "
        "a GSM-7 look-alike (typographic quotes and apostrophes, « », dashes, "
        "ellipsis, special spaces) are replaced in the texts sent, and '€' by "
        "'EUR' or 'E' where that saves a part. Letters (é, ç, ã, Cyrillic...) "
        "are never changed: a text that needs Unicode for its letters is sent "
        "as written.",
    )
    smart_saving = fields.Char(
        "Smart encoding saves",
        compute="_compute_estimate",
        help="Parts per message and estimated cost without and with smart encoding.",
    )

    @api.depends("smart_encoding")
    def _compute_body_info(self):
        return super()._compute_body_info()

    @api.depends("smart_encoding")
    def _compute_estimate(self):
        self.smart_saving = False
        return super()._compute_estimate()

    def _finalize_texts(self, texts, sms_ids=None):
        """The texts as sent: smart-encoded last, after the short links and
        the opt-out line, so that the figures are those of the real texts."""
        result = super()._finalize_texts(texts, sms_ids=sms_ids)
        if self.smart_encoding and not self.env.context.get("sms_smart_encoding_off"):
            result = {
                key: smart_encoding.smart_encode(text) for key, text in result.items()
            }
        return result

    def _estimate(self):
        values = super()._estimate()
        if (
            not self.smart_encoding
            or self.env.context.get("sms_smart_encoding_off")
            or not values.get("body_parts")
        ):
            return values
        before = self.with_context(sms_smart_encoding_off=True)._estimate()
        if (before.get("parts_estimate"), before.get("body_encoding")) == (
            values.get("parts_estimate"),
            values.get("body_encoding"),
        ):
            values["smart_saving"] = _(
                "Smart encoding saves nothing on this text: it is sent as written."
            )
            return values
        params = {
            "before": before["body_parts"],
            "after": values["body_parts"],
        }
        if before.get("cost_estimate") and values.get("cost_estimate") is not None:
            values["smart_saving"] = _(
                "%(before)s parts → %(after)s parts per message; cost "
                "%(cost_before)s → %(cost_after)s",
                cost_before=tools.format_amount(
                    self.env, before["cost_estimate"], self.currency_id
                ),
                cost_after=tools.format_amount(
                    self.env, values.get("cost_estimate") or 0.0, self.currency_id
                ),
                **params,
            )
        else:
            values["smart_saving"] = _(
                "%(before)s parts → %(after)s parts per message", **params
            )
        return values
