"""Start keywords of a provider's inbound SMS."""

from odoo import fields, models

from ..tools.keywords import DEFAULT_START_KEYWORDS


# One concern per file (see models/__init__.py).
# pylint: disable=consider-merging-classes-inherited
class SmsProvider(models.Model):
    _inherit = "sms.provider"

    start_keywords = fields.Char(
        default=DEFAULT_START_KEYWORDS,
        help="A received SMS equal to one of these words (case and spaces do not "
        "matter) lifts the opt-out its sender made with a stop keyword: the number "
        "leaves the blacklist and its contacts may get SMS mailings again.",
    )

    def _start_keywords(self):
        """The start keywords of this provider's inbound messages (a
        comma-separated text); ``None``: the default ones."""
        return self.start_keywords or None
