"""Provider form: availability and balance buttons, balance alert, validation."""

from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools.demo_client import DemoClient
from ..tools.provider import Availability
from .common import SmsProviderCase


@tagged("post_install", "-at_install")
class TestCoreProvider(SmsProviderCase):
    def test_check_availability(self):
        provider = self._create_provider(name="Demo")
        self.assertEqual(provider.state, "unknown")
        action = provider.action_check_availability()
        self.assertEqual(provider.state, "available")
        self.assertIn("Simulated provider", provider.last_check_message)
        self.assertTrue(provider.last_check_date)
        self.assertEqual(action["params"]["title"], "Demo is available")
        self.assertEqual(action["params"]["message"], provider.last_check_message)
        self.assertEqual(action["params"]["type"], "success")

        # The gateway answers that it is down.
        with patch.object(
            DemoClient,
            "check_availability",
            lambda client: Availability(False, "Gateway unreachable."),
        ):
            action = provider.action_check_availability()
        self.assertEqual(provider.state, "unavailable")
        self.assertEqual(provider.last_check_message, "Gateway unreachable.")
        self.assertEqual(action["params"]["title"], "Demo is not available")
        self.assertEqual(action["params"]["type"], "danger")

    def test_client_sentences_in_the_user_or_company_language(self):
        """A provider client writes its sentences (errors, availability) in the
        user's language, or the company's in a scheduled action (no language
        in the context)."""
        provider = self._create_provider(name="Demo")
        self.env.company.partner_id.lang = "en_US"
        self.assertEqual(
            provider.with_context(lang="fr_FR")._get_client_config()["lang"], "fr_FR"
        )
        self.env["res.lang"]._activate_lang("ru_RU")
        self.env.company.partner_id.lang = "ru_RU"
        cron_env = provider.with_context(lang=None)
        self.assertEqual(cron_env._get_client_config()["lang"], "ru_RU")
        client = cron_env._get_client()
        self.assertEqual(client.lang, "ru_RU")

    def test_check_balance_not_available(self):
        provider = self._create_provider(name="Demo")
        action = provider.action_check_balance()
        self.assertEqual(action["params"]["title"], "Balance of Demo")
        self.assertEqual(
            action["params"]["message"], "Not available for this provider."
        )
        self.assertEqual(action["params"]["type"], "warning")
        self.assertFalse(provider.balance_date)
        self.assertFalse(provider.balance_text)

    def _activities(self, provider):
        return self.env["mail.activity"].search(
            [("res_model", "=", "sms.provider"), ("res_id", "=", provider.id)]
        )

    def test_balance_alert(self):
        alice = self.env["res.users"].create(
            {"name": "Alice", "login": "sms_alice", "email": "alice@example.com"}
        )
        bob = self.env["res.users"].create(
            {"name": "Bob", "login": "sms_bob", "email": "bob@example.com"}
        )
        provider = self._create_provider(
            name="Prepaid",
            balance_alert_threshold=100,
            balance_alert_user_ids=[(6, 0, (alice + bob).ids)],
        )
        provider.write({"balance": 150, "balance_text": "150.00 EUR"})
        provider._check_balance_alert()
        self.assertFalse(self._activities(provider))
        self.assertFalse(provider.balance_alert_sent)

        provider.write({"balance": 42.5, "balance_text": "42.50 EUR"})
        provider._check_balance_alert()
        activities = self._activities(provider)
        self.assertEqual(activities.user_id, alice + bob)
        self.assertEqual(set(activities.mapped("summary")), {"Low SMS balance"})
        expected = (
            "The balance of Prepaid is 42.50 EUR, under the alert threshold of 100.0."
        )
        for activity in activities:
            self.assertIn(expected, str(activity.note))
        self.assertTrue(provider.balance_alert_sent)
        self.assertIn(expected, "\n".join(provider.message_ids.mapped("body")))

        # Still low: nobody is warned twice.
        provider.write({"balance": 30, "balance_text": "30.00 EUR"})
        provider._check_balance_alert()
        self.assertEqual(self._activities(provider), activities)

        # Topped up, then low again: a new alert.
        provider.write({"balance": 500, "balance_text": "500.00 EUR"})
        provider._check_balance_alert()
        self.assertFalse(provider.balance_alert_sent)
        provider.write({"balance": 10, "balance_text": "10.00 EUR"})
        provider._check_balance_alert()
        self.assertEqual(len(self._activities(provider)), 4)

    def test_no_alert_without_threshold(self):
        provider = self._create_provider(
            name="Postpaid", balance_alert_user_ids=[(6, 0, self.env.user.ids)]
        )
        provider.write({"balance": -20, "balance_text": "-20.00 EUR"})
        provider._check_balance_alert()
        self.assertFalse(self._activities(provider))
        self.assertFalse(provider.balance_alert_sent)

    def test_number_prefixes_validation(self):
        with self.assertRaises(ValidationError) as caught:
            self._create_provider(name="Bad", number_prefixes="abc")
        self.assertIn("abc", str(caught.exception))
        self.assertIn("+7 +375", str(caught.exception))
        provider = self._create_provider(name="Good", number_prefixes="+7 +375, 44")
        with self.assertRaises(ValidationError):
            provider.number_prefixes = "+7 +3a75"
        provider.number_prefixes = "+33; +34"
        self.assertEqual(provider.number_prefixes, "+33; +34")

    def test_sql_constraints(self):
        for field in ("max_parts", "max_attempts"):
            with (
                self.subTest(field),
                mute_logger("odoo.sql_db"),
                self.assertRaises(IntegrityError),
                self.env.cr.savepoint(),
            ):
                self._create_provider(name="Bad", **{field: 0})
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(IntegrityError),
            self.env.cr.savepoint(),
        ):
            self._create_provider(name="Bad", rate_limit=-1)
