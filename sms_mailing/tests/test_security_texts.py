"""Mailing texts evaluate no code their writer or launcher may not, and SMS
stay private: each test acts as the user concerned (``with_user``)."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from ..tools.provider import InboundMessage
from .common import SmsProviderCase

UNSAFE = (
    "Hi {{ object.env['ir.config_parameter'].sudo().get_param('database.secret') }}"
)
ODOO_MESSAGE = "are allowed to edit templates containing sensible placeholders"


def _user(env, login, *groups):
    return (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": login.replace("_", " ").title(),
                "login": login,
                "email": f"{login}@example.com",
                "groups_id": [(6, 0, [env.ref(g).id for g in groups])],
            }
        )
    )


@tagged("post_install", "-at_install")
class TestSecurityTexts(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Settings > Restrict Template Rendering: internal users are no longer
        # template editors (Odoo removes the implied group).
        cls.env["ir.config_parameter"].set_param(
            "mail.restrict.template.rendering", True
        )
        cls.secret = cls.env["ir.config_parameter"].get_param("database.secret")
        cls.manager = _user(
            cls.env,
            "sms_sec_manager",
            "base.group_user",
            "sms_mailing.group_sms_manager",
        )
        cls.editor = _user(
            cls.env,
            "sms_sec_editor",
            "base.group_user",
            "sms_mailing.group_sms_manager",
            "mail.group_mail_template_editor",
        )
        cls.provider = cls.env["sms.provider"].create(
            {"name": "Main", "provider_type": "demo"}
        )
        cls.ann = cls._create_partner(cls, "Ann", "+33612345681")
        cls.bob = cls._create_partner(cls, "Bob", "+33612345682")

    def _mailing_as(self, user, **vals):
        values = {
            "name": "Security mailing",
            "body": "Hello {{ object.name }}",
            "partner_ids": [(6, 0, (self.ann + self.bob).ids)],
            "optout_link": False,  # the texts are compared whole
        }
        values.update(vals)
        return self.env["sms.mailing"].with_user(user).create(values)

    def _assert_no_secret_sent(self):
        self.env.flush_all()
        self.assertFalse(
            self.env["sms.sms"].search([("body", "ilike", self.secret)]),
            "the database secret must never be in an SMS",
        )

    # -- Odoo's rule at create and write -------------------------------------
    def test_manager_not_editor_cannot_write_code(self):
        self.assertFalse(self.manager.has_group("mail.group_mail_template_editor"))
        for body in (
            UNSAFE,
            "Hi {{ object.country_id.name.upper() }}",
            "Hi {{ object.country_id['name'] }}",
            "Hi {{ object.no_such_field }}",
        ):
            with self.subTest(body=body):
                with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
                    self._mailing_as(self.manager, body=body)
        # The expressions Odoo allows without the group, plain paths of
        # contact fields (what "Insert a field" writes) and plain text.
        mailing = self._mailing_as(self.manager, body="Hello {{ object.name }}")
        mailing.write({"body": "Hi {{ object.country_id.name }}"})
        mailing.write({"body": "Plain text"})
        with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            mailing.write({"body": UNSAFE})
        mailing.invalidate_recordset()
        self.assertEqual(mailing.body, "Plain text")
        with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            mailing.write({"body": "Hi {{ object.country_id.name.lower() }}"})

    def test_editor_may_write_code_and_it_renders_as_the_editor(self):
        mailing = self._mailing_as(self.editor, body="Hi {{ object.name.upper() }}")
        mailing.write({"body": "Hi {{ object.name.upper() }}!"})
        mailing.action_launch()
        self.assertEqual(mailing.launched_by_id, self.editor)
        self.env["sms.mailing"]._cron_process()
        self.assertEqual(sorted(mailing.sms_ids.mapped("body")), ["Hi ANN!", "Hi BOB!"])
        self.assertEqual(mailing.sms_ids.create_uid, self.editor)

    def test_without_restriction_every_internal_user_is_an_editor(self):
        self.env["ir.config_parameter"].set_param(
            "mail.restrict.template.rendering", False
        )
        self.assertTrue(self.manager.has_group("mail.group_mail_template_editor"))
        mailing = self._mailing_as(self.manager, body="Hi {{ object.name.upper() }}")
        self.assertEqual(mailing.body, "Hi {{ object.name.upper() }}")

    # -- a launched mailing keeps what was launched ---------------------------
    def test_launched_mailing_refuses_changes(self):
        start = fields.Datetime.now() + timedelta(days=1)
        mailing = self._mailing_as(
            self.manager, launch_type="deferred", start_date=start
        )
        mailing.action_launch()
        self.assertEqual(mailing.state, "scheduled")
        other = self._create_partner("Other", "+33612345683")
        for vals in (
            {"body": "Another harmless text"},
            {"partner_ids": [(4, other.id)]},
            {"group_ids": [(6, 0, [])]},
            {"provider_id": False},
            {"start_date": start + timedelta(hours=1)},
            {"launch_type": "immediate"},
            {"quiet_hours": True},
        ):
            with self.subTest(vals=vals):
                with self.assertRaisesRegex(UserError, "no longer a draft"):
                    mailing.write(vals)
        # Not even through sudo: nothing may change what the cron will send.
        with self.assertRaisesRegex(UserError, "no longer a draft"):
            mailing.sudo().write({"body": UNSAFE})
        self.assertEqual(mailing.body, "Hello {{ object.name }}")
        mailing.write({"name": "Renamed"})  # the name is not sent
        # Our own state changes still work: the cron starts it, cancel stops it.
        with freeze_time(start + timedelta(minutes=1)):
            self.env["sms.mailing"]._cron_process()
        self.assertEqual(mailing.state, "sending")
        self.assertEqual(
            sorted(mailing.sms_ids.mapped("body")), ["Hello Ann", "Hello Bob"]
        )
        mailing.action_cancel()
        self.assertEqual(mailing.state, "canceled")

    # -- the queuing cron cannot escalate -------------------------------------
    def test_cron_refuses_a_text_its_launcher_could_not_write(self):
        start = fields.Datetime.now() + timedelta(days=1)
        mailing = self._mailing_as(
            self.manager, launch_type="deferred", start_date=start
        )
        mailing.action_launch()
        self.assertEqual(mailing.launched_by_id, self.manager)
        # The text changes by a path that skips every check (SQL), and the
        # responsible becomes the administrator: the launcher still counts.
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE sms_mailing SET body = %s, user_id = %s WHERE id = %s",
            (UNSAFE, self.env.ref("base.user_admin").id, mailing.id),
        )
        mailing.invalidate_recordset()
        with freeze_time(start + timedelta(minutes=1)):
            self.env["sms.mailing"]._cron_process()  # run as the superuser
        self.assertEqual(mailing.state, "canceled")
        self.assertIn(ODOO_MESSAGE, mailing.launch_error)
        self.assertIn("Sms Sec Manager may not render", mailing.launch_error)
        self.assertFalse(mailing.sms_ids.filtered(lambda s: s.state == "outgoing"))
        self._assert_no_secret_sent()

    def test_field_paths_render_as_the_launcher_other_expressions_do_not(self):
        # What "Insert a field" writes (a path of contact fields) is no code:
        # a manager who is not a template editor may use it; it is read with
        # the launcher's rights when queued.
        (self.ann + self.bob).country_id = self.env.ref("base.fr")
        mailing = self._mailing_as(self.manager, body="Hi {{ object.country_id.name }}")
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        self.assertEqual(mailing.state, "sending")
        self.assertEqual(mailing.sms_ids.mapped("body"), ["Hi France"] * 2)
        # Anything else is Odoo's decision: refused to a non-editor...
        with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            self._mailing_as(self.manager, body="Hi {{ object.country_id['name'] }}")
        # ... and by the cron when it reached the database another way.
        mailing = self._mailing_as(self.manager)
        mailing.action_launch()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE sms_mailing SET body = %s WHERE id = %s",
            ("Hi {{ object.country_id.name.upper() }}", mailing.id),
        )
        mailing.invalidate_recordset()
        self.env["sms.mailing"]._cron_process()
        self.assertEqual(mailing.state, "canceled")
        self.assertIn(ODOO_MESSAGE, mailing.launch_error)
        self.assertFalse(mailing.sms_ids.filtered(lambda s: s.state == "outgoing"))

    def test_cron_reaches_only_contacts_the_launcher_can_read(self):
        other_company = self.env["res.company"].create({"name": "Hidden SMS Co"})
        hidden = self._create_partner(
            "Hidden", "+33612345684", company_id=other_company.id
        )
        with self.assertRaises(AccessError):
            hidden.with_user(self.manager).check_access("read")
        group = (
            self.env["sms.mailing.group"]
            .with_user(self.manager)
            .create(
                {
                    "name": "Every number of the test",
                    "domain": "[('mobile', 'like', '+3361234568')]",
                }
            )
        )
        self.assertEqual(
            self.env["res.partner"].search_count(group._get_domain()), 3
        )  # the superuser sees 3 contacts
        mailing = self._mailing_as(
            self.manager, partner_ids=[(5,)], group_ids=[(6, 0, group.ids)]
        )
        self.assertEqual(mailing.recipient_estimate, 2)
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()  # run as the superuser
        self.assertEqual(mailing.sms_ids.partner_id, self.ann + self.bob)

    def test_preview_and_test_send_render_as_the_user(self):
        # A text stored by a superuser path (demo data, a script) is still
        # refused to a user who could not have written it.
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Written by a script",
                "body": UNSAFE,
                "partner_ids": [(6, 0, self.ann.ids)],
            }
        )
        as_manager = mailing.with_user(self.manager)
        with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            as_manager.action_preview()
        with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            as_manager.action_test()
        wizard = (
            self.env["sms.mailing.test"]
            .with_user(self.manager)
            .create(
                {
                    "mailing_id": mailing.id,
                    "number": "+33612345689",
                    "partner_id": self.ann.id,
                }
            )
        )
        with self.mock_gateway(), self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            wizard.action_send()
        with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            as_manager._render_sample(self.ann)
        with self.assertRaisesRegex(AccessError, ODOO_MESSAGE):
            as_manager.action_launch()
        # The form still opens: the estimate counts the raw text (with its
        # opt-out line) for Ann and says why.
        self.provider.price_per_part = 0.05
        as_manager.invalidate_recordset()
        self.assertEqual(as_manager.recipient_estimate, 1)
        parts = as_manager.parts_estimate
        self.assertGreaterEqual(parts, 1)
        self.assertAlmostEqual(as_manager.cost_estimate, 0.05 * parts)
        self.assertIn(ODOO_MESSAGE, as_manager.estimate_note)
        self.assertIn(ODOO_MESSAGE, as_manager.launch_problem)
        self.assertEqual(self.gateway_calls, [])
        self._assert_no_secret_sent()

    def test_card_dialog_sends_the_text_as_typed(self):
        user = _user(self.env, "sms_sec_card", "base.group_user")
        action = self.ann.with_user(user).action_open_sms_send()
        form = Form(
            self.env["sms.partner.send"]
            .with_user(user)
            .with_context(**action["context"])
        )
        form.body = UNSAFE
        wizard = form.save()
        with self.mock_gateway():
            wizard.action_send()
        self.assertEqual(self.gateway_calls, [("Main", [("+33612345681", UNSAFE)])])
        self._assert_no_secret_sent()


@tagged("post_install", "-at_install")
class TestSecurityConversations(SmsProviderCase):
    """An SMS User sees in Conversations what they see in Messages (the SMS
    they sent) plus every received SMS of their companies."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_a = _user(cls.env, "sms_sec_a", "base.group_user")
        cls.user_b = _user(cls.env, "sms_sec_b", "base.group_user")
        cls.manager = _user(
            cls.env, "sms_sec_mgr", "base.group_user", "sms_mailing.group_sms_manager"
        )
        cls.provider = cls.env["sms.provider"].create(
            {"name": "Main", "provider_type": "demo"}
        )
        cls.partner = cls._create_partner(cls, "Zoé", "+33612345691")

    def _send_as(self, user, body):
        action = self.partner.with_user(user).action_open_sms_send()
        form = Form(
            self.env["sms.partner.send"]
            .with_user(user)
            .with_context(**action["context"])
        )
        form.body = body
        with self.mock_gateway():
            form.save().action_send()
        return self.env["sms.sms"].search([("body", "=", body)])

    def test_users_do_not_see_each_others_texts(self):
        sms_a = self._send_as(self.user_a, "Text of A")
        sms_b = self._send_as(self.user_b, "Text of B")
        self.provider._receive_inbound(
            [
                InboundMessage(
                    "+33612345691",
                    "Reply",
                    fields.Datetime.now() + timedelta(minutes=1),
                )
            ]
        )
        self.env.flush_all()
        number = [("number", "=", "+33612345691")]

        def seen(user):
            # One request per user: the ORM cache holds one user's view of a row.
            self.env.invalidate_all()
            conversation = self.env["sms.conversation"].with_user(user).search(number)
            messages = (
                self.env["sms.conversation.message"].with_user(user).search(number)
            )
            return (
                self.env["sms.sms"].with_user(user).search(number),
                conversation,
                sorted(messages.mapped("body")),
            )

        for user, own, other in (
            (self.user_a, sms_a, "Text of B"),
            (self.user_b, sms_b, "Text of A"),
        ):
            with self.subTest(user=user.login):
                in_messages, conversation, bodies = seen(user)
                self.assertEqual(in_messages, own)
                self.assertEqual(bodies, sorted([own.body, "Reply"]))
                self.assertEqual(conversation.message_count, 2)
                self.assertEqual(conversation.last_body, "Reply")
                self.assertEqual(
                    sorted(conversation.message_ids.mapped("body")), bodies
                )
                self.assertFalse(
                    self.env["sms.conversation"]
                    .with_user(user)
                    .search([("last_body", "=", other)])
                )
                self.assertNotIn(
                    other,
                    self.env["sms.conversation.message"]
                    .with_user(user)
                    .search([])
                    .mapped("body"),
                )
        # The last text of the conversation is B's: A does not see it.
        sms_b.sent_at = fields.Datetime.now() + timedelta(hours=1)
        self.env.flush_all()
        self.env.invalidate_all()
        conversation = (
            self.env["sms.conversation"].with_user(self.user_a).search(number)
        )
        self.assertEqual(conversation.last_body, "Reply")
        # Managers see both, and the conversation's last text is B's.
        in_messages, conversation, bodies = seen(self.manager)
        self.assertEqual(in_messages, sms_a + sms_b)
        self.assertEqual(bodies, ["Reply", "Text of A", "Text of B"])
        self.assertEqual(conversation.message_count, 3)
        self.assertEqual(conversation.last_body, "Text of B")
        # The partner's counter counts what the user may open.
        self.assertEqual(self.partner.with_user(self.user_a).sms_count, 1)
        self.assertEqual(self.partner.with_user(self.manager).sms_count, 2)

    def test_number_texted_only_by_another_user_has_no_conversation(self):
        self._send_as(self.user_b, "Only B")
        self.env.flush_all()
        domain = [("number", "=", "+33612345691")]
        self.assertFalse(
            self.env["sms.conversation"].with_user(self.user_a).search(domain)
        )
        self.assertTrue(
            self.env["sms.conversation"].with_user(self.user_b).search(domain)
        )
        self.assertTrue(
            self.env["sms.conversation"].with_user(self.manager).search(domain)
        )

    def test_users_mark_received_sms_read_but_do_not_rewrite_them(self):
        inbound = self.provider._receive_inbound([InboundMessage("+33612345691", "Hi")])
        as_user = inbound.with_user(self.user_a)
        as_user.action_mark_read()
        as_user.write({"partner_id": self.partner.id})
        self.assertTrue(inbound.is_read)
        self.assertEqual(inbound.partner_id, self.partner)
        with self.assertRaisesRegex(AccessError, "Only SMS managers"):
            as_user.write({"body": "Something else"})
        inbound.with_user(self.manager).write({"body": "Fixed"})
        self.assertEqual(inbound.body, "Fixed")

    def test_users_cannot_ask_providers_through_a_mailing(self):
        mailing = self.env["sms.mailing"].create({"name": "M", "body": "Hi"})
        with self.assertRaises(AccessError):
            mailing.with_user(self.user_a).action_check_balance()
        result = mailing.with_user(self.manager).action_check_availability()
        self.assertEqual(result["type"], "ir.actions.client")
