from odoo import fields, models

COLUMN_SELECTION = [
    ("name", "Full name"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("mobile", "Mobile"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("company", "Company"),
    ("city", "City"),
    ("country", "Country"),
]


class SmsContactImportColumn(models.Model):
    _name = "sms.contact.import.column"
    _description = "SMS Contact Import Column"
    _order = "index"

    import_id = fields.Many2one(
        "sms.contact.import", required=True, ondelete="cascade", index=True
    )
    index = fields.Integer(required=True)
    header = fields.Char("Column", readonly=True)
    sample = fields.Char("First values", readonly=True)
    field = fields.Selection(
        COLUMN_SELECTION, "Import as", help="Leave empty to ignore the column."
    )
