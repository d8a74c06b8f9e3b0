from odoo.tests import HttpCase, tagged

from odoo.addons.sms_mailing.tests.common import HostileRequestsMixin

from .common import SmsRuCase

LOGGER = "odoo.addons.sms_provider_smsru.controllers.main"


@tagged("post_install", "-at_install")
class TestSmsRuCallback(HttpCase, SmsRuCase):
    def setUp(self):
        super().setUp()
        self.sms = self._sms_for_partners(self._partners(3))
        self._run_dispatch()
        self.assertSmsState(self.sms, "pending")
        self.ids = self.sms.mapped("provider_message_id")
        self.server.set_status(self.ids[0], 103)
        self.server.set_status(self.ids[1], 106)
        self.path = (
            f"/sms_provider_smsru/callback/{self.provider.id}/"
            f"{self.provider.smsru_callback_token}"
        )

    def test_callback_updates_states_and_answers_100(self):
        response = self.url_open(self.path, data=self.server.callback_form(self.ids))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.text, "100")
        self.assertSmsState(self.sms[0], "sent")
        self.assertTrue(self.sms[0].delivered_at)
        self.assertSmsState(self.sms[1], "error", failure_type="sms_not_delivered")
        self.assertIn("code 106", self.sms[1].error_message)
        self.assertSmsState(self.sms[2], "pending")

    def test_callback_with_indexed_fields(self):
        form = {
            f"data[{i}]": value
            for i, (_key, value) in enumerate(self.server.callback_form(self.ids[:1]))
        }
        response = self.url_open(self.path, data=form)
        self.assertEqual(response.text, "100")
        self.assertSmsState(self.sms[0], "sent")

    def test_callback_without_data_answers_100(self):
        # SMS.ru checks the handler when it is registered
        response = self.url_open(self.path)
        self.assertEqual((response.status_code, response.text), (200, "100"))
        response = self.url_open(self.path, data={"foo": "bar"})
        self.assertEqual((response.status_code, response.text), (200, "100"))
        self.assertSmsState(self.sms, "pending")

    def test_wrong_token_is_refused_and_changes_nothing(self):
        form = self.server.callback_form(self.ids)
        token = self.provider.smsru_callback_token
        other = self._create_smsru_provider(name="Other account")
        for path in (
            f"/sms_provider_smsru/callback/{self.provider.id}/{token[:-1]}x",
            f"/sms_provider_smsru/callback/{self.provider.id}/short",
            f"/sms_provider_smsru/callback/{other.id}/{token}",
            f"/sms_provider_smsru/callback/999999/{token}",
        ):
            with self.subTest(path=path), self.assertLogs(LOGGER, "WARNING"):
                response = self.url_open(path, data=form)
                self.assertEqual(response.status_code, 403)
                self.assertNotEqual(response.text, "100")
        demo = self._create_provider()
        with self.assertLogs(LOGGER, "WARNING"):
            response = self.url_open(
                f"/sms_provider_smsru/callback/{demo.id}/{token}", data=form
            )
        self.assertEqual(response.status_code, 403)
        self.assertSmsState(self.sms, "pending")

    def test_callback_only_touches_its_provider(self):
        other = self._create_smsru_provider(name="Other account")
        path = f"/sms_provider_smsru/callback/{other.id}/{other.smsru_callback_token}"
        response = self.url_open(path, data=self.server.callback_form(self.ids))
        self.assertEqual(response.text, "100")
        self.assertSmsState(self.sms, "pending")

    def test_malformed_status_is_refused_and_changes_nothing(self):
        form = self.server.callback_form(self.ids)
        for entry in (
            f"sms_status\n{self.ids[2]}\nnot-a-code",
            "sms_status\n\n103",
            f"sms_status\n{self.ids[2]}\n103\n99999999999999999999",
        ):
            with self.subTest(entry=entry), self.assertLogs(LOGGER, "WARNING"):
                # A valid entry next to the malformed one is not applied either.
                response = self.url_open(self.path, data=[*form, ("data[]", entry)])
                self.assertEqual(response.status_code, 400)
                self.assertNotEqual(response.text, "100")
        self.assertSmsState(self.sms, "pending")

    def test_provider_id_out_of_range_is_refused(self):
        token = self.provider.smsru_callback_token
        with self.assertLogs(LOGGER, "WARNING"):
            response = self.url_open(
                f"/sms_provider_smsru/callback/99999999999999999/{token}",
                data=self.server.callback_form(self.ids),
            )
        self.assertEqual(response.status_code, 403)
        self.assertSmsState(self.sms, "pending")


@tagged("post_install", "-at_install")
class TestSmsRuCallbackHostile(HttpCase, SmsRuCase, HostileRequestsMixin):
    """Random, oversized and malformed requests to the callback: 4xx (or the
    "100" SMS.ru wants when the URL is right but nothing applies), no
    traceback, no database change."""

    def setUp(self):
        super().setUp()
        self.sms = self._sms_for_partners(self._partners(3))
        self._run_dispatch()
        self.token = self.provider.smsru_callback_token
        self.template = "/sms_provider_smsru/callback/{provider}/{token}"

    def test_hostile_requests_with_wrong_urls_are_refused(self):
        paths = self.hostile_paths(
            self.template, provider=str(self.provider.id), token=self.token
        )
        requests = [
            request
            for path in paths
            for request in self.hostile_requests(path)
            if request[0] in ("get", "random text entry", "not UTF-8", "json")
        ]
        with self.assertLogs(LOGGER, "WARNING"):  # refusals are logged, as warnings
            self.assertRefusesHostileRequests(requests)

    def test_hostile_bodies_on_the_right_url_change_nothing(self):
        path = self.template.format(provider=self.provider.id, token=self.token)
        # SMS.ru is answered "100" for what it may send (nothing applies here)
        self.assertRefusesHostileRequests(self.hostile_requests(path), allowed=(200,))

    def test_oversized_callback_is_refused_before_parsing(self):
        path = self.template.format(provider=self.provider.id, token=self.token)
        response = self.url_open(path, data={"data[]": "x" * (2 * 1024 * 1024)})
        self.assertEqual(response.status_code, 413)

    def test_status_entries_with_a_broken_time_stamp_are_refused(self):
        path = self.template.format(provider=self.provider.id, token=self.token)
        pid = self.sms[0].provider_message_id
        state = self.sms[0].state
        with self.assertLogs(LOGGER, "WARNING"):
            response = self.url_open(
                path, data={"data[]": f"sms_status\n{pid}\n103\n99999999999999999999"}
            )
        self.assertEqual(response.status_code, 400)
        self.assertSmsState(self.sms[0], state)
