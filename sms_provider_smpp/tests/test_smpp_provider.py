from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.sms_mailing.tools import segments

from . import local_smsc
from .common import SmppCase


@tagged("post_install", "-at_install")
class TestSmppSending(SmppCase):
    def test_gsm7_message_reaches_the_smsc_and_is_delivered(self):
        sms = self._queue_sms(["+33612345678"], body="Prix: 5 € {ok}")
        self.smsc.receipt_delay = 0.0
        self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=self.provider)
        [submit] = self.smsc.submits
        self.assertEqual(submit.destination_addr, "33612345678")
        self.assertEqual((submit.dest_addr_ton, submit.dest_addr_npi), (1, 1))
        self.assertEqual(submit.source_addr, "MyShop")
        self.assertEqual((submit.source_addr_ton, submit.source_addr_npi), (5, 0))
        self.assertEqual(submit.data_coding, 0)
        self.assertEqual(submit.registered_delivery, 1)
        self.assertIsNone(submit.concat)
        self.assertEqual(submit.text, "Prix: 5 € {ok}")
        self.assertEqual(sms.provider_message_id, submit.message_id)
        self.assertEqual(self.smsc.binds[0].command, "bind_transceiver")
        self.assertEqual(self.smsc.unbinds, 1)
        # The receipt came on the bind or waits at the SMSC: the scheduled
        # read binds as receiver and applies it.
        self.smsc.wait_for(
            lambda: self.smsc.pending_deliveries() or self.smsc.delivered
        )
        self._fetch()
        self.assertSmsState(sms, "sent")
        self.assertFalse(self.env["sms.smpp.receipt"].search([]))

    def test_long_ucs2_and_gsm7_texts_go_in_the_cores_number_of_parts(self):
        cyrillic = "Здравствуйте, Ирина! Ваш заказ №1234 готов к выдаче. " * 3
        latin = "Sale: {50%} off every [item] with code €URO " * 5
        sms_ru, sms_fr = self._queue_sms(["+79251234567"], body=cyrillic) | (
            self._queue_sms(["+33612345678"], body=latin)
        )
        self._run_dispatch()
        self.assertSmsState(sms_ru | sms_fr, "pending")
        by_number = {}
        for submit in self.smsc.submits:
            by_number.setdefault(submit.destination_addr, []).append(submit)
        for sms, coding in ((sms_ru, 8), (sms_fr, 0)):
            submits = by_number[sms.number[1:]]
            info = segments.analyze(sms.body)
            self.assertEqual(len(submits), info.parts)
            self.assertEqual(sms.parts, info.parts)
            self.assertEqual({s.data_coding for s in submits}, {coding})
            self.assertEqual({s.esm_class for s in submits}, {0x40})
            self.assertEqual(len({s.concat[0] for s in submits}), 1)
            self.assertEqual(
                [s.concat[1:] for s in submits],
                [(info.parts, i) for i in range(1, info.parts + 1)],
            )
            self.assertEqual("".join(s.text for s in submits), sms.body)
            self.assertEqual(sms.provider_message_id, submits[0].message_id)
        self.assertEqual(
            sorted(self.smsc.messages()),
            [("33612345678", latin), ("79251234567", cyrillic)],
        )

    def test_window_keeps_ten_submits_waiting_at_once(self):
        self.smsc.submit_latency = 0.3
        sms = self._queue_sms([f"+3361000{i:04d}" for i in range(20)])
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        arrivals = [s.received_at for s in self.smsc.submits]
        # ten submits left before the first answer came, and never eleven
        self.assertLess(arrivals[9] - arrivals[0], 0.25)
        self.assertGreater(arrivals[10] - arrivals[0], 0.25)
        self.assertEqual(len(self.smsc.binds), 1)

    def test_a_lane_keeps_one_bind_and_a_full_window_across_chunks(self):
        self.smsc.submit_latency = 0.1
        sms = self._queue_sms([f"+3362000{i:04d}" for i in range(100)])
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        self.assertEqual(len({s.provider_message_id for s in sms}), 100)
        # five chunks of 20 on one bind, unbound once at the end
        self.assertEqual(len(self.smsc.binds), 1)
        self.assertEqual(self.smsc.unbinds, 1)
        arrivals = sorted(s.received_at for s in self.smsc.submits)
        # 100 messages, 10 at a time, 0.1 s each: about 1 s, not 5 x (2 x 0.1 s)
        # plus a drained window per chunk
        self.assertLess(arrivals[-1] - arrivals[0], 1.6)

    def test_sender_ton_npi_from_the_sender_and_overridden(self):
        cases = [
            ({"sender": "+33 6 11 22 33 44"}, ("33611223344", 1, 1)),
            ({"sender": "36180"}, ("36180", 3, 0)),
            (
                {"sender": "MyShop", "smpp_source_ton": "0", "smpp_source_npi": "1"},
                ("MyShop", 0, 1),
            ),
        ]
        for values, expected in cases:
            with self.subTest(values=values):
                self.provider.write(values)
                self.smsc.submits.clear()
                self._queue_sms(["+33612345678"])
                self._run_dispatch()
                [submit] = self.smsc.submits
                self.assertEqual(
                    (
                        submit.source_addr,
                        submit.source_addr_ton,
                        submit.source_addr_npi,
                    ),
                    expected,
                )


