import base64
import io

import openpyxl

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import SmsProviderCase


def b64_csv(text, encoding="utf-8"):
    return base64.b64encode(text.encode(encoding))


def b64_xlsx(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return base64.b64encode(out.getvalue())


@tagged("post_install", "-at_install")
class TestContactImport(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ivan = cls.env["res.partner"].create(
            {
                "name": "Иван Существующий",
                "mobile": "+7 925 765-43-21",
                "country_id": cls.country_ru.id,
            }
        )

    def _import(self, data, filename, **vals):
        record = self.env["sms.contact.import"].create(
            dict({"file": data, "filename": filename}, **vals)
        )
        record.action_import()
        return record

    def _refused_lines(self, record):
        data = base64.b64decode(record.refused_file)
        self.assertTrue(data.startswith(b"\xef\xbb\xbf"), "BOM for spreadsheets")
        return data.decode("utf-8-sig").splitlines()

    def _partner(self, number):
        return self.env["res.partner"].search([("phone_sanitized", "=", number)])

    # -- CSV -----------------------------------------------------------------
    def test_csv_cp1251_semicolon_to_new_list(self):
        text = (
            "ФИО;Мобильный;Почта;Компания\r\n"
            "Пётр Петров;8 (916) 123-45-67;Petr@Example.com;ООО Ромашка\r\n"
            "Иван Иванов;+7 925 765-43-21;ivan@example.com;\r\n"
            "Пётр дубль;89161234567;;\r\n"
            "Неверный;12345;;\r\n"
            "Без номера;;nobody@example.com;\r\n"
            ";;;\r\n"
            "Anne;+33 6 12 34 56 78;;\r\n"
        )
        record = self._import(
            b64_csv(text, "cp1251"),
            "выставка.csv",
            country_id=self.country_ru.id,
            list_name="Выставка",
        )
        self.assertEqual(record.state, "done")
        self.assertEqual((record.encoding, record.delimiter), ("cp1251", ";"))
        self.assertEqual(record.line_count, 6, "header and blank line not counted")
        self.assertEqual(
            (
                record.created_count,
                record.updated_count,
                record.added_count,
                record.invalid_count,
                record.duplicate_count,
            ),
            (2, 1, 3, 2, 1),
        )
        mailing_list = record.list_id
        self.assertEqual(mailing_list.name, "Выставка")
        self.assertEqual(mailing_list.partner_count, 3)
        petr = self._partner("+79161234567")
        self.assertEqual(len(petr), 1, "the duplicate line created nobody")
        self.assertEqual(petr.name, "Пётр Петров")
        self.assertEqual(petr.mobile, "+79161234567")
        self.assertEqual(petr.email, "petr@example.com")
        self.assertEqual(petr.parent_id.name, "ООО Ромашка")
        self.assertTrue(petr.parent_id.is_company)
        self.assertEqual(petr.country_id, self.country_ru)
        # The existing contact is completed (empty email), not renamed nor duplicated.
        self.assertEqual(self._partner("+79257654321"), self.ivan)
        self.assertEqual(self.ivan.name, "Иван Существующий")
        self.assertEqual(self.ivan.email, "ivan@example.com")
        self.assertEqual(
            mailing_list.partner_ids, petr | self.ivan | self._partner("+33612345678")
        )
        self.assertEqual(
            self._refused_lines(record),
            [
                "Line;Reason;ФИО;Мобильный;Почта;Компания",
                "4;Same number as line 2;Пётр дубль;89161234567;;",
                "5;Invalid number: 12345;Неверный;12345;;",
                "6;No phone number;Без номера;;nobody@example.com;",
            ],
        )

    def test_number_longer_than_e164_is_reported_invalid(self):
        # phonenumbers calls this German number valid; with +49 it has 16
        # digits, one more than E.164 allows: no provider would take it.
        text = "Name,Phone\nLang,25000000000000\nKurz,2500000000000\n"
        record = self._import(
            b64_csv(text),
            "de.csv",
            country_id=self.env.ref("base.de").id,
            list_name="DE",
        )
        self.assertEqual((record.created_count, record.invalid_count), (1, 1))
        self.assertEqual(record.list_id.partner_ids.phone_sanitized, "+492500000000000")
        self.assertEqual(
            self._refused_lines(record),
            [
                "Line,Reason,Name,Phone",
                "2,Invalid number: 25000000000000,Lang,25000000000000",
            ],
        )

    def test_overwrite_replaces_existing_values(self):
        self.ivan.email = "old@example.com"
        text = "Name,Mobile,Email\nIvan,+79257654321,new@example.com\n"
        mailing_list = self.env["sms.mailing.list"].create({"name": "L"})
        self._import(b64_csv(text), "a.csv", list_id=mailing_list.id)
        self.assertEqual(self.ivan.email, "old@example.com")
        record = self._import(
            b64_csv(text), "a.csv", list_id=mailing_list.id, overwrite=True
        )
        self.assertEqual(self.ivan.email, "new@example.com")
        self.assertEqual((record.updated_count, record.added_count), (1, 0))

    # -- XLSX ----------------------------------------------------------------
    def test_xlsx_national_numbers_to_existing_list(self):
        mailing_list = self.env["sms.mailing.list"].create(
            {"name": "Clients", "partner_ids": [(4, self.ivan.id)]}
        )
        data = b64_xlsx(
            [
                ["Nom", "Téléphone portable", "Pays", "Courriel"],
                ["Marie Curie", "06 12 34 56 78", "France", "marie@example.fr"],
                ["Jean", 612345679, "FR", None],
                ["Marie bis", "+33612345678", None, None],
                ["Mauvais", "0000", None, None],
                [None, None, None, None],
                ["Ivan", "+79257654321", None, None],
            ]
        )
        record = self._import(
            data, "clients.xlsx", country_id=self.country_ru.id, list_id=mailing_list.id
        )
        self.assertEqual(record.file_format, "xlsx")
        self.assertEqual(
            record.column_ids.mapped("field"), ["name", "mobile", "country", "email"]
        )
        self.assertEqual(
            (
                record.created_count,
                record.updated_count,
                record.added_count,
                record.invalid_count,
                record.duplicate_count,
            ),
            (2, 1, 2, 1, 1),
        )
        marie = self._partner("+33612345678")
        self.assertEqual(marie.name, "Marie Curie")
        self.assertEqual(marie.country_id, self.country_fr)
        self.assertEqual(self._partner("+33612345679").name, "Jean")
        self.assertEqual(mailing_list.partner_count, 3)
        self.assertEqual(
            self._refused_lines(record)[1:],
            [
                "4,Same number as line 2,Marie bis,+33612345678",
                "5,Invalid number: 0000,Mauvais,0000",
            ],
        )

    # -- blacklist -------------------------------------------------------------
    def test_blacklist_import(self):
        Blacklist = self.env["phone.blacklist"]
        Blacklist._add(["+33612340002"])
        partners_before = self.env["res.partner"].search_count([])
        text = "\ufeffTelephone\n+33612340001\n06 12 34 00 02\n+33 6 12 34 00 01\nabc\n"
        record = self._import(
            b64_csv(text), "stop.csv", country_id=self.country_fr.id, to_blacklist=True
        )
        self.assertEqual(record.encoding, "utf-8-sig")
        self.assertEqual(
            (
                record.created_count,
                record.updated_count,
                record.invalid_count,
                record.duplicate_count,
            ),
            (1, 1, 1, 1),
        )
        self.assertEqual(
            sorted(Blacklist.search([]).mapped("number")),
            ["+33612340001", "+33612340002"],
        )
        self.assertEqual(
            self.env["res.partner"].search_count([]),
            partners_before,
            "a blacklist import creates no contact",
        )
        self.assertFalse(record.list_id)

    # -- mapping ---------------------------------------------------------------
    def test_columns_corrected_before_import(self):
        mailing_list = self.env["sms.mailing.list"].create({"name": "L"})
        record = self.env["sms.contact.import"].create(
            {
                "file": b64_csv("Who;Digits;Notes\nAnn;+33612345601;vip\n"),
                "filename": "odd.csv",
                "list_id": mailing_list.id,
            }
        )
        record.action_analyze()
        self.assertEqual(record.state, "map")
        self.assertEqual(record.column_ids.mapped("header"), ["Who", "Digits", "Notes"])
        self.assertEqual(
            record.column_ids.mapped("sample"), ["Ann", "+33612345601", "vip"]
        )
        self.assertFalse(any(record.column_ids.mapped("field")))
        with self.assertRaisesRegex(UserError, "No column holds phone numbers"):
            record.action_import()
        record.column_ids[0].field = "name"
        record.column_ids[1].field = "mobile"
        self.assertIn("+33612345601", record.preview)
        self.assertNotIn("None of the first numbers is valid", record.preview)
        record.column_ids[1].field = False
        record.column_ids[2].field = "mobile"
        self.assertIn("None of the first numbers is valid", record.preview)
        record.column_ids[2].field = False
        record.column_ids[1].field = "mobile"
        record.action_import()
        self.assertEqual(record.created_count, 1)
        self.assertEqual(mailing_list.partner_ids.name, "Ann")

    def test_file_without_header(self):
        mailing_list = self.env["sms.mailing.list"].create({"name": "L"})
        record = self._import(
            b64_csv("Ann,+33612345601\nBob,+33612345602\n"),
            "raw.csv",
            list_id=mailing_list.id,
        )
        self.assertFalse(record.has_header)
        self.assertEqual(record.created_count, 2)
        self.assertEqual(
            sorted(mailing_list.partner_ids.mapped("name")), ["Ann", "Bob"]
        )

    # -- bad input -------------------------------------------------------------
    def test_bad_files_are_refused_with_a_sentence(self):
        mailing_list = self.env["sms.mailing.list"].create({"name": "L"})
        cases = [
            (b64_csv("  \n"), "empty.csv", "The file is empty"),
            (b64_csv("Name;Mobile\n"), "header.csv", "no contact"),
            (base64.b64encode(b"%PDF-1.4 ..."), "a.pdf", "neither a CSV nor an XLSX"),
            (base64.b64encode(b"\xd0\xcf\x11\xe0\xa1\xb1"), "a.xls", "old Excel"),
            (
                b64_csv("Name;Mobile\nAnn;+33612345601\n", "utf-16-le"),
                "u.csv",
                "cannot be read",
            ),
            (b64_csv("Name;City\nAnn;Paris\n"), "n.csv", "No column holds phone"),
        ]
        for data, filename, message in cases:
            with (
                self.subTest(filename=filename),
                self.assertRaisesRegex(UserError, message),
            ):
                self._import(data, filename, list_id=mailing_list.id)
        with self.assertRaisesRegex(UserError, "Choose the list to import into"):
            self._import(b64_csv("Mobile\n+33612345601\n"), "x.csv")
        self.assertFalse(mailing_list.partner_ids)

    # -- large files -----------------------------------------------------------
    def test_large_file_in_background_batches(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("sms_mailing.import_sync_lines", 3)
        params.set_param("sms_mailing.import_batch_size", 2)
        mailing_list = self.env["sms.mailing.list"].create({"name": "Big"})
        lines = ["mobile"] + [f"+336123450{i:02d}" for i in range(1, 6)]
        lines.append("+33612345001")  # duplicate of line 2, in a later batch
        record = self._import(
            b64_csv("\n".join(lines)), "big.csv", list_id=mailing_list.id
        )
        self.assertEqual(record.state, "running")
        self.assertEqual(record.processed_count, 0)
        # A run out of time stops after its first batch; the next one resumes.
        self.env["sms.contact.import"]._cron_process(time_budget=0)
        self.assertEqual((record.state, record.processed_count), ("running", 2))
        self.assertEqual(record.progress, 2 * 100.0 / 6)
        self.env["sms.contact.import"]._cron_process()
        self.assertEqual(record.state, "done")
        self.assertEqual(
            (record.created_count, record.duplicate_count, record.processed_count),
            (5, 1, 6),
        )
        self.assertEqual(mailing_list.partner_count, 5)
        self.assertIn(
            "7,Same number as line 2,+33612345001", self._refused_lines(record)
        )

    def test_an_import_moved_on_by_another_process_is_left_to_it(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("sms_mailing.import_sync_lines", 1)
        mailing_list = self.env["sms.mailing.list"].create({"name": "Twice"})
        text = "mobile\n+33612345001\n+33612345002\n+33612345003\n"
        record = self._import(b64_csv(text), "t.csv", list_id=mailing_list.id)
        record.flush_recordset()
        # Another cron worker committed a batch since this one read the record.
        self.env.cr.execute(
            "UPDATE sms_contact_import SET processed_count = 2 WHERE id = %s",
            (record.id,),
        )
        self.assertIsNone(record._process(commit=True))
        self.assertFalse(mailing_list.partner_ids, "nothing imported twice")


@tagged("post_install", "-at_install")
class TestMailingList(SmsProviderCase):
    def test_add_to_list_from_contacts(self):
        partners = self._create_partner("A", "+33612345671") | self._create_partner(
            "B", "+33612345672"
        )
        wizard = (
            self.env["sms.mailing.list.add"]
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({"list_name": "Salon"})
        )
        action = wizard.action_add()
        self.assertIn("2 contacts added to Salon", action["params"]["message"])
        mailing_list = self.env["sms.mailing.list"].search([("name", "=", "Salon")])
        self.assertEqual(mailing_list.partner_ids, partners)
        self.assertEqual(partners[0].sms_list_ids, mailing_list)
        again = (
            self.env["sms.mailing.list.add"]
            .with_context(active_model="res.partner", active_ids=partners[:1].ids)
            .create({"list_id": mailing_list.id})
        )
        self.assertIn("0 contacts added", again.action_add()["params"]["message"])
        self.assertEqual(mailing_list.partner_count, 2)

    def test_lists_in_the_audience_of_a_launched_mailing(self):
        self._create_provider()
        inside = self._create_partner("In", "+33612345681") | self._create_partner(
            "In too", "+33612345682"
        )
        blocked = self._create_partner("Blocked", "+33612345683", sms_opt_out=True)
        outside = self._create_partner("Out", "+33612345684")
        single = self._create_partner("Single", "+33612345685")
        first = self.env["sms.mailing.list"].create(
            {"name": "First", "partner_ids": [(6, 0, (inside | blocked).ids)]}
        )
        second = self.env["sms.mailing.list"].create(
            {"name": "Second", "partner_ids": [(6, 0, inside[:1].ids)]}
        )
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Lists",
                "body": "Hi {{ object.name }}",
                "optout_link": False,  # the texts are compared whole
                "list_ids": [(6, 0, (first | second).ids)],
                "partner_ids": [(6, 0, single.ids)],
            }
        )
        self.assertEqual(mailing.recipient_estimate, 3)
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        queued = mailing.sms_ids.filtered(lambda s: s.state == "outgoing")
        self.assertEqual(
            sorted(queued.mapped("number")),
            ["+33612345681", "+33612345682", "+33612345685"],
        )
        self.assertEqual(queued.mapped("body").count("Hi In"), 1)
        self.assertNotIn(outside, mailing.sms_ids.partner_id)
        self.assertEqual(
            mailing.sms_ids.filtered(lambda s: s.partner_id == blocked).failure_type,
            "sms_optout",
        )
        self.assertEqual((mailing.total_count, mailing.queued_count), (4, 3))
        with self.mock_gateway():
            self._run_dispatch()
        self.assertEqual(len(self.sent_numbers), 3)

    def test_sms_users_read_lists_managers_fill_them(self):
        user = new_test_user(
            self.env, login="sms_user_only", groups="base.group_user", name="Uma User"
        )
        mailing_list = self.env["sms.mailing.list"].create({"name": "Readable"})
        self.assertEqual(mailing_list.with_user(user).name, "Readable")
        partner = self._create_partner("A", "+33612345671")
        with self.assertRaises(AccessError):
            mailing_list.with_user(user)._add_partners(partner.ids)
        with self.assertRaises(AccessError):
            self.env["sms.contact.import"].with_user(user).create(
                {"file": b64_csv("Mobile\n+33612345601\n"), "filename": "x.csv"}
            )
        action = self.env.ref("sms_mailing.sms_mailing_list_add_action")
        self.assertEqual(
            action.groups_id, self.env.ref("sms_mailing.group_sms_manager")
        )
        self.assertFalse(mailing_list.partner_ids)

    def test_empty_list_is_an_empty_audience(self):
        self._create_provider()
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Empty",
                "body": "Hi",
                "list_ids": [(0, 0, {"name": "Nobody yet"})],
            }
        )
        with self.assertRaisesRegex(UserError, "audience is empty"):
            mailing.action_launch()


@tagged("post_install", "-at_install")
class TestContactImportTour(HttpCase):
    def test_import_tour(self):
        """A sales manager imports a CSV into a list, correcting a column."""
        self.env.company.country_id = self.env.ref("base.fr")
        user = new_test_user(
            self.env,
            login="tour_import",
            groups="base.group_user,base.group_partner_manager,"
            "sms_mailing.group_sms_manager",
            name="Sam Manager",
            lang="en_US",
        )
        mailing_list = self.env["sms.mailing.list"].create({"name": "Fair 2026"})
        self.start_tour(
            f"/odoo/action-sms_mailing.sms_mailing_list_action/{mailing_list.id}",
            "sms_mailing_contact_import",
            login=user.login,
        )
        record = self.env["sms.contact.import"].search(
            [("list_id", "=", mailing_list.id)]
        )
        self.assertEqual(record.create_uid, user)
        self.assertEqual(
            sorted(mailing_list.partner_ids.mapped("name")), ["Marie Tour", "Paul Tour"]
        )
        marie = mailing_list.partner_ids.filtered(lambda p: p.name == "Marie Tour")
        self.assertEqual((marie.mobile, marie.city), ("+33612345678", "vip"))
