from odoo import models


class SmsComposer(models.TransientModel):
    _inherit = "sms.composer"

    def _get_optout_record_ids(self, records, recipients_info):
        """Mass sends (Odoo's composer) leave out contacts who chose "Do not use
        SMS", like our mailings; a single send from a record is not affected."""
        optout = set(super()._get_optout_record_ids(records, recipients_info))
        for record in records:
            partner = recipients_info[record.id]["partner"]
            if (partner and partner.sms_opt_out) or (
                record._name == "res.partner" and record.sms_opt_out
            ):
                optout.add(record.id)
        return list(optout)