@tagged("post_install", "-at_install")
class TestSmppReceipts(SmppCase):
    def _send_and_receive(self, numbers, **script):
        for key, value in script.items():
            setattr(self.smsc, key, value)
        sms = self._queue_sms(numbers)
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        expected = len(self.smsc.accepted())
        self.smsc.wait_for(
            lambda: (
                len(self.smsc.delivered) >= expected
                or (self.smsc.pending_deliveries() >= expected)
            )
        )
        self._fetch()
        return sms

    def test_each_final_state_of_a_receipt(self):
        states = {
            "33600000001": "DELIVRD",
            "33600000002": "UNDELIV",
            "33600000003": "EXPIRED",
            "33600000004": "REJECTD",
            "33600000005": "DELETED",
            "33600000006": "UNKNOWN",
        }
        sms = self._send_and_receive(
            ["+" + n for n in states],
            receipt_delay=0.0,
            receipt_state=lambda submit: states[submit.destination_addr],
        )
        got = {s.number[1:]: s for s in sms}
        self.assertSmsState(got["33600000001"], "sent")
        expected = {
            "33600000002": ("sms_not_delivered", "could not be delivered"),
            "33600000003": ("sms_expired", "expired before it could be delivered"),
            "33600000004": ("sms_rejected", "network rejected the message"),
            "33600000005": ("sms_not_delivered", "deleted the message"),
            "33600000006": ("sms_not_delivered", "does not know whether"),
        }
        for number, (failure_type, words) in expected.items():
            self.assertSmsState(got[number], "error", failure_type)
            self.assertIn(words, got[number].error_message)
            self.assertIn(
                f"({states[number]}",
                got[number].error_message.replace("SMSC state ", "("),
            )

    def test_receipt_ids_in_decimal_while_the_answer_was_hexadecimal(self):
        sms = self._send_and_receive(
            ["+33600000001", "+33600000002"],
            receipt_delay=0.0,
            message_id_form="hex",
            receipt_id_form="decimal",
            receipt_tlvs=False,  # only the text "id:<decimal> ... stat:"
        )
        self.assertTrue(all(not s.provider_message_id.isdigit() for s in sms))
        self.assertSmsState(sms, "sent")

    def test_decimal_ids_and_tlvs(self):
        sms = self._send_and_receive(
            ["+33600000001"],
            receipt_delay=0.0,
            message_id_form="decimal",
            receipt_state="UNDELIV",
        )
        self.assertTrue(sms.provider_message_id.isdigit())
        self.assertSmsState(sms, "error", "sms_not_delivered")

    def test_receipts_of_later_parts_fail_or_leave_the_message(self):
        body = "Ж" * 150  # three UCS-2 parts
        undelivered = {}

        def state(submit):
            # part 2 of the second message is not delivered
            if submit.destination_addr == "33600000002" and submit.concat[2] == 2:
                undelivered["id"] = submit.message_id
                return "UNDELIV"
            return "DELIVRD"

        self.smsc.receipt_delay = 0.0
        self.smsc.receipt_state = state
        sms = self._queue_sms(["+33600000001", "+33600000002"], body=body)
        self._run_dispatch()
        self.smsc.wait_for(
            lambda: (
                self.smsc.pending_deliveries() >= 6 or (len(self.smsc.delivered) >= 6)
            )
        )
        self._fetch()
        first, second = sms.sorted("number")
        self.assertEqual(first.parts, 3)
        self.assertSmsState(first, "sent")
        self.assertSmsState(second, "error", "sms_not_delivered")
        self.assertFalse(self.env["sms.smpp.receipt"].search([]))

    def test_receipt_before_its_message_is_known_waits(self):
        # A receipt for an id nobody stored yet (another lane's message whose
        # result is not committed) is kept and applied later.
        self.smsc.send_receipt("ABC123", "DELIVRD")
        self._fetch()
        [waiting] = self.env["sms.smpp.receipt"].search([])
        self.assertEqual(waiting.message_id, "ABC123")
        sms = self._queue_sms(["+33600000001"])
        sms.write(
            {
                "state": "pending",
                "provider_id": self.provider.id,
                "provider_message_id": "abc123",
                "sent_at": fields.Datetime.now(),
            }
        )
        self.provider._smpp_apply_receipts()
        self.assertSmsState(sms, "sent")
        self.assertFalse(waiting.exists())


