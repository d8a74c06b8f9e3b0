"""Consent: the history kept as proof, START keywords, the portal switch."""

import re

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from ..tools.provider import InboundMessage
from .common import HostileRequestsMixin, SmsProviderCase

FR = "+33655502001"
RU = "+79161113344"
BR = "+5511987654321"


def history(partner):
    partner.invalidate_recordset(["sms_consent_ids"])
    return [
        (c.action, c.source, c.number, c.detail or "")
        for c in partner.sms_consent_ids.sorted("id")
    ]


@tagged("post_install", "-at_install")
class TestConsentKeywords(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env["sms.provider"].create(
            {"name": "Inbox", "provider_type": "demo"}
        )

    def _blacklisted(self, number):
        return bool(
            self.env["phone.blacklist"].search_count(
                [("number", "=", number), ("active", "=", True)]
            )
        )

    def _receive(self, number, text):
        return self.provider._receive_inbound([InboundMessage(number, text)])

    def test_start_lifts_a_stop(self):
        jeanne = self._create_partner("Jeanne", FR)
        self._receive(FR, "STOP")
        self.assertTrue(jeanne.sms_opt_out)
        self.assertTrue(self._blacklisted(FR))
        inbound = self._receive(FR, " start ")
        self.assertTrue(inbound.is_start)
        self.assertFalse(inbound.is_stop)
        self.assertFalse(jeanne.sms_opt_out)
        self.assertFalse(self._blacklisted(FR))
        self.assertEqual(
            history(jeanne),
            [("optout", "keyword", FR, "STOP"), ("optin", "keyword", FR, "start")],
        )
        notes = " ".join(jeanne.message_ids.mapped("body"))
        self.assertIn("Opted in again by SMS: ", notes)
        # the mailing audience takes her again
        mailing = self.env["sms.mailing"].create(
            {"name": "Back", "body": "Hi", "partner_ids": [(6, 0, jeanne.ids)]}
        )
        self.assertEqual(mailing.recipient_estimate, 1)

    def test_default_start_keywords_in_four_languages(self):
        for number, stop, start in (
            (FR, "ARRET", "Reprise"),
            (RU, "СТОП", "старт"),
            (BR, "PARAR", "voltar"),
            ("+447911123456", "STOP", "UNSTOP"),
        ):
            partner = self._create_partner(number, number)
            self._receive(number, stop)
            self.assertTrue(partner.sms_opt_out, number)
            self._receive(number, start)
            self.assertFalse(partner.sms_opt_out, (number, start))
            self.assertFalse(self._blacklisted(number), number)

    def test_start_keywords_per_provider(self):
        self.provider.start_keywords = "REVENIR, Oui"
        jeanne = self._create_partner("Jeanne", FR)
        self._receive(FR, "STOP")
        inbound = self._receive(FR, "START")  # not a keyword of this provider
        self.assertFalse(inbound.is_start)
        self.assertTrue(jeanne.sms_opt_out)
        self._receive(FR, "oui")
        self.assertFalse(jeanne.sms_opt_out)
        self.assertFalse(self._blacklisted(FR))

    def test_start_does_not_lift_other_opt_outs(self):
        # Opted out by a user (or the portal, a link, an import): a START
        # from the number does not overrule that choice.
        manager = new_test_user(
            self.env,
            "consent_manager",
            groups="base.group_user,base.group_partner_manager,sms_mailing.group_sms_manager",
        )
        jeanne = self._create_partner("Jeanne", FR)
        jeanne.with_user(manager).write({"sms_opt_out": True})
        inbound = self._receive(FR, "START")
        self.assertTrue(inbound.is_start)
        self.assertTrue(jeanne.sms_opt_out)
        self.assertEqual(history(jeanne), [("optout", "user", FR, "")])
        self.assertEqual(jeanne.sms_consent_ids.user_id, manager)

    def test_start_without_a_stop_changes_nothing(self):
        jeanne = self._create_partner("Jeanne", FR)
        self._receive(FR, "START")
        self.assertFalse(jeanne.sms_opt_out)
        self.assertEqual(history(jeanne), [])

    def test_users_changes_are_in_the_history(self):
        manager = new_test_user(
            self.env,
            "consent_manager",
            groups="base.group_user,base.group_partner_manager,sms_mailing.group_sms_manager",
        )
        jeanne = self._create_partner("Jeanne", FR)
        jeanne.with_user(manager).sms_opt_out = True
        jeanne.with_user(manager).sms_opt_out = True  # no change: no line
        jeanne.with_user(manager).sms_opt_out = False
        self.assertEqual(
            history(jeanne), [("optout", "user", FR, ""), ("optin", "user", FR, "")]
        )

    def test_history_is_read_only(self):
        user = new_test_user(
            self.env,
            "consent_user",
            groups="base.group_user,base.group_partner_manager,sms_mailing.group_sms_manager",
        )
        jeanne = self._create_partner("Jeanne", FR)
        self._receive(FR, "STOP")
        line = jeanne.sms_consent_ids.with_user(user)
        self.assertEqual(line.source, "keyword")  # readable
        with self.assertRaises(UserError):
            line.write({"action": "optin"})
        with self.assertRaises(UserError):
            line.unlink()
        with self.assertRaises(AccessError):
            self.env["sms.consent"].with_user(user).create(
                {"action": "optin", "source": "user", "number": FR}
            )

    def test_link_optout_and_undo_are_in_the_history(self):
        jeanne = self._create_partner("Jeanne", FR)
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Soldes",
                "body": "Hi",
                "provider_id": self.provider.id,
                "partner_ids": [(6, 0, jeanne.ids)],
            }
        )
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        sms = mailing.sms_ids
        sms._optout_by_link()
        sms._undo_optout_by_link()
        self.assertEqual(
            history(jeanne),
            [("optout", "link", FR, "Soldes"), ("optin", "link", FR, "Soldes")],
        )
        self.assertFalse(jeanne.sms_opt_out)

    def test_import_to_blacklist_is_in_the_history(self):
        # The phone blacklist is an administrator's (Odoo's access rights).
        manager = new_test_user(
            self.env,
            "consent_manager",
            groups="base.group_system,sms_mailing.group_sms_manager",
        )
        data = "mobile\n+33655502001\n+33655502002\n+33655502001\n"
        wizard = (
            self.env["sms.contact.import"]
            .with_user(manager)
            .create(
                {
                    "file": __import__("base64").b64encode(data.encode()),
                    "filename": "stop-list.csv",
                    "to_blacklist": True,
                }
            )
        )
        wizard.action_analyze()
        wizard.action_import()
        lines = self.env["sms.consent"].search([("source", "=", "import")])
        self.assertEqual(
            sorted(lines.mapped("number")), ["+33655502001", "+33655502002"]
        )
        self.assertEqual(set(lines.mapped("detail")), {"stop-list.csv"})
        self.assertEqual(lines.user_id, manager)
        self.assertEqual(set(lines.mapped("action")), {"optout"})


