from odoo import models

from ..controllers.main import SmsIdConverter


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _get_converters(cls):
        return dict(super()._get_converters(), sms_id=SmsIdConverter)
