"""Odoo's SMS Marketing (mass_mailing_sms) through our providers.

These tests need ``mass_mailing_sms``, which ``make test`` installs only for its
second Odoo phase (Odoo's own SMS suites): they carry the tag
``sms_mailing_with_mass_mailing_sms``, excluded from the first phase and
selected in the second (see setup/test.py).
"""

import re

from odoo.tests import HttpCase, tagged

from .common import SmsProviderCase

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile Safari"


@tagged("post_install", "-at_install", "sms_mailing_with_mass_mailing_sms")
class TestOdooSmsMarketingThroughProviders(HttpCase, SmsProviderCase):
    def test_campaign_with_tracked_link_and_unsubscribe(self):
        provider = self._create_provider(name="Ours")
        partners = self.env["res.partner"].create(
            [
                {"name": "Zoé", "mobile": "+33612340001"},
                {"name": "Ivan", "mobile": "+79251230002"},
            ]
        )
        mailing = self.env["mailing.mailing"].create(
            {
                "name": "Odoo campaign",
                "subject": "Odoo campaign",
                "mailing_type": "sms",
                "body_plaintext": "Summer sale https://shop.example/summer",
                "sms_allow_unsubscribe": True,
                "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
                "mailing_domain": repr([("id", "in", partners.ids)]),
            }
        )
        mailing.action_send_sms()
        sms = self.env["sms.sms"].search([("mailing_id", "=", mailing.id)])
        self.assertEqual(len(sms), 2)
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=provider)
        base = mailing.get_base_url()
        sent = dict(self.gateway_calls[0][1])
        self.assertEqual(set(sent), {"+33612340001", "+79251230002"})
        traces = mailing.mailing_trace_ids
        self.assertEqual(set(traces.mapped("trace_status")), {"pending"})
        for message in sms:
            trace = traces.filtered(lambda t, m=message: t.sms_id_int == m.id)
            self.assertRegex(
                sent[message.number],
                rf"^Summer sale {re.escape(base)}/r/\w+/s/{message.id}\n"
                rf"STOP SMS: {re.escape(base)}/sms/{mailing.id}/{trace.sms_code}$",
            )

        # the short link attributes the click to Odoo's trace, as without us
        zoe = sms.filtered(lambda s: s.number == "+33612340001")
        zoe_trace = traces.filtered(lambda t: t.sms_id_int == zoe.id)
        link = re.search(r"(/r/\w+/s/\d+)", sent[zoe.number]).group(1)
        answer = self.url_open(
            link, headers={"User-Agent": PHONE_UA}, allow_redirects=False
        )
        self.assertEqual(answer.status_code, 301)
        self.assertTrue(
            answer.headers["Location"].startswith("https://shop.example/summer")
        )
        self.env.invalidate_all()
        self.assertTrue(zoe_trace.links_click_datetime)
        self.assertEqual(mailing.clicked, 1)

        # the unsubscribe link of the text works
        unsubscribe = re.search(r"STOP SMS: \S+?(/sms/\S+)$", sent[zoe.number]).group(1)
        page = self.url_open(unsubscribe)
        self.assertEqual(page.status_code, 200)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        code = unsubscribe.rsplit("/", 1)[1]
        self.url_open(
            f"/sms/{mailing.id}/unsubscribe/{code}",
            data={"csrf_token": csrf, "sms_number": "+33612340001"},
        )
        blacklisted = self.env["phone.blacklist"].search(
            [("number", "=", "+33612340001")]
        )
        self.assertTrue(blacklisted)

    def test_our_tracked_links_keep_working_beside_it(self):
        # mass_mailing_sms declares /r/<code>/s/<int> too: ours must still
        # attribute clicks of our mailings' messages and leave robots out.
        self._create_provider(name="Ours")
        partner = self._create_partner("Zoé", "+33612340001")
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Ours beside Odoo's",
                "body": "Sale https://shop.example/ours",
                "link_tracking": True,
                "partner_ids": [(6, 0, partner.ids)],
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        sms = mailing.sms_ids
        link = re.search(r"(/r/\w+/s/\d+)", sms.body).group(1)
        for agent in ("WhatsApp/2.23.20.0 A", PHONE_UA):
            answer = self.url_open(
                link, headers={"User-Agent": agent}, allow_redirects=False
            )
            self.assertEqual(answer.status_code, 301)
        self.env.invalidate_all()
        self.assertEqual(len(sms.link_click_ids), 1)
