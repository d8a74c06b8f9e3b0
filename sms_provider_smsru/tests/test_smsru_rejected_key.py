from odoo.tests import new_test_user, tagged

from .common import SmsRuCase


@tagged("post_install", "-at_install")
class TestSmsRuRejectedKey(SmsRuCase):
    """A mailing through SMS.ru with a key SMS.ru rejects, as an SMS Manager
    sees it: the cost is unknown before launch (never 0), and no part was sent
    after it (issue 25, items 3 and 4)."""

    def setUp(self):
        super().setUp()
        self.provider.smsru_api_id = "REJECTED-KEY"
        manager = new_test_user(
            self.env,
            login="smsru_manager",
            email=False,
            groups="base.group_user,sms_mailing.group_sms_manager",
        )
        self.mailing = (
            self.env["sms.mailing"]
            .with_user(manager)
            .create(
                {
                    "name": "Rejected key",
                    # Two parts a message: a refused message must count none.
                    "body": "Привет! " * 10,
                    "provider_id": self.provider.id,
                    "optout_link": False,
                    "partner_ids": [(6, 0, self._partners(3).ids)],
                }
            )
        )

    def test_estimate_cost_is_unknown_not_zero(self):
        mailing = self.mailing
        self.assertEqual((mailing.recipient_estimate, mailing.parts_estimate), (3, 6))
        self.assertTrue(mailing.cost_unknown)
        self.assertTrue(mailing.estimate_note, "the note says why")
        self.assertTrue(self.server.requests_to("sms/cost"), "SMS.ru was asked")
        action = mailing.action_launch()
        self.assertEqual(
            action["params"]["message"],
            "Mailing launched. Recipients: 3; parts: 6; cost: unknown.",
        )

    def test_refused_messages_sent_no_part(self):
        self.mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        self._run_dispatch()
        mailing = self.mailing
        mailing.invalidate_recordset()
        self.assertEqual(
            (mailing.sent_count, mailing.failed_count, mailing.failed_ratio),
            (0, 3, 100),
        )
        self.assertEqual(mailing.parts_planned, 6)
        self.assertEqual(mailing.parts_total, 0, "Parts sent: none left")
        self.assertFalse(self.server.messages, "SMS.ru took nothing")
