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

    def test_rejected_key_is_named_so_in_failures_and_failed_list(self):
        self.provider.smsru_api_id = "wrong"
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Rejected key",
                "body": "Hello",
                "provider_id": self.provider.id,
                "partner_ids": [(6, 0, self._partners(2).ids)],
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        self._run_dispatch()

        self.assertSmsState(mailing.sms_ids, "error", failure_type="sms_credentials")
        # The Failed list shows the failure type's label...
        labels = dict(
            self.env["sms.sms"]._fields["failure_type"]._description_selection(self.env)
        )
        self.assertEqual(labels["sms_credentials"], "API key or password rejected")
        # ... and so do the mailing's Failures, with SMS.ru's sentence.
        self.assertIn("API key or password rejected", mailing.failure_summary)
        self.assertIn("SMS.ru rejected the API key (api_id).", mailing.failure_summary)
        self.assertNotIn("Unregistered Account", mailing.failure_summary)
