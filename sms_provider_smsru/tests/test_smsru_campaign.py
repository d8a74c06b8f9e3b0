import re

from odoo.tests import tagged

from .common import SmsRuCase


@tagged("post_install", "-at_install")
class TestSmsRuCampaignTools(SmsRuCase):
    def test_optout_and_tracked_links_reach_sms_ru_per_number(self):
        partners = self._partners(3)
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Links through SMS.ru",
                "body": "Sale https://shop.example/ru",
                "link_tracking": True,
                "provider_id": self.provider.id,
                "partner_ids": [(6, 0, partners.ids)],
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        self._run_dispatch()

        [request] = self.server.requests_to("sms/send")
        received = request.recipients()
        self.assertNotIn("msg", request.params)  # one text per number
        base = re.escape(mailing.get_base_url())
        for sms in mailing.sms_ids:
            text = received[sms.number[1:]]
            self.assertEqual(text, sms.body)
            self.assertRegex(
                text,
                rf"^Sale {base}/r/\w+/s/{sms.id}\nSTOP: {base}/sms/stop/[\w-]+$",
            )
        self.assertEqual(len(set(received.values())), 3)
        self.assertSmsState(mailing.sms_ids, "pending", provider=self.provider)
