"""What an SMS Manager (not an administrator, no email address) meets on the
mailing screens: each test runs as that manager."""

import re

from odoo import tools
from odoo.tests import Form, new_test_user, tagged

from ..tools import provider as api
from .common import SmsProviderCase


@tagged("post_install", "-at_install")
class TestManager(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls._create_provider(
            cls,
            name="Main",
            price_per_part=0.05,
            currency_id=cls.env.ref("base.EUR").id,
        )
        cls.manager = new_test_user(
            cls.env,
            login="sam",
            email=False,
            groups="base.group_user,sms_mailing.group_sms_manager",
            name="Sam Manager",
        )
        cls.tag = cls.env["res.partner.category"].create({"name": "Manager audience"})
        common = {"country_id": cls.country_fr.id, "category_id": [(4, cls.tag.id)]}
        Partner = cls.env["res.partner"]
        # Created in id order: the excluded ones come first.
        cls.opted_out = Partner.create(
            dict(common, name="Olga Out", mobile="+33612345601", sms_opt_out=True)
        )
        cls.no_number = Partner.create(dict(common, name="Nina Nonumber"))
        cls.bad_number = Partner.create(dict(common, name="Ivan Invalid", mobile="123"))
        cls.ann = Partner.create(dict(common, name="Ann Able", mobile="+33612345602"))
        cls.ann_twin = Partner.create(
            dict(common, name="Anna Twin", mobile="06 12 34 56 02")
        )
        cls.blocked = Partner.create(
            dict(common, name="Boris Blocked", mobile="+33612345603")
        )
        cls.env["phone.blacklist"]._add(["+33612345603"])
        cls.carl = Partner.create(
            dict(common, name="Carl Clear", mobile="+33612345604")
        )
        cls.outsider = Partner.create(
            {"name": "Otto Outsider", "mobile": "+33612345609"}
        )
        group = cls.env["sms.mailing.group"].create(
            {"name": "Audience", "domain": f"[('category_id', 'in', [{cls.tag.id}])]"}
        )
        cls.mailing = (
            cls.env["sms.mailing"]
            .with_user(cls.manager)
            .create(
                {
                    "name": "Manager mailing",
                    "body": "Hello {{ object.name }}",
                    "group_ids": [(6, 0, group.ids)],
                    "optout_link": False,
                }
            )
        )

    # -- Check (item 10) -----------------------------------------------------
    def test_check_opens_on_a_recipient(self):
        """The first contacts of the audience are excluded: Check shows the
        first one who will receive the mailing, with no warning."""
        preview = Form(
            self.env["sms.mailing.preview"]
            .with_user(self.manager)
            .with_context(default_mailing_id=self.mailing.id)
        )
        self.assertEqual(preview.partner_id, self.ann)
        self.assertEqual(preview.body, "Hello Ann Able")
        self.assertFalse(preview.not_received)

    def test_check_says_why_a_contact_gets_nothing(self):
        preview = Form(
            self.env["sms.mailing.preview"]
            .with_user(self.manager)
            .with_context(default_mailing_id=self.mailing.id)
        )
        expected = {
            self.opted_out: "Olga Out will not receive this mailing: the contact "
            "is marked Do not use SMS.",
            self.no_number: "Nina Nonumber will not receive this mailing: the "
            "contact has no mobile or phone number.",
            self.bad_number: "Ivan Invalid will not receive this mailing: 123 is "
            "not a valid phone number.",
            self.ann_twin: "Anna Twin will not receive this mailing: +33612345602 "
            "is also the number of Ann Able, who gets the only SMS sent to it.",
            self.blocked: "Boris Blocked will not receive this mailing: "
            "+33612345603 is on the blacklist.",
            self.outsider: "Otto Outsider is not in the audience of this mailing: "
            "this is the text they would get if they were.",
            self.ann: False,
        }
        for partner, sentence in expected.items():
            preview.partner_id = partner
            self.assertEqual(preview.not_received, sentence, partner.name)
            self.assertEqual(preview.body, f"Hello {partner.name}")

    def test_check_with_nobody_to_receive_it_warns(self):
        self.mailing.group_ids = False
        self.mailing.partner_ids = self.opted_out
        preview = Form(
            self.env["sms.mailing.preview"]
            .with_user(self.manager)
            .with_context(default_mailing_id=self.mailing.id)
        )
        self.assertEqual(preview.partner_id, self.opted_out)
        self.assertIn("Do not use SMS", preview.not_received)

    # -- Open the list after an import (item 12) --------------------------------
    def test_list_members_show_the_number_sms_go_to(self):
        mailing_list = (
            self.env["sms.mailing.list"]
            .with_user(self.manager)
            .create(
                {
                    "name": "Fair",
                    "partner_ids": [(6, 0, (self.ann | self.bad_number).ids)],
                }
            )
        )
        action = mailing_list.action_view_partners()
        view_id = action["views"][0][0]
        self.assertEqual(action["views"][0][1], "list")
        arch = (
            self.env["res.partner"]
            .with_user(self.manager)
            .get_view(view_id, "list")["arch"]
        )
        self.assertIn('name="phone_sanitized"', arch)
        self.assertIn("SMS number", arch)
        rows = (
            self.env["res.partner"]
            .with_user(self.manager)
            .search_read(action["domain"], ["name", "phone_sanitized"], order="name")
        )
        self.assertEqual(
            [(r["name"], r["phone_sanitized"]) for r in rows],
            [("Ann Able", "+33612345602"), ("Ivan Invalid", False)],
        )

    # -- after launch ------------------------------------------------------------
    def _launch(self, mailing=None):
        mailing = mailing or self.mailing
        action = mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        return action

    def test_launch_says_what_was_launched(self):
        """Mailing launched. Recipients: N; parts: M; cost: C (issue 24)."""
        self.assertEqual(
            (self.mailing.recipient_estimate, self.mailing.parts_estimate), (2, 2)
        )
        action = self.mailing.action_launch()
        params = action["params"]
        self.assertNotIn("title", params)
        cost = tools.format_amount(self.env, 0.10, self.env.ref("base.EUR"))
        self.assertEqual(
            params["message"],
            f"Mailing launched. Recipients: 2; parts: 2; cost: {cost}.",
        )

    def test_scheduled_launch_says_when(self):
        self.mailing.write(
            {"launch_type": "deferred", "start_date": "2099-03-01 08:00:00"}
        )
        self.manager.tz = "UTC"
        action = self.mailing.action_launch()
        cost = tools.format_amount(self.env, 0.10, self.env.ref("base.EUR"))
        self.assertRegex(
            action["params"]["message"],
            r"^Mailing scheduled for 03/01/2099 08:00(:00)?\. Recipients: 2; parts: 2; "
            rf"cost: {re.escape(cost)}\.$",
        )

    def test_parts_sent_counts_parts_that_left(self):
        """Refused at sending: nothing left, so no part was sent (issue 25 #3)."""
        self.mailing.body = "Hello {{ object.name }} " + "x" * 160  # 2 parts each
        self._launch()
        with self.mock_gateway(outcome=lambda name, message: api.PERMANENT):
            self._run_dispatch()
        self.mailing.invalidate_recordset()
        self.assertEqual((self.mailing.failed_count, self.mailing.sent_count), (2, 0))
        self.assertEqual(self.mailing.parts_planned, 4)
        self.assertEqual(self.mailing.parts_total, 0)

    def test_parts_sent_counts_a_message_that_left_then_failed(self):
        self.mailing.body = "Hello {{ object.name }} " + "x" * 160
        self._launch()
        with self.mock_gateway(
            status=lambda pid: api.StatusUpdate(pid, api.STATE_ERROR, final=True)
        ):
            self._run_dispatch()
            self.env["sms.sms"]._poll_statuses()
        self.mailing.invalidate_recordset()
        self.assertEqual(self.mailing.failed_count, 2)
        self.assertEqual(self.mailing.parts_total, 4, "they left: 2 parts each")

    def test_each_counter_has_its_own_empty_page(self):
        self._launch()
        helps = {
            "action_view_failed": "No failed SMS",
            "action_view_retrying": "No SMS waiting for a retry",
            "action_view_queued": "No SMS in the queue",
            "action_view_clicked": "No click yet",
            "action_view_optout": "Nobody opted out",
            "action_view_delivered": "No SMS delivered yet",
            "action_view_excluded": "No excluded contact",
        }
        for method, title in helps.items():
            action = getattr(self.mailing, method)()
            self.assertIn(f">{title}</p>", action["help"], method)
            self.assertNotIn("No SMS yet", action["help"], method)

    def test_excluded_contacts_are_contacts_with_the_tabs_reasons(self):
        """View the excluded contacts lists contacts, each with the reason in
        the words of the Exclusions tab (issue 25 #7)."""
        self._launch()
        self.assertEqual(self.mailing.excluded_count, 5)
        action = self.mailing.with_user(self.manager).action_view_excluded()
        self.assertEqual(action["res_model"], "res.partner")
        Partner = self.env["res.partner"].with_user(self.manager)
        partners = Partner.with_context(**action["context"]).search(action["domain"])
        reasons = {p.name: p.sms_exclusion_reason for p in partners}
        self.assertEqual(
            reasons,
            {
                "Olga Out": "Do not use SMS",
                "Nina Nonumber": "No phone number",
                "Ivan Invalid": "Invalid phone number",
                "Anna Twin": "Same number as another contact",
                "Boris Blocked": "Blacklisted number",
            },
        )
        for label in reasons.values():
            self.assertIn(label, self.mailing.exclusion_summary)

    # -- before launch -------------------------------------------------------------
    def test_text_as_sent_is_a_recipients_text(self):
        """*Text as sent* shows the text the first recipient gets, as Check
        does, not the macros (issue 24)."""
        mailing = self.mailing.with_user(self.manager)
        self.assertEqual(mailing.final_body_sample, "Hello Ann Able")
        self.assertEqual(mailing.final_body_sample_partner_id, self.ann)
        mailing.optout_link = True
        self.assertRegex(
            mailing.final_body_sample, r"^Hello Ann Able\nSTOP: \S+/sms/stop/\S+$"
        )
        mailing.group_ids = False
        mailing.partner_ids = self.opted_out
        self.assertRegex(mailing.final_body_sample, r"^Hello \{\{ object.name \}\}\n")
        self.assertFalse(mailing.final_body_sample_partner_id)
