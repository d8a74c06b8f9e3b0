from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import API_ID, SmsRuCase


@tagged("post_install", "-at_install")
class TestSmsRuProvider(SmsRuCase):
    # -- a campaign -------------------------------------------------------
    def test_campaign_of_250_contacts(self):
        partners = self._partners(250)
        sms = self._sms_for_partners(partners, body="Dear {name}, -10% today only")
        self._run_dispatch()

        sends = self.server.requests_to("sms/send")
        # (requests in flight arrive in any order)
        self.assertEqual(sorted(len(r.recipients()) for r in sends), [50, 100, 100])
        received = {}
        for request in sends:
            self.assertEqual(request.params["json"], "1")
            self.assertNotIn("msg", request.params)  # personalised: to[number]=text
            self.assertNotIn("test", request.params)
            received.update(request.recipients())
        self.assertEqual(
            received,
            {p.mobile[1:]: f"Dear {p.name}, -10% today only" for p in partners},
        )
        self.assertSmsState(sms, "pending", provider=self.provider)
        for record in sms:
            sent = self.server.messages[record.provider_message_id]
            self.assertEqual((sent.number, sent.text), (record.number[1:], record.body))

        # SMS.ru delivers most of them; a few fail in different ways
        self.server.set_all_statuses(103)
        failures = {
            sms[0]: (106, "sms_not_delivered"),
            sms[120]: (104, "sms_expired"),
            sms[249]: (108, "sms_rejected"),
        }
        for record, (code, _failure_type) in failures.items():
            self.server.set_status(record.provider_message_id, code)
        self.server.set_status(sms[10].provider_message_id, 102)  # still on its way
        self.env["sms.sms"]._poll_statuses()

        asked = [r.params["sms_id"] for r in self.server.requests_to("sms/status")]
        self.assertEqual([len(ids.split(",")) for ids in asked], [100, 100, 50])
        for record, (_code, failure_type) in failures.items():
            self.assertSmsState(record, "error", failure_type=failure_type)
            self.assertIn("code", record.error_message)
        self.assertSmsState(sms[10], "pending")
        delivered = sms - sms[10] - sms.browse([r.id for r in failures])
        self.assertEqual(len(delivered), 246)
        self.assertSmsState(delivered, "sent")
        self.assertTrue(all(delivered.mapped("delivered_at")))
        self.assertEqual(
            sms[5].cost, self.server.messages[sms[5].provider_message_id].cost
        )

    def test_mailing_launch_through_sms_ru(self):
        partners = self._partners(250)
        opted_out = self._create_partner("Opted out", "+79990000001", sms_opt_out=True)
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Spring sale",
                "body": "Hello {{ object.name }}, -20% this week",
                "provider_id": self.provider.id,
                "partner_ids": [(6, 0, (partners | opted_out).ids)],
                "optout_link": False,  # texts compared as written
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        self._run_dispatch()

        sends = self.server.requests_to("sms/send")
        # (requests in flight arrive in any order)
        self.assertEqual(sorted(len(r.recipients()) for r in sends), [50, 100, 100])
        received = {}
        for request in sends:
            received.update(request.recipients())
        self.assertEqual(
            received,
            {p.mobile[1:]: f"Hello {p.name}, -20% this week" for p in partners},
        )
        sms = mailing.sms_ids.filtered(lambda s: s.state != "canceled")
        self.assertEqual(sms.partner_id, partners)
        self.assertSmsState(sms, "pending", provider=self.provider)

        self.server.set_all_statuses(103)
        self.server.set_status(partners[7].mobile, 107)
        self.env["sms.sms"]._poll_statuses()
        failed = sms.filtered(lambda s: s.partner_id == partners[7])
        self.assertSmsState(failed, "error", failure_type="sms_not_delivered")
        self.assertSmsState(sms - failed, "sent")
        mailing.invalidate_recordset()
        self.assertEqual((mailing.delivered_count, mailing.failed_count), (249, 1))

    def test_same_text_goes_in_one_request(self):
        sms = self._sms_for_partners(self._partners(3), body="Shop opens at 9")
        self._run_dispatch()
        (request,) = self.server.requests_to("sms/send")
        self.assertEqual(request.params["to"], "79250000000,79250000001,79250000002")
        self.assertEqual(request.params["msg"], "Shop opens at 9")
        self.assertSmsState(sms, "pending")

    def test_provider_options_reach_sms_ru(self):
        self.provider.write(
            {
                "smsru_test_mode": True,
                "smsru_translit": True,
                "smsru_daytime": True,
                "smsru_ttl": 60,
                "smsru_sender": "MyShop",
            }
        )
        self.assertEqual(self.provider.sender, "MyShop")
        sms = self._sms_for_partners(self._partners(2))
        self._run_dispatch()
        params = self.server.requests_to("sms/send")[0].params
        self.assertEqual(
            {k: params.get(k) for k in ("test", "translit", "daytime", "ttl", "from")},
            {
                "test": "1",
                "translit": "1",
                "daytime": "1",
                "ttl": "60",
                "from": "MyShop",
            },
        )
        self.assertSmsState(sms, "pending")
        self.assertFalse(self.server.messages)  # test mode: nothing sent
        self.assertEqual(len(self.server.test_messages), 2)

    def test_transliterated_text_is_counted_as_gsm7(self):
        text = (
            "Привет! Скидка 20% на всё до воскресенья, приходите в наш магазин сегодня"
        )
        self.provider.max_parts = 1
        with self.assertRaisesRegex(UserError, "2 SMS parts"):
            self.provider._check_text(text)  # UCS-2: 2 parts
        self.provider.smsru_translit = True
        info = self.provider._check_text(text)
        self.assertEqual((info.encoding, info.parts), ("GSM-7", 1))

    # -- errors -----------------------------------------------------------
    def test_transient_error_is_retried_later(self):
        sms = self._sms_for_partners(self._partners(2))
        self.server.fail_next(220)
        before = fields.Datetime.now()
        self._run_dispatch()

        self.assertSmsState(sms, "outgoing")
        self.assertEqual(sms.mapped("attempts"), [1, 1])
        self.assertTrue(all(at > before for at in sms.mapped("next_attempt_at")))
        self.assertIn("temporarily unavailable", sms[0].error_message)
        self.assertFalse(any(sms.mapped("provider_message_id")))

        # not due yet: the dispatcher leaves them alone
        self._run_dispatch()
        self.assertEqual(len(self.server.requests_to("sms/send")), 1)

        sms.write({"next_attempt_at": before - timedelta(minutes=1)})
        self._run_dispatch()
        self.assertEqual(len(self.server.requests_to("sms/send")), 2)
        self.assertSmsState(sms, "pending", provider=self.provider)
        self.assertEqual(sms.mapped("attempts"), [2, 2])
        self.assertFalse(any(sms.mapped("error_message")))

    def test_http_500_and_a_maintenance_page_are_retried(self):
        sms = self._sms_for_partners(self._partners(1))
        for failure in ("garbage", "http500"):
            self.server.fail_next(failure)
            sms.write({"next_attempt_at": False})
            self._run_dispatch()
            self.assertSmsState(sms, "outgoing")
        self.assertEqual(sms.attempts, 2)
        self.assertIn("HTTP 500", sms.error_message)

    def test_a_send_without_answer_is_in_doubt_never_resent(self):
        """SMS.ru took the request and closed the connection without an answer:
        it may have sent the message, so it fails as in doubt and no later run
        sends it again. (A read timeout is the same case; Odoo's test mode
        raises every HTTP timeout to 10 s, so the pytest tests cover it.)"""
        sms = self._sms_for_partners(self._partners(1))
        self.server.fail_next("drop")
        self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_in_doubt")
        self.assertIn("may have been sent", sms.error_message)
        sms.write({"next_attempt_at": False})
        self._run_dispatch()
        self.assertEqual(len(self.server.requests_to("sms/send")), 1)
        self.assertSmsState(sms, "error", failure_type="sms_in_doubt")

    def test_gives_up_after_max_attempts(self):
        self.provider.max_attempts = 2
        sms = self._sms_for_partners(self._partners(1))
        self.server.fail_next(500, count=2)
        self._run_dispatch()
        sms.write({"next_attempt_at": False})
        self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_server")
        self.assertIn("gave up after 2 attempts", sms.error_message)

    def test_per_number_failures_are_permanent(self):
        partners = self._partners(3)
        self.server.set_number_error(partners[1].mobile, 207)
        self.server.stoplist[partners[2].mobile[1:]] = "stop"
        sms = self._sms_for_partners(partners)
        self._run_dispatch()

        self.assertSmsState(sms[0], "pending")
        self.assertSmsState(sms[1], "error", failure_type="sms_invalid_destination")
        self.assertSmsState(sms[2], "error", failure_type="sms_blacklist")
        self.assertEqual(sms[1].attempts, 1)
        self.assertIn("code 207", sms[1].error_message)

    def test_request_errors_fail_the_batch_with_a_clear_message(self):
        cases = [
            ({"smsru_api_id": "wrong"}, None, "sms_credentials", "api_id"),
            ({}, 201, "sms_credit", "Insufficient funds"),
            ({"sender": "Unknown"}, None, "sms_acc", "'Unknown' is not approved"),
        ]
        for vals, failure, failure_type, words in cases:
            with self.subTest(failure_type=failure_type, words=words):
                provider = self._create_smsru_provider(name=words, **vals)
                if failure:
                    self.server.fail_next(failure)
                sms = self._queue_sms(
                    ["+79251112233", "+79251112244"],
                    requested_provider_id=provider.id,
                )
                self._run_dispatch()
                self.assertSmsState(sms, "error", failure_type=failure_type)
                self.assertIn(words, sms[0].error_message)
                self.assertEqual(sms.mapped("attempts"), [1, 1])

    def test_no_api_key_sends_nothing(self):
        self.provider.smsru_api_id = False
        sms = self._sms_for_partners(self._partners(1))
        self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_credentials")
        self.assertFalse(self.server.requests)

    # -- status poll ------------------------------------------------------
    def test_status_poll_transient_failure_keeps_messages_pending(self):
        sms = self._sms_for_partners(self._partners(2))
        self._run_dispatch()
        self.server.set_all_statuses(103)
        self.server.fail_next(220)
        self.env["sms.sms"]._poll_statuses()
        self.assertSmsState(sms, "pending")
        self.env["sms.sms"]._poll_statuses()
        self.assertSmsState(sms, "sent")

    # -- cost, balance, availability --------------------------------------
    def test_cost_estimate_from_sms_ru(self):
        numbers = [f"+7925{i:07d}" for i in range(120)]
        self.server.set_number_error(numbers[0], 207)
        result = self.provider._estimate_cost(numbers, "Привет! " * 10)
        self.assertTrue(result["available"])
        self.assertEqual(result["total_parts"], 119 * 2)
        self.assertAlmostEqual(
            result["total_cost"], 119 * 2 * self.server.price_per_part, places=2
        )
        self.assertEqual(result["currency"], "RUB")
        self.assertEqual(len(self.server.requests_to("sms/cost")), 2)
        self.assertFalse(self.server.messages)

    def test_cost_estimate_error_is_reported(self):
        self.server.fail_next(200)
        result = self.provider._estimate_cost(["+79251234567"], "Hi")
        self.assertFalse(result["available"])
        self.assertIn("api_id", result["message"])

    def test_check_balance(self):
        self.server.balance = 4122.56
        action = self.provider.action_check_balance()
        self.assertAlmostEqual(self.provider.balance, 4122.56)
        # In roubles, in the user's language format (en_US here).
        expected = "4,122.56\N{NO-BREAK SPACE}" + self.env.ref("base.RUB").symbol
        self.assertEqual(self.provider.balance_text, expected)
        self.assertEqual(action["params"]["message"], expected)
        ru = self.env["res.lang"]._activate_lang("ru_RU")
        self.provider.with_context(lang=ru.code).action_check_balance()
        self.assertEqual(
            self.provider.balance_text,
            "4\N{NO-BREAK SPACE}122,56\N{NO-BREAK SPACE}"
            + self.env.ref("base.RUB").symbol,
            "Russian grouping and decimal comma",
        )

        self._sms_for_partners(self._partners(2), body="x")
        self._run_dispatch()
        self.provider.action_check_balance()
        self.assertAlmostEqual(self.provider.balance, 4122.56 - 2 * 3.25)

    def test_check_balance_error(self):
        self.server.fail_next(200)
        with self.assertRaisesRegex(UserError, "api_id"):
            self.provider.action_check_balance()

    def test_check_availability(self):
        self.server.used_today = 42
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "available")
        self.assertIn("daily limit 5000", self.provider.last_check_message)
        self.assertIn("42 used today", self.provider.last_check_message)
        self.provider.smsru_api_id = "wrong"
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "unavailable")
        self.assertIn("api_id", self.provider.last_check_message)

    # -- callback registration and stop list -------------------------------
    def test_callback_url_and_registration(self):
        url = self.provider.smsru_callback_url
        token = self.provider.smsru_callback_token
        self.assertTrue(len(token) >= 32)
        self.assertEqual(
            url,
            f"{self.provider.get_base_url()}/sms_provider_smsru/callback/"
            f"{self.provider.id}/{token}",
        )
        other = self._create_smsru_provider(name="Second account")
        self.assertNotEqual(other.smsru_callback_token, token)
        demo = self._create_provider()
        self.assertFalse(demo.smsru_callback_token)
        self.assertFalse(demo.smsru_callback_url)

        self.provider.action_smsru_register_callback()
        self.assertEqual(self.server.callbacks, [url])
        self.assertEqual(self.server.requests_to("callback/add")[0].params["url"], url)

        self.provider.action_smsru_regenerate_token()
        self.assertNotEqual(self.provider.smsru_callback_token, token)
        self.assertNotEqual(self.provider.smsru_callback_url, url)

    def test_callback_registration_error(self):
        self.server.fail_next(200)
        with self.assertRaisesRegex(UserError, "api_id"):
            self.provider.action_smsru_register_callback()
        self.assertFalse(self.server.callbacks)

    def test_push_stop_list(self):
        # start from no opted-out number (demo data has some)
        self.env["phone.blacklist"].sudo().search([]).write({"active": False})
        Partner = self.env["res.partner"].with_context(active_test=False)
        Partner.search([("sms_opt_out", "=", True)]).write({"sms_opt_out": False})
        self._create_partner("Opted out", "+7 925 111-22-33", sms_opt_out=True)
        self._create_partner(
            "Local number",
            "8 (925) 444-55-66",
            sms_opt_out=True,
            country_id=self.country_ru.id,
        )
        self._create_partner("Happy", "+79257778899")
        self.env["phone.blacklist"].sudo().create({"number": "+79250001122"})
        self.provider.action_smsru_push_stoplist()
        self.assertEqual(
            set(self.server.stoplist),
            {"79251112233", "79254445566", "79250001122"},
        )
        for request in self.server.requests_to("stoplist/add"):
            self.assertTrue(request.params["stoplist_text"])

    # -- configuration and security ------------------------------------------
    def test_credentials_are_admin_only(self):
        user = new_test_user(
            self.env,
            login="smsru_manager",
            groups="base.group_user,sms_mailing.group_sms_manager",
        )
        provider = self.provider.with_user(user)
        self.assertEqual(provider.name, "SMS.ru")
        for field in ("smsru_api_id", "smsru_callback_token", "smsru_callback_url"):
            with self.subTest(field=field), self.assertRaises(AccessError):
                provider.read([field])
        arch = provider.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="smsru_test_mode"', arch)
        self.assertNotIn("smsru_api_id", arch)
        self.assertNotIn("smsru_callback_url", arch)
        admin_arch = self.provider.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="smsru_api_id"', admin_arch)
        self.assertIn('name="smsru_callback_url"', admin_arch)
        # the dispatcher and cost estimate still work for them
        result = provider._estimate_cost(["+79251234567"], "Hi")
        self.assertTrue(result["available"])
        self.assertEqual(self.server.requests[-1].params["api_id"], API_ID)

    def test_settings_are_checked(self):
        with self.assertRaises(ValidationError):
            self.provider.smsru_ttl = 2000
        with self.assertRaises(ValidationError):
            self.provider.smsru_base_url = "sms.ru"
        with self.assertRaises(ValidationError):
            self.provider.smsru_timeout = 0


