"""The GSM modem provider end to end: Odoo -> PDUs on a real serial line (a pty)
-> the fake modem, and back: status reports, received messages, STOP."""

from datetime import datetime

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import ModemCase
from .fake_modem import build_deliver

CYRILLIC = ("Съешь же ещё этих мягких французских булок, да выпей чаю. " * 3)[:150]


@tagged("post_install", "-at_install")
class TestModemProvider(ModemCase):
    # -- configuration ------------------------------------------------------
    def test_form_and_settings(self):
        with Form(self.env["sms.provider"]) as form:
            form.name = "Office modem"
            form.provider_type = "modem"
            form.modem_port = "rfc2217://192.168.1.20:4001"
            form.modem_pin = "1234"
        provider = form.record
        self.assertEqual(provider.modem_baudrate, 115200)
        self.assertTrue(provider.modem_delivery_reports)
        self.assertEqual(
            provider.modem_stop_keywords,
            "STOP, STOPALL, UNSUBSCRIBE, ARRET, СТОП, PARAR",
        )
        config = provider._get_client_config()
        self.assertEqual(config["port"], "rfc2217://192.168.1.20:4001")
        self.assertEqual(config["pin"], "1234")
        self.assertEqual(config["report_mode"], "stored")
        for field, value, error in [
            ("modem_pin", "12ab", "4 to 8 digits"),
            ("modem_smsc", "0609001390", "international"),
            ("modem_ussd_balance", "*100#;AT", "USSD"),
            ("modem_port", " ", "port"),
            ("modem_timeout", 0, "positive"),
        ]:
            with self.assertRaisesRegex(ValidationError, error):
                with self.env.cr.savepoint():
                    provider[field] = value

    def test_availability_shows_signal_and_network(self):
        self.modem.rssi = 15
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "available")
        self.assertEqual(
            self.provider.last_check_message,
            "SIM ready. Signal: -83 dBm (good). Network: registered on the home "
            "network.",
        )
        self.assertEqual(self.provider.modem_signal_dbm, -83)
        self.assertEqual(self.provider.modem_signal_quality, "good")
        self.assertEqual(self.provider.modem_registration, "home")
        self.modem.creg_stat = 3
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "unavailable")
        self.assertEqual(self.provider.modem_registration, "denied")

    def test_missing_pin_makes_the_provider_unavailable(self):
        self.modem.pin, self.modem.pin_ok = "2468", False
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "unavailable")
        self.assertIn("PIN", self.provider.last_check_message)
        self.provider.modem_pin = "2468"
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "available")

    def test_balance_by_ussd_and_cost_by_price_per_part(self):
        self.assertIsNone(self.provider._fetch_balance())  # no USSD code
        self.provider.modem_ussd_balance = "*100#"
        self.modem.ussd_reply = ("Balans: 42,50 rub.", "gsm7hex")
        self.provider.action_check_balance()
        self.assertEqual(self.provider.balance, 42.5)
        self.assertEqual(self.modem.commands[-1], 'AT+CUSD=1,"*100#",15')
        estimate = self.provider._estimate_cost(
            ["+33655500201", "+33655500203"], "x" * 200
        )
        self.assertTrue(estimate["available"])
        self.assertEqual(estimate["total_parts"], 4)
        self.assertAlmostEqual(estimate["total_cost"], 0.2)

    # -- sending ------------------------------------------------------------
    def test_long_cyrillic_message_and_reports_per_part(self):
        self.modem.next_mr = 40
        long_sms, short_sms = self._queue_sms(["+79165550101", "+79165550102"])
        long_sms.body = CYRILLIC
        short_sms.body = "Ваш код: 1234 👍"
        self._run_dispatch()
        self.assertSmsState(long_sms | short_sms, "pending", provider=self.provider)
        self.assertEqual(long_sms.provider_message_id, "40,41,42")
        self.assertEqual(long_sms.parts, 3)
        self.assertEqual(short_sms.provider_message_id, "43")
        long_sent, short_sent = self.modem.messages()
        self.assertEqual((long_sent.text, long_sent.encoding), (CYRILLIC, "UCS-2"))
        self.assertEqual(len(long_sent.parts), 3)
        self.assertEqual(short_sent.text, "Ваш код: 1234 👍")
        self.assertTrue(all(s.status_report for s in self.modem.sent))
        # the first part's report alone does not deliver the message
        self.modem.report(40, 0x00, mode="cdsi")
        self._poll()
        self.assertSmsState(long_sms, "pending")
        self.modem.report(42, 0x00, mode="cdsi")
        self.modem.report(43, 0x46, mode="cdsi")  # validity period expired
        _inbound, updated = self._poll()
        self.assertEqual(updated, long_sms | short_sms)
        self.assertSmsState(long_sms, "sent")
        self.assertEqual(long_sms.delivered_at, datetime(2024, 5, 17, 9, 30, 7))
        self.assertSmsState(short_sms, "error", failure_type="sms_expired")
        self.assertIn("Validity period expired", short_sms.error_message)
        # stored reports leave the SIM once the transaction is committed
        self.assertEqual(len(self.modem.sim()), 3)
        self._commit_hooks()
        self.assertEqual(self.modem.sim(), [])

    def test_report_for_a_wrapped_reference_reaches_the_newest_message(self):
        self.modem.next_mr = 255
        old, older_same_mr = self._queue_sms(["+33655500220", "+33655500221"])
        self._run_dispatch()
        self.assertEqual(
            (old.provider_message_id, older_same_mr.provider_message_id), ("255", "0")
        )
        # 256 sends later the modem hands out 0 again
        self.modem.next_mr = 0
        newest = self._queue_sms(["+33655500222"])
        self._run_dispatch()
        self.assertEqual(newest.provider_message_id, "0")
        self.modem.report(0, 0x00, mode="cdsi")
        self._poll()
        self.assertSmsState(newest, "sent")
        self.assertSmsState(older_same_mr | old, "pending")

    def test_reports_received_while_sending_are_applied(self):
        self.provider.modem_report_mode = "direct"
        self.modem.auto_report = 0x00  # "+CDS" right after each "+CMGS"
        sms = self._queue_sms(["+33655500211", "+33655500212", "+33655500213"])
        self._run_dispatch()
        self.assertIn("AT+CNMI=2,1,0,1,0", self.modem.commands)
        self.assertSmsState(sms, "pending")
        self._commit_hooks()  # the dispatcher commits its batch
        self.assertSmsState(sms, "sent")
        self.assertFalse(any(c.startswith("AT+CMGL") for c in self.modem.commands))

    def test_delivery_reports_off(self):
        self.provider.modem_delivery_reports = False
        sms = self._queue_sms(["+33655500211"])
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        self.assertFalse(self.modem.sent[0].status_report)

    def test_network_error_is_retried_and_invalid_number_fails(self):
        self.modem.send_errors = [331]  # no network service
        sms = self._queue_sms(["+33655500211"])
        self._run_dispatch()
        self.assertSmsState(sms, "outgoing")
        self.assertTrue(sms.next_attempt_at)
        self.assertIn("No network service", sms.error_message)
        self.modem.send_errors = [1]  # unassigned number
        bad = self._queue_sms(["+33655500219"])
        self._run_dispatch()
        self.assertSmsState(bad, "error", failure_type="sms_number_format")
        self.assertIn("+CMS ERROR: 1", bad.error_message)

    def test_unreachable_modem_fails_over_to_the_next_provider(self):
        self.provider.modem_port = "/dev/does-not-exist-modem"
        backup = self._create_provider(name="Backup", sequence=50)
        sms = self._queue_sms(["+33655500211"])
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=backup)
        self.assertEqual(self.sent_numbers, ["+33655500211"])

    # -- receiving ----------------------------------------------------------
    def test_inbound_stop_in_several_languages(self):
        ivan = self._create_partner("Иван", "+79165550101")
        jean = self._create_partner("Jean", "+33655500201")
        ana = self._create_partner("Ana", "+34655500301")
        kept = self._create_partner("Kept", "+33655500202")
        self.modem.receive("+79165550101", "стоп")
        self.modem.receive("+33655500201", " Arret ")
        self.modem.receive("+34655500301", "PARAR")
        self.modem.receive("+33655500202", "Stop sending me offers?")
        inbound, _updated = self._poll()
        self.assertEqual(len(inbound), 4)
        self.assertEqual(
            sorted(inbound.filtered("is_stop").mapped("partner_id").ids),
            sorted((ivan | jean | ana).ids),
        )
        for partner in ivan | jean | ana:
            self.assertTrue(partner.sms_opt_out, partner.name)
        self.assertFalse(kept.sms_opt_out)
        blacklisted = self.env["phone.blacklist"].search(
            [("number", "in", ["+79165550101", "+33655500201", "+34655500301"])]
        )
        self.assertEqual(len(blacklisted), 3)

    def test_stop_from_an_alphanumeric_sender_or_short_code(self):
        """They cannot be blacklisted: stored, not a crash that would leave
        the message on the SIM and block every later poll."""
        hex_pdu, length = build_deliver("MyBank", "STOP")
        self.modem.inject(hex_pdu, length)
        self.modem.receive("900", "Stop")
        self.modem.receive("+33655500201", "Hello")
        inbound, _updated = self._poll()
        self.assertEqual(
            sorted(inbound.mapped("number")), ["+33655500201", "900", "MyBank"]
        )
        self.assertFalse(any(inbound.mapped("is_stop")))
        self._commit_hooks()
        self.assertEqual(self.modem.sim(), [])

    def test_custom_stop_keywords(self):
        self.provider.modem_stop_keywords = "HALTE, Ne plus recevoir"
        partner = self._create_partner("Léa", "+33655500201")
        self.modem.receive("+33655500201", "ne PLUS  recevoir")
        self._poll()
        self.assertTrue(partner.sms_opt_out)

    def test_multipart_inbound_is_reassembled_and_stored_once(self):
        partner = self._create_partner("Иван", "+79165550101")
        parts = ["Здравствуйте! ", "Хочу узнать ", "про скидки."]
        self.modem.receive("+79165550101", "", parts=parts, order=[2, 3, 1])
        inbound, _updated = self._poll()
        self.assertEqual(inbound.body, "".join(parts))
        self.assertEqual(inbound.partner_id, partner)
        self.assertEqual(inbound.received_at, datetime(2024, 5, 17, 9, 30, 0))
        self.assertEqual(inbound.provider_id, self.provider)
        chatter = "\n".join(partner.message_ids.mapped("body"))
        self.assertIn("Хочу узнать", chatter)
        # not committed yet: still on the SIM; read again, stored once
        self.assertEqual(len(self.modem.sim()), 3)
        again, _updated = self._poll()
        self.assertFalse(again)
        self.assertEqual(
            self.env["sms.inbound"].search_count(
                [("provider_id", "=", self.provider.id)]
            ),
            1,
        )
        self._commit_hooks()
        self.assertEqual(self.modem.sim(), [])
        self.assertIn("AT+CMGD=0", self.modem.commands)

    def test_incomplete_multipart_stays_on_the_sim(self):
        self.modem.receive(
            "+33655500201",
            "",
            parts=["first ", "second"],
            utc=datetime.now().replace(microsecond=0),
            order=[1],
        )
        inbound, _updated = self._poll()
        self.assertFalse(inbound)
        self._commit_hooks()
        self.assertEqual(len(self.modem.sim()), 1)

    def test_core_inbound_cron_reads_the_modem_too(self):
        partner = self._create_partner("Jean", "+33655500201")
        self.modem.receive("+33655500201", "Arret")
        self.env["sms.provider"]._cron_fetch_inbound()
        self.env["sms.provider"]._cron_fetch_inbound()
        inbound = self.env["sms.inbound"].search(
            [("provider_id", "=", self.provider.id)]
        )
        self.assertEqual(len(inbound), 1)
        self.assertTrue(inbound.is_stop)  # the modem's stop keywords apply
        self.assertTrue(partner.sms_opt_out)
        self._commit_hooks()
        self.assertEqual(self.modem.sim(), [])

    def test_inbound_cron_and_read_button(self):
        self.modem.receive("+33655500201", "Hello")
        self.env["sms.provider"]._cron_fetch_inbound()
        self.assertEqual(
            self.env["sms.inbound"]
            .search([("provider_id", "=", self.provider.id)])
            .mapped("body"),
            ["Hello"],
        )
        action = self.provider.action_modem_poll()
        self.assertEqual(action["params"]["type"], "success")
        self.provider.modem_port = "/dev/does-not-exist-modem"
        action = self.provider.action_modem_poll()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("Cannot open the modem port", action["params"]["message"])
