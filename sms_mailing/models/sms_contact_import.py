"""Import of contacts from a CSV or XLSX file into an SMS list or the blacklist.

The import is a persistent record, not a transient one: a large file is
imported in the background by a cron job (committed batches, resumable), and
its summary and file of refused lines stay available afterwards in
SMS > Configuration > Contact Imports.
"""

import base64
import logging
import time

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import contact_import as reader
from ..tools import settings
from ..tools.transaction import commit_batch

_logger = logging.getLogger(__name__)

COLUMN_SELECTION = [
    ("name", "Name"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("mobile", "Mobile"),
    ("phone", "Phone"),
    ("email", "Email"),
    ("company", "Company"),
    ("city", "City"),
    ("country", "Country"),
]
# Contact values the import may fill on a contact that already exists.
UPDATABLE = ("mobile", "phone", "email", "city", "country_id", "parent_id")


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
    progress = fields.Float(compute="_compute_progress")
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
        labels = self._column_labels()
        columns = self.column_ids.sorted("index")
        mapping = [col.field or None for col in columns]
        messages = self._reason_messages()
        ignored = _("Ignored")
        head = Markup("").join(
            Markup("<th>%s<br/><small class='text-muted'>%s</small></th>")
            % (col.header or "", labels.get(col.field, ignored))
            for col in columns
        )
        rows = []
        seen = {}
        countries = self._countries()
        invalid = valid = 0
        for line, cells in self.sample["rows"]:
            decision = reader.decide(
                line, cells, mapping, self.country_id.code, countries, seen
            )
            invalid += decision.reason == reader.INVALID_NUMBER
            valid += not decision.reason
            if decision.reason:
                verdict = Markup("<span class='text-danger'>%s</span>") % messages[
                    decision.reason
                ].format(detail=decision.detail)
            else:
                verdict = decision.number
            rows.append(
                Markup("<tr><td>%s</td>%s<td>%s</td></tr>")
                % (
                    line,
                    Markup("").join(
                        Markup("<td>%s</td>") % (cells[i] if i < len(cells) else "")
                        for i in range(len(columns))
                    ),
                    verdict,
                )
            )
        hint = ""
        if invalid and not valid:
            hint = Markup("<div class='alert alert-warning' role='alert'>%s</div>") % _(
                "None of the first numbers is valid: are they written for %(country)s? "
                "Check the default country, or the column of the numbers.",
                country=self.country_id.name or _("no default country"),
            )
        return hint + Markup(
            "<table class='table table-sm o_sms_import_preview'>"
            "<thead><tr><th>%s</th>%s<th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (_("Line"), head, _("Number to import"), Markup("").join(rows))

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
        """The sentence for a file that cannot be read."""
        if err.code == "empty":
            return _("The file is empty: it holds no line to import.")
        if err.code == "xls":
            return _(
                "%(file)s is an old Excel file (.xls): save it as .xlsx or as CSV "
                "and import it again.",
                file=self.filename or _("The file"),
            )
        if err.code == "encoding":
            return _(
                "The text of %(file)s cannot be read: save it as CSV in UTF-8 "
                "(or Windows-1251) and import it again.",
                file=self.filename or _("the file"),
            )
        return _(
            "%(file)s is neither a CSV nor an XLSX file. Save it as CSV or as an "
            "Excel workbook (.xlsx) and import it again.",
            file=self.filename or _("The file"),
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

    # ------------------------------------------------------------------
    # Processing
    # ------------------------------------------------------------------
    @api.model
    def _cron_process(self, time_budget=None):
        """Import the files waiting in the background, batch after batch."""
        if time_budget is None:
            time_budget = settings.get(self.env, "sms_mailing.import_time_budget")
        deadline = time.monotonic() + time_budget
        for record in self.search([("state", "=", "running")], order="id"):
            # The import runs with the rights of the user who started it.
            record = record.with_user(record.create_uid).with_company(record.company_id)
            try:
                finished = record._process(deadline=deadline, commit=True)
            except UserError as err:
                self.env.cr.rollback()
                record.write({"state": "failed", "error": str(err)})
                record._notify_user()
                commit_batch(self.env)
                continue
            if finished is None:
                continue  # another process imports this file
            if not finished:
                self.env.ref("sms_mailing.ir_cron_sms_contact_import")._trigger()
                return
            record._notify_user()

    def _notify_user(self):
        self.ensure_one()
        if self.state == "failed":
            message = _(
                "The import of %(file)s failed: %(error)s",
                file=self.filename,
                error=self.error,
            )
        else:
            message = _(
                "%(file)s imported: %(created)s created, %(updated)s updated, "
                "%(invalid)s invalid, %(duplicates)s duplicates.",
                file=self.filename,
                created=self.created_count,
                updated=self.updated_count,
                invalid=self.invalid_count,
                duplicates=self.duplicate_count,
            )
        self.create_uid._bus_send(
            "simple_notification",
            {
                "type": "danger" if self.state == "failed" else "success",
                "title": _("SMS contact import"),
                "message": message,
                "sticky": True,
            },
        )

    def _process(self, deadline=None, commit=False):
        """Import the lines not done yet, in batches.

        Returns True when finished, False when out of time, None when another
        process is importing the same file.

        Each batch is flushed and the cache emptied, so memory stays flat
        whatever the size of the file. In the background (``commit``), each
        batch is committed and the import resumes at ``processed_count`` if it
        stops (time budget, crash): the lines before it are read again only to
        know their numbers (duplicates inside the file).
        """
        self.ensure_one()
        batch_size = settings.get(self.env, "sms_mailing.import_batch_size")
        info = self._file_info()
        data = self._data()
        mapping = [col.field or None for col in self.column_ids.sorted("index")]
        region = self.country_id.code
        countries = self._countries()
        cursor = self.processed_count
        if not self._lock(cursor):
            return None
        if not cursor:
            header = (self.sample or {}).get("header") or []
            self._sql_append_refused(
                reader.csv_line([_("Line"), _("Reason"), *header], self.delimiter)
            )
        seen = {}
        batch = []
        try:
            rows = reader.data_rows(data, info)
            for position, (line, cells) in enumerate(rows):
                decision = reader.decide(line, cells, mapping, region, countries, seen)
                if position < cursor:
                    continue
                batch.append(decision)
                if len(batch) < batch_size:
                    continue
                self._apply(batch)
                cursor += len(batch)
                batch = []
                self._after_batch(commit)
                if deadline and time.monotonic() > deadline:
                    return False
                if not self._lock(cursor):
                    return None
        except reader.ImportFileError as err:
            raise UserError(self._file_error(err)) from err
        if batch:
            self._apply(batch)
        self.write({"state": "done"})
        self._after_batch(commit)
        return True

    def _lock(self, cursor):
        """Lock the import for the next batch; False if another process holds
        it or moved it on (a cron run and a manual run at the same time)."""
        self.flush_recordset(["processed_count", "state"])
        self.env.cr.execute(
            SQL(
                "SELECT COALESCE(processed_count, 0) FROM sms_contact_import"
                " WHERE id = %s AND state = 'running' FOR NO KEY UPDATE SKIP LOCKED",
                self.id,
            )
        )
        row = self.env.cr.fetchone()
        return bool(row) and row[0] == cursor

    def _after_batch(self, commit):
        self.env.flush_all()
        if commit:
            commit_batch(self.env)
        # Forget the batch's records: the cache would otherwise grow with the file.
        self.env.invalidate_all()

    def _sql_append_refused(self, text):
        self.flush_recordset(["refused_csv"])
        self.env.cr.execute(
            SQL(
                "UPDATE sms_contact_import"
                " SET refused_csv = COALESCE(refused_csv, '') || %s WHERE id = %s",
                text,
                self.id,
            )
        )
        self.invalidate_recordset(["refused_csv"])

    def _apply(self, decisions):
        """Write one batch: contacts (or blacklist entries), list, counters."""
        refused = [d for d in decisions if d.reason]
        accepted = [d for d in decisions if not d.reason]
        values = {
            "processed_count": self.processed_count + len(decisions),
            "invalid_count": self.invalid_count
            + sum(1 for d in refused if d.reason != reader.DUPLICATE),
            "duplicate_count": self.duplicate_count
            + sum(1 for d in refused if d.reason == reader.DUPLICATE),
        }
        if refused:
            self._sql_append_refused(
                reader.refused_csv(refused, self._reason_messages(), self.delimiter)
            )
        if accepted and self.to_blacklist:
            created, existing = self._apply_blacklist([d.number for d in accepted])
            values["created_count"] = self.created_count + created
            values["updated_count"] = self.updated_count + existing
        elif accepted:
            partners, created, updated = self._apply_contacts(accepted)
            values["created_count"] = self.created_count + created
            values["updated_count"] = self.updated_count + updated
            values["added_count"] = self.added_count + self.list_id._add_partners(
                partners
            )
        self.write(values)

    def _apply_blacklist(self, numbers):
        # sudo: Odoo opens phone.blacklist to administrators only, but an SMS
        # Manager (the only group that can run an import) may opt numbers out,
        # as a recipient's STOP does. Only this batch's accepted lines reach
        # here, as normalised numbers: the import reads and adds those rows,
        # never removes or reads any other.
        Blacklist = (
            self.env["phone.blacklist"]
            .sudo()
            .with_context(tracking_disable=True, mail_create_nolog=True)
        )
        already = Blacklist.search([("number", "in", numbers)]).mapped("number")
        Blacklist._add(numbers)
        return len(set(numbers) - set(already)), len(set(already))

    def _apply_contacts(self, decisions):
        """Create or complete the batch's contacts; returns (ids, created, updated)."""
        Partner = self.env["res.partner"].with_context(
            tracking_disable=True,
            mail_create_nolog=True,
            mail_create_nosubscribe=True,
            mail_notrack=True,
        )
        numbers = [d.number for d in decisions]
        existing = {}
        for partner in Partner.search_fetch(
            [("phone_sanitized", "in", numbers)],
            ["phone_sanitized", *UPDATABLE],
            order="id",
        ):
            existing.setdefault(partner.phone_sanitized, partner)
        country_ids = self._country_ids(decisions)
        company_ids = self._company_ids(decisions)
        to_create = []
        partner_ids = []
        updated = 0
        for decision in decisions:
            vals = self._partner_values(decision, country_ids, company_ids)
            partner = existing.get(decision.number)
            if partner:
                updated += 1
                partner_ids.append(partner.id)
                changes = {}
                for key, value in vals.items():
                    current = partner[key]
                    if isinstance(current, models.BaseModel):
                        current = current.id
                    if key in UPDATABLE and (self.overwrite or not current):
                        if current != value:
                            changes[key] = value
                if changes:
                    partner.write(changes)
            else:
                vals.setdefault("name", decision.number)
                to_create.append(vals)
        created = Partner.create(to_create) if to_create else Partner
        return partner_ids + created.ids, len(created), updated

    def _partner_values(self, decision, country_ids, company_ids):
        values = decision.values
        vals = {
            key: values[key]
            for key in ("name", "mobile", "phone", "email", "city")
            if values.get(key)
        }
        if values.get("country"):
            vals["country_id"] = country_ids.get(values["country"])
        elif self.country_id:
            vals["country_id"] = self.country_id.id
        if values.get("company"):
            vals["parent_id"] = company_ids.get(values["company"])
        return {key: value for key, value in vals.items() if value}

    def _country_ids(self, decisions):
        codes = {d.values["country"] for d in decisions if d.values.get("country")}
        if not codes:
            return {}
        return {
            country.code: country.id
            for country in self.env["res.country"].search([("code", "in", list(codes))])
        }

    def _company_ids(self, decisions):
        """Company contacts by name, created when missing."""
        names = {d.values["company"] for d in decisions if d.values.get("company")}
        if not names:
            return {}
        Partner = self.env["res.partner"].with_context(
            tracking_disable=True, mail_create_nolog=True
        )
        companies = {}
        for company in Partner.search(
            [("is_company", "=", True), ("name", "in", list(names))], order="id"
        ):
            companies.setdefault(company.name, company.id)
        missing = [name for name in names if name not in companies]
        for company in Partner.create(
            [{"name": name, "is_company": True} for name in missing]
        ):
            companies[company.name] = company.id
        return companies


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
