"""What an SMS Manager (not an administrator, no email address) meets on the
mailing screens: each test runs as that manager."""

from odoo.tests import Form, new_test_user, tagged

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
