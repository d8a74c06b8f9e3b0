"""Browser tests: Odoo tours in a real headless Chromium (setup/test.py fails
when they cannot run). Each tour asserts the texts and numbers a user sees;
each test then checks what the tour's clicks produced in the database."""

import contextlib
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged

# The crons a launch triggers, run at once (in the request that triggers them)
# so that a tour sees the mailing go to Done without a cron worker.
OUR_CRONS = (
    "sms_mailing.ir_cron_sms_mailing_process",
    "sms_mailing.ir_cron_sms_dispatch",
    "sms_mailing.ir_cron_sms_poll_status",
)


@tagged("post_install", "-at_install")
class TestUiTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Only the tour's provider takes part.
        cls.env["sms.provider"].search([]).write({"active": False})
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.provider = cls.env["sms.provider"].create(
            {
                "name": "Tour provider",
                "provider_type": "demo",
                "price_per_part": 0.05,
                "currency_id": cls.eur.id,
                "max_parts": 8,
                "company_id": False,
            }
        )
        cls.country_fr = cls.env.ref("base.fr")
        cls.partner = cls.env["res.partner"].create(
            {
                "name": "Lucía Tour",
                "mobile": "+33612345678",
                "country_id": cls.country_fr.id,
            }
        )

    @contextlib.contextmanager
    def _crons_run_when_triggered(self):
        IrCron = self.registry["ir.cron"]
        SmsSms = self.registry["sms.sms"]
        ours = {self.env.ref(xmlid).id for xmlid in OUR_CRONS}
        lane_cron = self.env.ref("sms_mailing.ir_cron_sms_dispatch").id
        pending, running = [], []
        original = IrCron._trigger

        def _trigger(cron, at=None):
            if cron.id not in ours:
                return original(cron, at)
            pending.append(cron.id)
            if running:  # triggered from a cron: run after it
                return None
            running.append(True)
            try:
                for _i in range(30):
                    if not pending:
                        break
                    job = cron.browse(pending.pop(0)).sudo()
                    job.ir_actions_server_id.run()
            finally:
                running.clear()
            return None

        def _trigger_lanes(model):
            # Lanes are woken up by trigger records, not by _trigger: one
            # lane runs them all here.
            return _trigger(model.env["ir.cron"].browse(lane_cron))

        with (
            patch.object(IrCron, "_trigger", _trigger),
            patch.object(SmsSms, "_trigger_lanes", _trigger_lanes),
        ):
            yield

    def test_contact_card(self):
        """A CRM user sends an SMS from the contact card."""
        user = new_test_user(
            self.env,
            login="tour_crm",
            groups="base.group_user,base.group_partner_manager",
            name="Carla CRM",
            lang="en_US",
        )
        self.start_tour(
            f"/odoo/contacts/{self.partner.id}",
            "sms_mailing_contact_card",
            login=user.login,
        )
        sms = self.env["sms.sms"].search([("partner_id", "=", self.partner.id)])
        self.assertEqual(sms.mapped("body"), ["Hello Lucía, your order is ready."])
        self.assertEqual(sms.number, "+33612345678")
        self.assertEqual(sms.provider_id, self.provider)
        self.assertEqual(sms.create_uid, user)
        self.assertTrue(self.partner.sms_opt_out, "the tour ticked Do not use SMS")

    def test_mailing_campaign(self):
        """A sales manager (not an administrator) runs a mailing."""
        user = new_test_user(
            self.env,
            login="tour_sales",
            groups="base.group_user,sms_mailing.group_sms_manager",
            name="Sam Sales",
            lang="en_US",
        )
        tag = self.env["res.partner.category"].create({"name": "Tour tag"})
        Partner = self.env["res.partner"]
        common = {"country_id": self.country_fr.id, "category_id": [(4, tag.id)]}
        Partner.create(
            [
                dict(common, name="Ann Tour", mobile="+33612345601"),
                dict(common, name="Lucía Tour", mobile="+33612345602"),
                dict(common, name="Out Tour", mobile="+33612345603", sms_opt_out=True),
            ]
        )
        self.env["sms.mailing.group"].create(
            {"name": "Tour audience", "domain": f"[('category_id', 'in', [{tag.id}])]"}
        )
        with self._crons_run_when_triggered():
            self.start_tour(
                "/odoo/action-sms_mailing.sms_mailing_action",
                "sms_mailing_campaign",
                login=user.login,
            )
        mailing = self.env["sms.mailing"].search([("name", "=", "Tour spring mailing")])
        self.assertEqual(mailing.state, "done")
        self.assertEqual(mailing.user_id, user)
        self.assertFalse(mailing.optout_link, "the tour unticked the opt-out line")
        self.assertEqual(
            sorted(
                mailing.sms_ids.filtered(lambda s: s.state == "sent").mapped("body")
            ),
            ["Hello Ann France", "Hello Lucía France"],
        )

    def test_messages_in_doubt(self):
        """After a crash, the mailing shows the messages that may have been
        sent; Retry failed asks before it queues them again."""
        mailing = self.env["sms.mailing"].create(
            {"name": "Tour in doubt", "body": "Hello", "optout_link": False}
        )
        in_doubt = self.env["sms.sms"].create(
            [
                {
                    "number": number,
                    "body": "Hello",
                    "state": "error",
                    "failure_type": "sms_in_doubt",
                    "error_message": self.env["sms.sms"]._in_doubt_message(),
                    "sms_mailing_id": mailing.id,
                }
                for number in ("+33612990001", "+33612990002")
            ]
        )
        sent = self.env["sms.sms"].create(
            {
                "number": "+33612990003",
                "body": "Hello",
                "state": "pending",
                "sms_mailing_id": mailing.id,
            }
        )
        mailing.write({"state": "done", "audience_done": True})
        self.start_tour(
            f"/odoo/action-sms_mailing.sms_mailing_action/{mailing.id}",
            "sms_mailing_in_doubt",
            login="admin",
        )
        self.env.invalidate_all()
        self.assertEqual(set(in_doubt.mapped("state")), {"outgoing"})
        self.assertFalse(any(in_doubt.mapped("failure_type")))
        self.assertEqual(sent.state, "pending")
        self.assertEqual(mailing.state, "sending")

    def test_providers(self):
        """An administrator adds an SMS.ru and a GSM modem provider."""
        if not {"smsru", "modem"} <= set(
            dict(self.env["sms.provider"]._fields["provider_type"].selection)
        ):
            self.fail("sms_provider_smsru and sms_provider_modem must be installed")
        self.start_tour(
            "/odoo/action-sms_mailing.sms_provider_action",
            "sms_mailing_providers",
            login="admin",
        )
        Provider = self.env["sms.provider"]
        smsru = Provider.search([("name", "=", "Tour SMS.ru")])
        self.assertEqual(
            (smsru.provider_type, smsru.currency_id.name), ("smsru", "RUB")
        )
        self.assertTrue(smsru.currency_id.active, "shown with its symbol")
        self.assertEqual(smsru.sudo().smsru_api_id, "tour-api-id")
        modem = Provider.search([("name", "=", "Tour modem")])
        self.assertEqual(
            (modem.provider_type, modem.modem_port),
            ("modem", "socket://127.0.0.1:1"),
        )
        self.assertEqual(modem.currency_id, self.env.company.currency_id)

    def test_manager_without_email(self):
        """An SMS Manager named by a login that is not an email address, with
        no email, sends a test, cancels a scheduled mailing and imports numbers
        into the blacklist (none of it needs an email or administrator rights)."""
        user = new_test_user(
            self.env,
            login="sam",
            groups="base.group_user,sms_mailing.group_sms_manager",
            name="Sam NoMail",
            email=False,
            lang="en_US",
        )
        self.assertFalse(user.email)
        Mailing = self.env["sms.mailing"].with_user(user)
        draft = Mailing.create(
            {
                "name": "Tour draft mailing",
                "body": "Hello {{ object.name }}",
                "partner_ids": [(4, self.partner.id)],
            }
        )
        scheduled = Mailing.create(
            {
                "name": "Tour scheduled mailing",
                "body": "Hello",
                "partner_ids": [(4, self.partner.id)],
                "launch_type": "deferred",
                "start_date": "2099-01-01 08:00:00",
            }
        )
        scheduled.action_launch()
        self.assertEqual(scheduled.state, "scheduled")
        self.env["phone.blacklist"]._add(["+33612340002"])
        self.start_tour(
            "/odoo/action-sms_mailing.sms_mailing_action",
            "sms_mailing_manager_no_email",
            login=user.login,
        )
        test_sms = draft.sms_ids
        self.assertEqual(
            (test_sms.is_test, test_sms.number, test_sms.state),
            (True, "+33612345699", "pending"),
        )
        self.assertRegex(test_sms.body, r"^Hello Sam NoMail\nSTOP: \S+/sms/stop/")
        self.assertEqual(scheduled.state, "canceled")
        self.assertEqual(
            sorted(
                self.env["phone.blacklist"]
                .search([("number", "in", ["+33612340001", "+33612340002"])])
                .mapped("number")
            ),
            ["+33612340001", "+33612340002"],
        )
        record = self.env["sms.contact.import"].search([("create_uid", "=", user.id)])
        self.assertEqual((record.created_count, record.updated_count), (1, 1))
