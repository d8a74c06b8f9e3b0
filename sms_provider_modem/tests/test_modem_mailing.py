"""Done when: a mailing of 20 contacts goes out through the modem with the right
PDUs, delivery reports mark them delivered, an inbound "Stop" opts its sender
out and the next mailing excludes them with reason opt-out."""

from odoo.tests import tagged

from .common import ModemCase


@tagged("post_install", "-at_install")
class TestModemMailing(ModemCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tag = cls.env["res.partner.category"].create({"name": "Modem audience"})
        names = [
            "Ann", "Bob", "Chloé", "Dmitri", "Émile", "Fatou", "Gaspard", "Hélène",
            "Igor", "Jeanne", "Kofi", "Léa", "Marc", "Nadia", "Oleg", "Paul",
            "Quentin", "Rosa", "Sofia", "Théo",
        ]  # fmt: skip
        cls.partners = cls.env["res.partner"].create(
            [
                {
                    "name": name,
                    "mobile": f"+336555001{index:02d}",
                    "category_id": [(4, cls.tag.id)],
                }
                for index, name in enumerate(names)
            ]
        )
        cls.group = cls.env["sms.mailing.group"].create(
            {"name": "Modem", "domain": f"[('category_id', 'in', [{cls.tag.id}])]"}
        )

    def _mailing(self, name):
        mailing = self.env["sms.mailing"].create(
            {
                "name": name,
                "body": "Bonjour {{ object.name }}, -20% {ce week-end} : 15€ !",
                "group_ids": [(6, 0, self.group.ids)],
                "provider_id": self.provider.id,
                "optout_link": False,  # texts compared as written
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        return mailing

    def test_mailing_to_20_contacts_reports_and_stop(self):
        mailing = self._mailing("Spring sale")
        self._run_dispatch()
        sms = mailing.sms_ids
        self.assertEqual(len(sms), 20)
        self.assertSmsState(sms, "pending", provider=self.provider)

        # what went over the line, decoded by the modem
        sent = {m.number: m for m in self.modem.messages()}
        self.assertEqual(len(sent), 20)
        self.assertEqual(self.modem.errors, [])
        for partner in self.partners:
            message = sent[partner.mobile]
            self.assertEqual(
                message.text,
                f"Bonjour {partner.name}, -20% {{ce week-end}} : 15€ !",
            )
            self.assertEqual(message.encoding, "GSM-7")  # é, {, }, € are GSM-7
            self.assertEqual(len(message.parts), 1)
            self.assertTrue(message.parts[0].status_report)
            record = sms.filtered(lambda s, p=partner: s.partner_id == p)
            self.assertEqual(record.provider_message_id, str(message.mrs[0]))
        # "{" and "€" are escaped, exactly
        ann = sent[self.partners[0].mobile].parts[0]
        brace = len("Bonjour Ann, -20% ")
        self.assertEqual(ann.septets[brace : brace + 2], [0x1B, 0x28])  # "{"
        self.assertEqual(ann.septets[-4:-2], [0x1B, 0x65])  # "€" before " !"

        # delivery reports, stored by the modem, read by the cron
        self._report_all(sms)
        self.env["sms.provider"]._cron_fetch_inbound()
        self.assertSmsState(sms, "sent")
        mailing.invalidate_recordset()
        self.assertEqual(mailing.delivered_count, 20)
        self._commit_hooks()
        self.assertEqual(self.modem.sim(), [])

        # Jeanne answers "Stop"
        jeanne = self.partners.filtered(lambda p: p.name == "Jeanne")
        self.modem.receive(jeanne.mobile, "Stop")
        self.env["sms.provider"]._cron_fetch_inbound()
        self.assertTrue(jeanne.sms_opt_out)
        self.assertTrue(
            self.env["phone.blacklist"].search([("number", "=", jeanne.mobile)])
        )
        chatter = "\n".join(jeanne.message_ids.mapped("body"))
        self.assertIn("Opted out by SMS: Stop", chatter)

        # the next mailing leaves her out, with the reason
        self.modem.sent.clear()
        second = self._mailing("Summer sale")
        excluded = second.sms_ids.filtered(lambda s: s.partner_id == jeanne)
        self.assertEqual(
            (excluded.state, excluded.failure_type), ("canceled", "sms_optout")
        )
        self._run_dispatch()
        numbers = {m.number for m in self.modem.messages()}
        self.assertEqual(len(numbers), 19)
        self.assertNotIn(jeanne.mobile, numbers)