@tagged("post_install", "-at_install")
class TestSmppFaults(SmppCase):
    def _numbers(self, count):
        return [f"+3361000{i:04d}" for i in range(count)]

    def test_throttling_and_queue_full_slow_down_and_lose_nothing(self):
        self.smsc.fail_next_submits(
            "throttled", "throttled", "queue_full", "ok", "throttled"
        )
        sms = self._queue_sms(self._numbers(6))
        self._run_dispatch()
        self.assertSmsState(sms, "pending")
        received = [d for d, _text in self.smsc.messages()]
        self.assertEqual(sorted(received), sorted(n[1:] for n in sms.mapped("number")))
        refused = [s for s in self.smsc.submits if s.status != 0]
        self.assertEqual(len(refused), 4)

    def test_permanent_error_fails_that_message_only(self):
        self.smsc.fail_next_submits("ok", "invalid_destination", "barred")
        sms = self._queue_sms(self._numbers(4))
        self._run_dispatch()
        ok1, bad, barred, ok2 = sms.sorted("id")
        self.assertSmsState(ok1 | ok2, "pending")
        self.assertSmsState(bad, "error", "sms_number_format")
        self.assertEqual(
            bad.error_message, "The SMSC refused the recipient's number as invalid."
        )
        self.assertSmsState(barred, "error", "sms_not_allowed")
        self.assertIn("barred", barred.error_message)

    def test_generic_nack_is_retried_later(self):
        self.smsc.fail_next_submits("generic_nack")
        sms = self._queue_sms(self._numbers(2))
        self._run_dispatch()
        nacked, sent = sms.sorted("id")
        self.assertSmsState(sent, "pending")
        self.assertSmsState(nacked, "outgoing")
        self.assertIn("generic_nack", nacked.error_message)
        self.assertTrue(nacked.next_attempt_at)
        nacked.next_attempt_at = False
        self._run_dispatch()
        self.assertSmsState(nacked, "pending")
        self.assertEqual(len(self.smsc.accepted()), 2)

    def test_bind_refused_stops_the_lane_and_shows_on_the_provider(self):
        self.provider.smpp_password = "wrong"
        sms = self._queue_sms(self._numbers(3))
        self._run_dispatch()
        self.assertFalse(self.smsc.submits)
        self.assertEqual(len(self.smsc.binds), 1)  # the lane stopped at once
        self.assertEqual(self.smsc.binds[0].status, local_smsc.ESME_RINVPASWD)
        self.assertSmsState(sms, "outgoing")  # waits, or fails over
        self.assertIn("refused the password of odoo", sms[0].error_message)
        self.assertEqual(self.provider.state, "unavailable")
        self.assertIn("check the SMPP password", self.provider.last_check_message)

    def test_bind_refused_fails_over_to_the_next_provider(self):
        self.smsc.bind_status = local_smsc.ESME_RBINDFAIL
        backup = self._create_provider(name="Backup", sequence=20)
        self.provider.sequence = 10
        sms = self._queue_sms(self._numbers(2))
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=backup)
        self.assertIn("bind failed", self.provider.last_check_message)

    def test_connection_dropped_after_a_submit_is_maybe_sent_never_resent(self):
        self.smsc.fail_next_submits("ok", "drop")
        sms = self._queue_sms(self._numbers(12))
        self._run_dispatch()
        first, dropped, *later = sms.sorted("id")
        # its answer was read before the connection broke (else in doubt)
        self.assertIn(first.state, ("pending", "error"))
        self.assertSmsState(dropped, "error", "sms_in_doubt")
        self.assertIn("may have been sent", dropped.error_message)
        # Written to the socket before it broke: in doubt, even if the SMSC
        # never read them; never written: sent at the next attempt.
        received = {s.destination_addr for s in self.smsc.submits}
        for record in later:
            if record.number[1:] in received:
                self.assertSmsState(record, "error", "sms_in_doubt")
            else:
                self.assertIn(record.state, ("error", "outgoing"))
        self.assertTrue(any(r.state == "outgoing" for r in later))
        (sms.filtered(lambda s: s.state == "outgoing")).next_attempt_at = False
        self._run_dispatch()
        counts = {}
        for submit in self.smsc.submits:
            counts[submit.destination_addr] = counts.get(submit.destination_addr, 0) + 1
        self.assertEqual(set(counts.values()), {1})  # nobody got a second one
        in_doubt = sms.filtered(lambda s: s.failure_type == "sms_in_doubt")
        self.assertSmsState(sms - in_doubt, "pending")
        self.assertEqual(
            len(counts),
            len(sms - in_doubt)
            + len(in_doubt.filtered(lambda s: s.number[1:] in counts)),
        )

    def test_silent_smsc_is_maybe_sent(self):
        self.provider.smpp_timeout = 0.5
        self.smsc.fail_next_submits("silence")
        sms = self._queue_sms(self._numbers(1))
        self._run_dispatch()
        self.assertSmsState(sms, "error", "sms_in_doubt")

    def test_unreachable_smsc_is_retried_later(self):
        self.smsc.stop()
        sms = self._queue_sms(self._numbers(2))
        self._run_dispatch()
        self.assertSmsState(sms, "outgoing")
        self.assertIn("refused the connection", sms[0].error_message)


