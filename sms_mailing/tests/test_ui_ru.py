"""The screens in Russian: labels, the live counter and money as Russians read them."""

from odoo.tests import Form, HttpCase, tagged


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
                # One part per recipient: the figures are about the language.
                "optout_link": False,
                "provider_id": cls.provider.id,
                "partner_ids": [(6, 0, (cls.ivan | cls.olga).ids)],
            }
        )

    def test_mailing_form_in_russian(self):
        # The estimate is an amount in the provider's currency: the form
        # writes it in the reader's language (the tour reads it).
        self.assertAlmostEqual(self.mailing.cost_estimate, 1234.5)
        self.assertEqual(self.mailing.currency_id, self.env.ref("base.RUB"))
        self.start_tour(
            f"/odoo/action-sms_mailing.sms_mailing_action/{self.mailing.id}",
            "sms_mailing_ru_mailing_form",
            login="admin",
        )

    def test_send_dialog_in_russian(self):
        # The dialog's cost is written by the server in the reader's language:
        # space between thousands, decimal comma, the ruble's symbol.
        nbsp = "\N{NO-BREAK SPACE}"
        for price, lang, text in (
            (617.25, "ru_RU", f"617,25{nbsp}руб"),
            (617.25, "en_US", f"617.25{nbsp}руб"),
            (1234.5, "ru_RU", f"1{nbsp}234,50{nbsp}руб"),
            (1234.5, "en_US", f"1,234.50{nbsp}руб"),
        ):
            self.provider.price_per_part = price
            action = self.ivan.action_open_sms_send()
            form = Form(
                self.env["sms.partner.send"].with_context(
                    **action["context"], lang=lang
                )
            )
            form.body = "Добрый день!"
            self.assertEqual(form.cost_text, text)
        self.provider.price_per_part = 617.25
        self.start_tour(
            f"/odoo/contacts/{self.ivan.id}",
            "sms_mailing_ru_send_dialog",
            login="admin",
        )
        self.assertFalse(
            self.env["sms.sms"].search([("partner_id", "=", self.ivan.id)]),
            "the dialog was canceled: nothing is sent",
        )

    def test_sms_states_read_as_ours_after_odoo_reloads_its_own_terms(self):
        """Odoo's sms module calls a delivered SMS «Отгружено» (shipped goods)
        and a cancelled one «Отменен»: ours are kept even when Odoo's terms
        are loaded again over everything (Languages > Update, overwrite)."""
        self.env["ir.module.module"]._load_module_terms(
            ["sms"], ["ru_RU"], overwrite=True
        )
        states = self.env["sms.sms"].with_context(lang="ru_RU").fields_get(["state"])
        labels = dict(states["state"]["selection"])
        self.assertEqual(labels["sent"], "Доставлено")
        self.assertEqual(labels["canceled"], "Отменено")
        self.assertEqual(labels["pending"], "Отправлено")  # Odoo's, kept
        failures = (
            self.env["sms.sms"].with_context(lang="ru_RU").fields_get(["failure_type"])
        )
        reasons = dict(failures["failure_type"]["selection"])
        self.assertEqual(reasons["sms_number_missing"], "Нет номера")
        self.assertEqual(reasons["sms_duplicate"], "Дубликат")

    def test_odoo_sms_terms_corrected_in_brazilian_portuguese(self):
        """pt_BR: a file named after the variant (i18n_core/pt_BR.po)."""
        self.env["res.lang"]._activate_lang("pt_BR")
        self.env["ir.module.module"]._load_module_terms(
            ["sms"], ["pt_BR"], overwrite=True
        )
        failures = (
            self.env["sms.sms"].with_context(lang="pt_BR").fields_get(["failure_type"])
        )
        reasons = dict(failures["failure_type"]["selection"])
        self.assertEqual(reasons["sms_optout"], "Descadastrado")  # not «Cancelou»
        self.assertEqual(reasons["sms_duplicate"], "Duplicado")  # not «Duplicar»
