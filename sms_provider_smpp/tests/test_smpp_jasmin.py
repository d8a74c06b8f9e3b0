"""End to end through Jasmin, a real SMS gateway: Odoo -> SMPP -> Jasmin -> SMPP
-> the local SMSC, and receipts and MO back the same way.

The provider binds to Jasmin's SMPP server as an ESME user; Jasmin routes every
message to the local SMSC through its SMPP client connector (jasmin_gateway.py
sets it up). Jasmin must be installed (setup/jasmin/install.sh, which make test
runs): when it is not, these tests fail with the sentence saying why.
"""

import time

from odoo.tests import tagged

from odoo.addons.sms_mailing.tests.common import SmsProviderCase
from odoo.addons.sms_mailing.tools import segments

from .jasmin_gateway import JasminGateway
from .local_smsc import LocalSmsc

SMSC_SYSTEM_ID = "jasmin"
SMSC_PASSWORD = "upstr3am"
OFFER = "-20 € sur tout le magasin ce week-end !"


@tagged("post_install", "-at_install")
class TestSmppThroughJasmin(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # As in SmppCase: receipts a bind's thread stores in a transaction of
        # its own go to the test's.
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.smsc = cls.enterClassContext(
            LocalSmsc(system_id=SMSC_SYSTEM_ID, password=SMSC_PASSWORD)
        )
        cls.jasmin = cls.enterClassContext(
            JasminGateway(cls.smsc.host, cls.smsc.port, SMSC_SYSTEM_ID, SMSC_PASSWORD)
        )

    def setUp(self):
        super().setUp()
        self.smsc.submit_latency = 0.01
        self.smsc.receipt_delay = 0.2
        self.smsc.receipt_state = "DELIVRD"
        self.provider = self._create_provider(
            name="Gateway (Jasmin)",
            provider_type="smpp",
            smpp_host=self.jasmin.host,
            smpp_port=self.jasmin.port,
            smpp_system_id=self.jasmin.system_id,
            smpp_password=self.jasmin.password,
            smpp_timeout=10,
            sender="MyShop",
            inflight_requests=10,
            dispatch_lanes=2,
        )

    # -- helpers --------------------------------------------------------------
    def _submits_to(self, numbers):
        wanted = {n.lstrip("+") for n in numbers}
        return [s for s in self.smsc.submits if s.destination_addr in wanted]

    def _wait_at_smsc(self, numbers, parts):
        """Jasmin answers submit_sm once the message is in its queue and
        relays it afterwards: wait until the SMSC has ``parts`` submits."""
        self.smsc.wait_for(lambda: len(self._submits_to(numbers)) >= parts, timeout=30)

    def _texts_to(self, numbers):
        wanted = {n.lstrip("+") for n in numbers}
        return sorted(
            (dest, text) for dest, text in self.smsc.messages() if dest in wanted
        )

    def _read_until(self, done, timeout=60):
        """Run the scheduled read of received messages (a receiver bind to
        Jasmin) until ``done()``; Jasmin keeps what it could not hand over
        and tries again every second."""
        deadline = time.monotonic() + timeout
        while True:
            self.provider._fetch_inbound()
            if done() or time.monotonic() > deadline:
                return done()
            time.sleep(0.5)

    def _final(self, sms):
        def done():
            sms.invalidate_recordset(["state"])
            return all(s.state in ("sent", "error") for s in sms)

        return done

    # -- tests ----------------------------------------------------------------
    def test_texts_arrive_exact_and_receipts_come_back_through_jasmin(self):
        gsm7 = "Prix: 5 € {ok} [promo] ~50% ^_^ | \\o/"
        ucs2 = (
            "Здравствуйте, Ирина! Ваш заказ №1234 готов к выдаче в магазине "
            "на Тверской, 12. Ждём вас до субботы!"
        )
        self.assertEqual(segments.analyze(gsm7).parts, 1)
        self.assertEqual(segments.analyze(ucs2).parts, 2)
        self.smsc.receipt_state = lambda submit: (
            "UNDELIV" if submit.destination_addr == "79251234502" else "DELIVRD"
        )
        sms_fr = self._queue_sms(["+33612345601"], body=gsm7)
        sms_ru = self._queue_sms(["+79251234502"], body=ucs2)
        self._run_dispatch()
        self.assertSmsState(sms_fr | sms_ru, "pending", provider=self.provider)

        # What the SMSC behind Jasmin received: the exact texts, in the core's
        # number of parts and data codings.
        self._wait_at_smsc(["+33612345601", "+79251234502"], 3)
        self.assertEqual(
            self._texts_to(["+33612345601", "+79251234502"]),
            [("33612345601", gsm7), ("79251234502", ucs2)],
        )
        [fr] = self._submits_to(["+33612345601"])
        self.assertEqual(
            (fr.data_coding, fr.concat, fr.source_addr), (0, None, "MyShop")
        )
        ru = self._submits_to(["+79251234502"])
        self.assertEqual([s.data_coding for s in ru], [8, 8])
        self.assertEqual([s.concat[1:] for s in ru], [(2, 1), (2, 2)])
        self.assertEqual(len({s.concat[0] for s in ru}), 1)
        self.assertEqual(sms_ru.parts, 2)

        # The receipts (DELIVRD, UNDELIV) come back through Jasmin's DLR lookup
        # and thrower to our ESME and set the messages' states.
        self.assertTrue(
            self._read_until(self._final(sms_fr | sms_ru)), self.jasmin.log_tail()
        )
        self.assertSmsState(sms_fr, "sent")
        self.assertSmsState(sms_ru, "error", "sms_not_delivered")
        self.assertIn("could not be delivered", sms_ru.error_message)

    def test_campaign_reaches_every_contact_once_and_is_delivered(self):
        tag = self.env["res.partner.category"].create({"name": "Jasmin audience"})
        partners = self.env["res.partner"].create(
            [
                {
                    "name": f"Client {i:02d}",
                    "mobile": f"+336555500{i:02d}",
                    "country_id": self.country_fr.id,
                    "category_id": [(4, tag.id)],
                }
                for i in range(36)
            ]
        )
        group = self.env["sms.mailing.group"].create(
            {
                "name": "Jasmin audience",
                "domain": f"[('category_id', 'in', [{tag.id}])]",
            }
        )
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Spring sale",
                "body": "Bonjour {{ object.name }}, " + OFFER,
                "group_ids": [(6, 0, group.ids)],
                "optout_link": False,
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        self._run_dispatch()
        sms = mailing.sms_ids
        self.assertEqual(len(sms), 36)
        numbers = partners.mapped("mobile")
        self._wait_at_smsc(numbers, 36)
        expected = sorted(
            (p.mobile[1:], f"Bonjour {p.name}, {OFFER}") for p in partners
        )
        self.assertEqual(self._texts_to(numbers), expected, "each contact once, exact")
        self.assertEqual(len(self._submits_to(numbers)), 36)
        self.assertTrue(self._read_until(self._final(sms)), self.jasmin.log_tail())
        self.assertSmsState(sms, "sent")
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertEqual(
            (mailing.state, mailing.total_count, mailing.delivered_count),
            ("done", 36, 36),
        )

    def test_receipts_quoting_the_id_in_decimal_need_the_connectors_dlr_msgid(self):
        # This SMSC answers submit_sm with hexadecimal ids and quotes them in
        # decimal in its receipts (text only, no receipted_message_id TLV).
        # Jasmin maps receipts by the id as submit_sm_resp gave it: its
        # connector's dlr_msgid setting (1: receipt decimal, answer hex)
        # converts, or every receipt ends in Jasmin's "DLRMapNotFound".
        self.smsc.message_id_form = "hex"
        self.smsc.receipt_id_form = "decimal"
        self.smsc.receipt_tlvs = False
        self.jasmin.update_connector(dlr_msgid=1)
        self.addCleanup(self._restore_smsc_forms)
        sms = self._queue_sms(["+33612345611", "+33612345612"])
        self._run_dispatch()
        self._wait_at_smsc(sms.mapped("number"), 2)
        for submit in self._submits_to(sms.mapped("number")):
            self.assertFalse(
                submit.message_id.isdigit(), "a hexadecimal id with letters"
            )
        self.assertTrue(self._read_until(self._final(sms)), self.jasmin.log_tail())
        self.assertSmsState(sms, "sent")

    def _restore_smsc_forms(self):
        self.smsc.receipt_id_form = "same"
        self.smsc.receipt_tlvs = True
        self.jasmin.update_connector(dlr_msgid=0)

    def test_stop_comes_back_through_jasmin_and_opts_the_contact_out(self):
        partner = self._create_partner("Lucie Martin", "+33612345699")
        self.smsc.send_mo("+33612345699", "STOP")
        Inbound = self.env["sms.inbound"]

        def arrived():
            return Inbound.search([("number", "=", "+33612345699")])

        self.assertTrue(self._read_until(arrived), self.jasmin.log_tail())
        inbound = arrived()
        self.assertEqual(inbound.body, "STOP")
        self.assertEqual(inbound.provider_id, self.provider)
        self.assertEqual(inbound.partner_id, partner)
        self.assertTrue(inbound.is_stop)
        self.assertTrue(partner.sms_opt_out)
