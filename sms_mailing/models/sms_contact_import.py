"""Import of contacts from a CSV or XLSX file into an SMS list or the blacklist.

The import is a persistent record, not a transient one: a large file is
imported in the background by a cron job (committed batches, resumable), and
its summary and file of refused lines stay available afterwards in
SMS > Configuration > Contact Imports.

This file holds the import and its steps (upload, columns, import);
``sms_contact_import_processing.py`` writes the contacts, batch after batch;
``sms_contact_import_column.py`` is a column of the file.
"""

import base64
import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..tools import contact_import as reader
from ..tools import settings

_logger = logging.getLogger(__name__)


class SmsContactImport(models.Model):
    _name = "sms.contact.import"
    _description = "SMS Contact Import"
    _order = "id DESC"
    _rec_name = "filename"
    _check_company_auto = True

    file = fields.Binary(
        required=True, help="CSV (any delimiter, UTF-8 or Windows-1251) or XLSX."
    )
    filename = fields.Char("File name")
    country_id = fields.Many2one(
        "res.country",
        "Default country",
        default=lambda self: self.env.company.country_id,
        help="Country of the numbers written without an international prefix "
        "(a Country column, when there is one, wins for its line).",
    )
    list_id = fields.Many2one(
        "sms.mailing.list",
        check_company=True,
        help="The list the imported contacts are added to.",
    )
    list_name = fields.Char(
        "New list", help="Name of a new list to create for the imported contacts."
    )
    to_blacklist = fields.Boolean(
        "Blacklist these numbers",
        help="These numbers must never get a marketing SMS: they are added to the "
        "blacklist, no contact is created.",
    )
    overwrite = fields.Boolean(
        "Overwrite existing values",
        help="Contacts already in Odoo with the same number get the file's values; "
        "otherwise only their empty fields are completed.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    state = fields.Selection(
        [
            ("upload", "Upload"),
            ("map", "Columns"),
            ("running", "Importing"),
            ("done", "Done"),
            ("failed", "Failed"),
        ],
        default="upload",
        required=True,
        readonly=True,
        copy=False,
    )
    file_format = fields.Char("Format", readonly=True)
    encoding = fields.Char(readonly=True)
    delimiter = fields.Char(readonly=True)
    has_header = fields.Boolean("First line is a header", readonly=True)
    line_count = fields.Integer("Lines", readonly=True)
    sample = fields.Json(readonly=True)
    column_ids = fields.One2many("sms.contact.import.column", "import_id", "Columns")
    preview = fields.Html(compute="_compute_preview", sanitize=False)
    processed_count = fields.Integer("Lines done", readonly=True, copy=False)
    progress = fields.Float("Import progress", compute="_compute_progress")
    error = fields.Text(readonly=True, copy=False)

    # results
    created_count = fields.Integer("Created", readonly=True, copy=False)
    updated_count = fields.Integer("Updated", readonly=True, copy=False)
    added_count = fields.Integer("Added to the list", readonly=True, copy=False)
    invalid_count = fields.Integer("Invalid", readonly=True, copy=False)
    duplicate_count = fields.Integer("Duplicates", readonly=True, copy=False)
    refused_csv = fields.Text(readonly=True, copy=False)
    refused_file = fields.Binary("Refused lines", compute="_compute_refused_file")
    refused_filename = fields.Char(compute="_compute_refused_file")

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------
    @api.depends("processed_count", "line_count")
    def _compute_progress(self):
        for record in self:
            record.progress = (
                100.0 * record.processed_count / record.line_count
                if record.line_count
                else 0.0
            )

    @api.depends("refused_csv", "filename")
    def _compute_refused_file(self):
        for record in self:
            if record.refused_csv:
                # UTF-8 with BOM: spreadsheets open it with the right letters.
                data = b"\xef\xbb\xbf" + record.refused_csv.encode()
                record.refused_file = base64.b64encode(data)
                stem = (record.filename or "import").rsplit(".", 1)[0]
                record.refused_filename = _("%(name)s-refused.csv", name=stem)
            else:
                record.refused_file = False
                record.refused_filename = False

    @api.depends("sample", "column_ids.field", "country_id")
    def _compute_preview(self):
        for record in self:
            record.preview = record._preview_html() if record.sample else False

    def _preview_html(self):
        """The first lines of the file as they would be imported: each line's
        cells under its column's header and field, and the number imported
        (or why the line is refused)."""
        labels = self._column_labels()
        columns = self.column_ids.sorted("index")
        mapping = [col.field or None for col in columns]
        messages = self._reason_messages()
        countries = self._countries()
        seen = {}
        rows = []
        for line, cells in self.sample["rows"]:
            decision = reader.decide(
                line, cells, mapping, self.country_id.code, countries, seen
            )
            rows.append(
                {
                    "line": line,
                    "cells": [
                        cells[i] if i < len(cells) else "" for i in range(len(columns))
                    ],
                    "number": decision.number,
                    "refused": decision.reason
                    and messages[decision.reason].format(detail=decision.detail),
                    "invalid": decision.reason == reader.INVALID_NUMBER,
                }
            )
        hint = False
        if any(row["invalid"] for row in rows) and all(row["refused"] for row in rows):
            if self.country_id:
                hint = _(
                    "None of the first numbers is valid: are they written for "
                    "%(country)s? Check the default country, or the column of the "
                    "numbers.",
                    country=self.country_id.name,
                )
            else:
                hint = _(
                    "None of the first numbers is valid, and no default country is "
                    "set to read the numbers written without a country code: choose "
                    "the default country, or check the column of the numbers."
                )
        # Not inside the comprehension: _() finds its language in the caller.
        ignored = _("Ignored")
        return self.env["ir.qweb"]._render(
            "sms_mailing.sms_contact_import_preview",
            {
                "columns": [
                    (col.header or "", labels.get(col.field, ignored))
                    for col in columns
                ],
                "rows": rows,
                "hint": hint,
            },
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    @api.model
    def _action_open(self, context=None):
        return {
            "type": "ir.actions.act_window",
            "name": _("Import contacts"),
            "res_model": "sms.contact.import",
            "view_mode": "form",
            "target": "new",
            "context": dict(context or {}),
        }

    def _reopen(self):
        self.ensure_one()
        action = self._action_open()
        action["res_id"] = self.id
        return action

    def _data(self):
        self.ensure_one()
        return base64.b64decode(self.with_context(bin_size=False).file or b"")

    def _file_info(self):
        self.ensure_one()
        return reader.FileInfo(
            format=self.file_format,
            encoding=self.encoding or "",
            delimiter=self.delimiter or "",
            has_header=self.has_header,
        )

    def _column_labels(self):
        field = self.env["sms.contact.import.column"]._fields["field"]
        return dict(field._description_selection(self.env))

    def _reason_messages(self):
        return {
            reader.NO_NUMBER: _("No phone number"),
            reader.INVALID_NUMBER: _("Invalid number: {detail}"),
            reader.DUPLICATE: _("Same number as line {detail}"),
        }

    def _file_error(self, err):
        """The sentence for a file that cannot be read (whole sentences, with
        or without the file's name)."""
        name = self.filename
        if err.code == "empty":
            return _("The file is empty: it holds no line to import.")
        if err.code == "xls":
            if name:
                return _(
                    "%(file)s is an old Excel file (.xls): save it as .xlsx or as "
                    "CSV and import it again.",
                    file=name,
                )
            return _(
                "This is an old Excel file (.xls): save it as .xlsx or as CSV and "
                "import it again."
            )
        if err.code == "encoding":
            if name:
                return _(
                    "The text of %(file)s cannot be read: save it as CSV in UTF-8 "
                    "(or Windows-1251) and import it again.",
                    file=name,
                )
            return _(
                "The text of this file cannot be read: save it as CSV in UTF-8 "
                "(or Windows-1251) and import it again."
            )
        if name:
            return _(
                "%(file)s is neither a CSV nor an XLSX file. Save it as CSV or as "
                "an Excel workbook (.xlsx) and import it again.",
                file=name,
            )
        return _(
            "This file is neither a CSV nor an XLSX file. Save it as CSV or as an "
            "Excel workbook (.xlsx) and import it again."
        )

    @api.model
    def _countries(self):
        """ISO code by country name (installed languages) and code."""
        countries = {}
        langs = {"en_US"} | {
            code for code, _name in self.env["res.lang"].get_installed()
        }
        Country = self.env["res.country"]
        for lang in langs:
            for country in Country.with_context(lang=lang).search_fetch(
                [], ["name", "code"]
            ):
                countries[reader.normalize_header(country.name)] = country.code
                countries[reader.normalize_header(country.code)] = country.code
        return countries

    # ------------------------------------------------------------------
    # Steps
    # ------------------------------------------------------------------
    def action_analyze(self):
        """Read the file: format, encoding, delimiter, columns, first lines."""
        self.ensure_one()
        if not self.file:
            raise UserError(_("Choose a CSV or XLSX file to import."))
        try:
            info = reader.analyze(
                self._data(), self.filename or "", self.country_id.code
            )
        except reader.ImportFileError as err:
            raise UserError(self._file_error(err)) from err
        if not info.line_count:
            raise UserError(
                _("The file holds a header but no contact: nothing to import.")
            )
        self.column_ids.unlink()
        width = max(
            [len(info.header), len(info.mapping)]
            + [len(cells) for _line, cells in info.sample]
        )
        columns = []
        for index in range(width):
            values = [
                cells[index]
                for _line, cells in info.sample
                if index < len(cells) and cells[index]
            ]
            columns.append(
                {
                    "index": index,
                    "header": info.header[index]
                    if index < len(info.header) and info.header[index]
                    else _("Column %(number)s", number=index + 1),
                    "sample": " · ".join(values[:3]),
                    "field": info.mapping[index]
                    if index < len(info.mapping)
                    else False,
                }
            )
        self.write(
            {
                "file_format": info.format,
                "encoding": info.encoding,
                "delimiter": info.delimiter,
                "has_header": info.has_header,
                "line_count": info.line_count,
                "sample": {"header": info.header, "rows": info.sample},
                "column_ids": [fields.Command.create(vals) for vals in columns],
                "state": "map",
            }
        )
        return self._reopen()

    def action_back(self):
        self.ensure_one()
        self.write({"state": "upload"})
        return self._reopen()

    def _check_ready(self):
        self.ensure_one()
        fields_used = self.column_ids.mapped("field")
        if not {"mobile", "phone"} & set(fields_used):
            raise UserError(
                _(
                    "No column holds phone numbers: set Mobile or Phone on the column "
                    "of the numbers."
                )
            )
        twice = [name for name in set(fields_used) if fields_used.count(name) > 1]
        if twice:
            labels = self._column_labels()
            raise UserError(
                _(
                    "Several columns are set to %(column)s: keep one.",
                    column=labels[twice[0]],
                )
            )
        if (
            not self.to_blacklist
            and not self.list_id
            and not (self.list_name or "").strip()
        ):
            raise UserError(
                _(
                    "Choose the list to import into, name a new one, or tick "
                    "'Blacklist these numbers'."
                )
            )

    def action_import(self):
        """Import the file; a large one is imported in the background."""
        self.ensure_one()
        if self.state == "upload":
            self.action_analyze()
        if self.state != "map":
            raise UserError(_("This file has already been imported."))
        self._check_ready()
        if not self.to_blacklist and not self.list_id:
            self.list_id = self.env["sms.mailing.list"].create(
                {"name": self.list_name.strip(), "company_id": self.company_id.id}
            )
        sync_limit = settings.get(self.env, "sms_mailing.import_sync_lines")
        self.write({"state": "running", "processed_count": 0, "error": False})
        if self.line_count > sync_limit:
            self.env.ref("sms_mailing.ir_cron_sms_contact_import")._trigger()
            return self._reopen()
        self._process()
        return self._reopen()

    def action_refresh(self):
        return self._reopen()

    def action_view_list(self):
        self.ensure_one()
        return self.list_id.action_view_partners()
