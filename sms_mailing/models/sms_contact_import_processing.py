"""Processing a contact import: batch after batch, in the foreground for a
small file or by a cron job for a large one (committed batches, resumable),
the lines become contacts of the list (or blacklist entries)."""

import time

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import contact_import as reader
from ..tools import settings
from ..tools.transaction import commit_batch

# Contact values the import may fill on a contact that already exists.
UPDATABLE = ("mobile", "phone", "email", "city", "country_id", "parent_id")


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsContactImportProcessing(models.Model):
    _inherit = "sms.contact.import"

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
        new = [number for number in dict.fromkeys(numbers) if number not in already]
        if new:
            # sudo: the proof of consent keeps each number this import opted
            # out; nobody writes the history directly.
            self.env["sms.consent"].sudo().create(
                [
                    {
                        "number": number,
                        "action": "optout",
                        "source": "import",
                        "detail": self.filename or False,
                        "user_id": self.env.user.id,
                        "company_id": (self.company_id or self.env.company).id,
                    }
                    for number in new
                ]
            )
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