@tagged("post_install", "-at_install")
class TestSmppInbound(SmppCase):
    def test_stop_opts_the_contact_out(self):
        partner = self._create_partner("Lucie", "+33612345678")
        self.smsc.send_mo("+33612345678", "Stop")
        inbound = self._fetch()
        self.assertEqual(inbound.body, "Stop")
        self.assertEqual(inbound.number, "+33612345678")
        self.assertEqual(inbound.partner_id, partner)
        self.assertTrue(inbound.is_stop)
        self.assertTrue(partner.sms_opt_out)
        self.assertEqual(self.smsc.binds[-1].command, "bind_receiver")
        self.assertEqual(len(self.smsc.delivered), 1)

    def test_multipart_ucs2_and_gsm7_are_reassembled(self):
        russian = "Здравствуйте! Пожалуйста, перезвоните мне завтра утром. " * 3
        french = (
            "Bonjour, je voudrais changer l'adresse de livraison: 5 € de plus? " * 4
        )
        self.smsc.send_mo("+79251234567", russian, reverse=True)
        self.smsc.send_mo("+33612345678", french, udh_16bit=True)
        inbound = self._fetch()
        self.assertEqual(sorted(inbound.mapped("body")), sorted([russian, french]))
        self.assertEqual(
            len(self.smsc.delivered),
            segments.analyze(russian).parts + segments.analyze(french).parts,
        )

    def test_mo_arriving_while_sending_is_stored(self):
        self.smsc.submit_latency = 0.2  # the bind stays open a moment
        self.smsc.send_mo("+33612345678", "Oui merci")
        self._queue_sms(["+33600000001"])
        self._run_dispatch()
        inbound = self.env["sms.inbound"].search([("body", "=", "Oui merci")])
        self.assertEqual(inbound.provider_id, self.provider)


@tagged("post_install", "-at_install")
class TestSmppProviderForm(SmppCase):
    def test_availability_binds_and_measures_enquire_link(self):
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "available")
        self.assertRegex(
            self.provider.last_check_message,
            rf"^Bound to 127\.0\.0\.1:{self.smsc.port} as odoo in \d+ ms; "
            r"enquire_link answered in \d+ ms\.$",
        )
        self.assertEqual(self.smsc.binds[-1].command, "bind_transmitter")
        self.assertEqual(self.smsc.enquire_links, 1)
        self.assertEqual(self.smsc.unbinds, 1)

    def test_availability_with_a_wrong_password(self):
        self.provider.smpp_password = "nope"
        self.provider.action_check_availability()
        self.assertEqual(self.provider.state, "unavailable")
        self.assertEqual(
            self.provider.last_check_message,
            "The SMSC refused the password of odoo: check the SMPP password of the "
            "provider.",
        )

    def test_availability_in_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.provider.smpp_password = "nope"
        self.provider.with_context(lang="fr_FR").action_check_availability()
        self.assertEqual(
            self.provider.last_check_message,
            "Le SMSC a refusé le mot de passe de odoo : vérifiez le mot de passe "
            "SMPP du fournisseur.",
        )

    def test_balance_is_not_in_smpp(self):
        action = self.provider.action_check_balance()
        self.assertEqual(
            action["params"]["message"], "Not available for this provider."
        )

    def test_settings_are_checked(self):
        with (
            self.assertRaisesRegex(ValidationError, "at most 11 characters"),
            self.cr.savepoint(),
        ):
            self.provider.sender = "A very long shop name"
        with (
            self.assertRaisesRegex(ValidationError, "between 1 and 65535"),
            self.cr.savepoint(),
        ):
            self.provider.smpp_port = 70000
        self.provider.invalidate_recordset()
        self.assertEqual(self.provider.smpp_source_summary, "MyShop (TON 5, NPI 0)")

    def test_password_is_for_administrators_only(self):
        user = self.env["res.users"].create(
            {
                "name": "SMS user",
                "login": "smpp_sms_user",
                "groups_id": [(6, 0, [self.env.ref("sms_mailing.group_sms_user").id])],
            }
        )
        provider = self.provider.with_user(user)
        self.assertEqual(provider.smpp_host, "127.0.0.1")
        with self.assertRaises(AccessError):
            provider.read(["smpp_password"])
