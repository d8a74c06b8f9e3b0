"""The screens in Russian: labels, the live counter and money as Russians read them."""

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestUiRussian(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("ru_RU")
        # Our terms only: Odoo's own words (menus of other apps) are not checked.
        cls.env["ir.module.module"]._load_module_terms(["sms_mailing"], ["ru_RU"])
        cls.env.ref("base.user_admin").lang = "ru_RU"
        cls.env["sms.provider"].search([]).write({"active": False})
        rub = cls.env.ref("base.RUB")
        rub.active = True
        cls.provider = cls.env["sms.provider"].create(
            {
                "name": "Тестовый оператор",
                "provider_type": "demo",
                "price_per_part": 617.25,
                "currency_id": rub.id,
            }
        )
        russia = cls.env.ref("base.ru")
        cls.ivan, cls.olga = cls.env["res.partner"].create(
            [
                {
                    "name": "Иван Петров",
                    "mobile": "+7 925 123-45-67",
                    "country_id": russia.id,
                },
                {
                    "name": "Ольга Смирнова",
                    "mobile": "+7 925 765-43-21",
                    "country_id": russia.id,
                },
            ]
        )
        cls.mailing = cls.env["sms.mailing"].create(
            {
                "name": "Весенняя акция",
                "body": "Здравствуйте, {{ object.name }}!",
                "provider_id": cls.provider.id,
                "partner_ids": [(6, 0, (cls.ivan | cls.olga).ids)],
            }
        )

    def test_mailing_form_in_russian(self):
        # The estimate is written in the reader's language (not stored).
        for lang, text in (
            ("ru_RU", "1\N{NO-BREAK SPACE}234,50 RUB"),
            ("en_US", "1,234.50 RUB"),
        ):
            self.mailing.invalidate_recordset(["cost_estimate"])
            self.assertEqual(self.mailing.with_context(lang=lang).cost_estimate, text)
        self.start_tour(
            f"/odoo/action-sms_mailing.sms_mailing_action/{self.mailing.id}",
            "sms_mailing_ru_mailing_form",
            login="admin",
        )

    def test_send_dialog_in_russian(self):
        self.start_tour(
            f"/odoo/contacts/{self.ivan.id}",
            "sms_mailing_ru_send_dialog",
            login="admin",
        )
        self.assertFalse(
            self.env["sms.sms"].search([("partner_id", "=", self.ivan.id)]),
            "the dialog was canceled: nothing is sent",
        )
