"""Who may send, see and configure what."""

from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from .common import SmsProviderCase

FR = "+33612345678"


@tagged("post_install", "-at_install")
class TestCoreSecurity(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Users = cls.env["res.users"].with_context(no_reset_password=True)
        cls.user = Users.create(
            {
                "name": "Internal User",
                "login": "sms_internal",
                "email": "internal@example.com",
                "groups_id": [(6, 0, cls.env.ref("base.group_user").ids)],
            }
        )
        cls.colleague = Users.create(
            {
                "name": "Colleague",
                "login": "sms_colleague",
                "email": "colleague@example.com",
                "groups_id": [(6, 0, cls.env.ref("base.group_user").ids)],
            }
        )
        cls.manager = Users.create(
            {
                "name": "SMS Manager",
                "login": "sms_manager",
                "email": "manager@example.com",
                "groups_id": [
                    (
                        6,
                        0,
                        (
                            cls.env.ref("base.group_user")
                            + cls.env.ref("sms_mailing.group_sms_manager")
                        ).ids,
                    )
                ],
            }
        )
        cls.provider = cls.env["sms.provider"].create(
            {"name": "P", "provider_type": "demo", "price_per_part": 0.1}
        )
        cls.partner = cls.env["res.partner"].create({"name": "Jeanne", "mobile": FR})

    def _send_as(self, user, body):
        partner = self.partner.with_user(user)
        action = partner.action_open_sms_send()
        form = Form(
            self.env["sms.partner.send"]
            .with_user(user)
            .with_context(**action["context"])
        )
        form.body = body
        wizard = form.save()
        with self.mock_gateway():
            result = wizard.action_send()
        self.assertEqual(result["params"]["title"], "SMS sent")
        return self.env["sms.sms"].search([("body", "=", body)])

    def test_internal_user_is_sms_user(self):
        self.assertTrue(self.user.has_group("sms_mailing.group_sms_user"))
        self.assertFalse(self.user.has_group("sms_mailing.group_sms_manager"))

    def test_internal_user_sends_and_sees_own_sms_only(self):
        mine = self._send_as(self.user, "from me")
        theirs = self._send_as(self.colleague, "from a colleague")
        self.assertEqual(self.gateway_calls[0], ("P", [(FR, "from me")]))
        self.assertSmsState(mine + theirs, "pending", provider=self.provider)
        self.assertEqual(mine.create_uid, self.user)
        # Logged on the contact in the name of the sender.
        self.assertEqual(mine.mail_message_id.author_id, self.user.partner_id)
        self.assertEqual(mine.mail_message_id.res_id, self.partner.id)

        SmsAsUser = self.env["sms.sms"].with_user(self.user)
        self.assertEqual(SmsAsUser.search([]), mine)
        self.assertEqual(
            mine.with_user(self.user).read(["state"])[0]["state"], "pending"
        )
        with self.assertRaises(AccessError):
            theirs.with_user(self.user).read(["body"])
        with self.assertRaises(AccessError):
            mine.with_user(self.user).write({"body": "changed"})
        self.assertEqual(self.partner.with_user(self.user).sms_ids, mine)

        # Managers see every message.
        SmsAsManager = self.env["sms.sms"].with_user(self.manager)
        self.assertEqual(
            SmsAsManager.search([("id", "in", (mine + theirs).ids)]), mine + theirs
        )

    def test_internal_user_cannot_configure_providers(self):
        provider = self.provider.with_user(self.user)
        self.assertEqual(provider.name, "P")  # readable: the wizard shows it
        with self.assertRaises(AccessError):
            provider.write({"price_per_part": 0})
        with self.assertRaises(AccessError):
            self.env["sms.provider"].with_user(self.user).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            provider.unlink()
        with self.assertRaises(AccessError):
            self.provider.with_user(self.manager).write({"active": False})
        self.provider.with_user(self.env.ref("base.user_admin")).write({"sequence": 3})
        self.assertEqual(self.provider.sequence, 3)

    def test_providers_of_other_companies_are_hidden(self):
        other_company = self.env["res.company"].create({"name": "Other SMS Company"})
        other = self.env["sms.provider"].create(
            {"name": "Theirs", "provider_type": "demo", "company_id": other_company.id}
        )
        visible = self.env["sms.provider"].with_user(self.user).search([])
        self.assertIn(self.provider, visible)
        self.assertNotIn(other, visible)