@tagged("post_install", "-at_install")
class TestSmsRuCardErrors(SmsRuCase):
    """What a user reads when SMS.ru refuses a message sent from a contact card."""

    def _send_from_card(self, user):
        partner = self.env["res.partner"].create(
            {"name": "Пётр", "mobile": "+79251112233"}
        )
        wizard = (
            self.env["sms.partner.send"]
            .with_user(user)
            .with_context(default_partner_id=partner.id)
            .create({"body": "Hello", "provider_id": self.provider.id})
        )
        with self.assertRaises(UserError) as caught:
            wizard.action_send()
        return str(caught.exception)

    def test_rejected_key_tells_a_crm_user_to_ask_an_administrator(self):
        self.provider.smsru_api_id = "wrong"
        crm_user = new_test_user(
            self.env, login="sms_card_user", groups="base.group_user"
        )
        self.assertEqual(
            self._send_from_card(crm_user),
            "The SMS to +79251112233 could not be sent: SMS.ru rejected the API "
            "key (api_id). (code 200: Неправильный api_id) Ask an administrator to "
            "check the settings of the provider SMS.ru.",
        )
        admin = new_test_user(
            self.env, login="sms_card_admin", groups="base.group_user,base.group_system"
        )
        self.assertEqual(
            self._send_from_card(admin),
            "The SMS to +79251112233 could not be sent: SMS.ru rejected the API "
            "key (api_id). (code 200: Неправильный api_id) Check the provider "
            "SMS.ru in SMS > Configuration > Providers.",
        )

    def test_rejected_key_on_a_chatter_sms_is_an_account_error_for_odoo(self):
        """Odoo's notifications know no "API key rejected": the chatter's
        failure icon says "Unregistered Account", the SMS says the key."""
        self.provider.smsru_api_id = "wrong"
        partner = self.env["res.partner"].create(
            {"name": "Анна", "mobile": "+79251112244"}
        )
        message = partner._message_sms("Hello", partner_ids=partner.ids)
        sms = self.env["sms.sms"].search([("mail_message_id", "=", message.id)])
        self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_credentials")
        notification = message.notification_ids
        self.assertEqual(
            (notification.notification_status, notification.failure_type),
            ("exception", "sms_acc"),
        )
