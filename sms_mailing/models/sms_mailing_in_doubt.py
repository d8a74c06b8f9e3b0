"""Messages of a mailing that may have been sent (*Maybe sent*): a crash
caught their request in flight. Their count and list on the mailing; Retry
failed asks before it sends them again (see the form view)."""

from odoo import _, api, fields, models

from .sms_sms import IN_DOUBT


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailing(models.Model):
    _inherit = "sms.mailing"

    in_doubt_count = fields.Integer(
        "Maybe sent",
        compute="_compute_in_doubt_count",
        help="Messages whose request was on its way to the provider when sending "
        "was interrupted (server stopped or crashed): they may have been sent. "
        "They are not sent again automatically: check with the provider, then "
        "retry those it did not receive.",
    )

    @api.depends("state")
    def _compute_in_doubt_count(self):
        counts = {}
        if self.ids:
            # sudo: a count of the messages of mailings the user can read.
            counts = dict(
                self.env["sms.sms"]
                .sudo()
                ._read_group(
                    [
                        ("sms_mailing_id", "in", self.ids),
                        ("state", "=", "error"),
                        ("failure_type", "=", IN_DOUBT),
                        ("is_test", "=", False),
                    ],
                    ["sms_mailing_id"],
                    ["__count"],
                )
            )
        for mailing in self:
            mailing.in_doubt_count = counts.get(mailing._origin, 0)

    def action_view_in_doubt(self):
        return self._action_view_sms(
            [("state", "=", "error"), ("failure_type", "=", IN_DOUBT)],
            _("Maybe sent"),
        )