@tagged("post_install", "-at_install")
class TestPortalConsent(HttpCase, HostileRequestsMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = new_test_user(
            cls.env,
            "sms_portal_jane",
            password="sms_portal_jane",
            groups="base.group_portal",
            name="Jane Portal",
            mobile="+33655502009",
            country_id=cls.env.ref("base.fr").id,
        )
        cls.partner = cls.customer.partner_id
        cls.number = "+33655502009"

    def _state(self):
        self.env.invalidate_all()
        return (
            self.partner.sms_opt_out,
            bool(
                self.env["phone.blacklist"].search_count([("number", "=", self.number)])
            ),
        )

    def _csrf(self, html):
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def test_customer_opts_out_and_back_in(self):
        self.authenticate("sms_portal_jane", "sms_portal_jane")
        page = self.url_open("/my/account")
        self.assertEqual(page.status_code, 200)
        self.assertIn("You receive our marketing SMS", page.text)
        self.assertEqual(self._state(), (False, False))

        answer = self.url_open(
            "/my/account/sms",
            data={"csrf_token": self._csrf(page.text), "action": "optout"},
            allow_redirects=False,
        )
        self.assertEqual(answer.status_code, 303)
        self.assertEqual(self._state(), (True, True))
        page = self.url_open(answer.headers["Location"])
        self.assertIn("You will no longer receive our marketing SMS.", page.text)
        self.assertIn("You do not receive our marketing SMS.", page.text)
        notes = " ".join(self.partner.message_ids.mapped("body"))
        self.assertIn("Opted out of marketing SMS on the customer portal.", notes)

        answer = self.url_open(
            "/my/account/sms",
            data={"csrf_token": self._csrf(page.text), "action": "optin"},
            allow_redirects=False,
        )
        self.assertEqual(answer.status_code, 303)
        self.assertEqual(self._state(), (False, False))
        page = self.url_open(answer.headers["Location"])
        self.assertIn("You will receive our marketing SMS again.", page.text)
        self.assertEqual(
            history(self.partner),
            [
                ("optout", "portal", self.number, ""),
                ("optin", "portal", self.number, ""),
            ],
        )
        self.assertEqual(set(self.partner.sms_consent_ids.user_id), {self.customer})

    def test_bad_requests_change_nothing(self):
        self.authenticate("sms_portal_jane", "sms_portal_jane")
        page = self.url_open("/my/account")
        csrf = self._csrf(page.text)
        # no token, unknown action, GET
        for data in ({"action": "optout"}, {"csrf_token": csrf, "action": "drop"}):
            answer = self.url_open("/my/account/sms", data=data, allow_redirects=False)
            self.assertEqual(answer.status_code, 400, data)
        self.assertEqual(self.url_open("/my/account/sms").status_code, 405)
        self.assertEqual(self._state(), (False, False))
        self.assertRefusesHostileRequests(self.hostile_requests("/my/account/sms"))
        self.assertEqual(self._state(), (False, False))

    def test_visitor_must_log_in(self):
        answer = self.url_open(
            "/my/account/sms", data={"action": "optout"}, allow_redirects=False
        )
        self.assertIn(answer.status_code, (303, 400))
        self.assertEqual(self._state(), (False, False))

    def test_portal_tour(self):
        self.start_tour(
            "/my/account", "sms_mailing_portal_consent", login="sms_portal_jane"
        )
        self.assertEqual(self._state(), (False, False))
        self.assertEqual(
            [line[:2] for line in history(self.partner)],
            [("optout", "portal"), ("optin", "portal")],
        )
