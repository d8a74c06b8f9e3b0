"""Routing of every SMS through the providers, failover, and the IAP fallback."""

from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.sms.tools.sms_api import SmsApi

from ..tools import provider as api
from .common import SmsProviderCase

FR = "+33612345678"
RU = "+79251234567"
RU_MOSCOW = "+74951234567"


def _iap_success(_sms_api, local_endpoint, params, timeout=15):
    """What Odoo's IAP server answers to ``/api/sms/3/send`` when all goes well."""
    assert local_endpoint == "/api/sms/3/send", local_endpoint
    return [
        {"uuid": number["uuid"], "state": "success", "credit": 1}
        for message in params["messages"]
        for number in message["numbers"]
    ]


@tagged("post_install", "-at_install")
class TestCoreRouting(SmsProviderCase):
    def _called(self):
        return [name for name, _batch in self.gateway_calls]

    def _dispatch_one(self, number, **vals):
        sms = self._queue_sms([number], **vals)
        with self.mock_gateway():
            self.assertEqual(self._run_dispatch(), 1)
        return sms

    def test_longest_prefix_wins_over_sequence(self):
        anywhere = self._create_provider(name="Anywhere", sequence=1)
        russia = self._create_provider(name="Russia", number_prefixes="+7", sequence=20)
        moscow = self._create_provider(
            name="Moscow", number_prefixes="+7495 +7499", sequence=30
        )
        sms = self._queue_sms([RU_MOSCOW, RU, FR])
        with self.mock_gateway():
            self.assertEqual(self._run_dispatch(), 3)
        by_number = {s.number: s for s in sms}
        self.assertSmsState(by_number[RU_MOSCOW], "pending", provider=moscow)
        self.assertSmsState(by_number[RU], "pending", provider=russia)
        self.assertSmsState(by_number[FR], "pending", provider=anywhere)
        self.assertEqual(
            sorted(self.gateway_calls),
            [
                ("Anywhere", [(FR, "Hello")]),
                ("Moscow", [(RU_MOSCOW, "Hello")]),
                ("Russia", [(RU, "Hello")]),
            ],
        )
        # The failover order offered for each number is the same one.
        Provider = self.env["sms.provider"]
        self.assertEqual(Provider._route(RU_MOSCOW), moscow + russia + anywhere)
        self.assertEqual(Provider._route(RU), russia + anywhere)
        self.assertEqual(Provider._route(FR), anywhere)

    def test_equal_prefixes_use_sequence(self):
        late = self._create_provider(name="Late", number_prefixes="+7", sequence=20)
        early = self._create_provider(name="Early", number_prefixes="+7", sequence=5)
        sms = self._dispatch_one(RU)
        self.assertSmsState(sms, "pending", provider=early)
        self.assertEqual(self._called(), ["Early"])
        # Reordering the providers changes the choice.
        late.sequence = 1
        sms = self._dispatch_one(RU)
        self.assertSmsState(sms, "pending", provider=late)

    def test_company_specific_and_shared_providers(self):
        other_company = self.env["res.company"].create({"name": "Other SMS Company"})
        other = self._create_provider(
            name="Other company", company_id=other_company.id, sequence=1
        )
        shared = self._create_provider(name="Shared", company_id=False, sequence=10)
        own = self._create_provider(name="Own", company_id=self.company.id, sequence=20)
        mine = self._queue_sms([FR], body="mine")
        theirs = self._queue_sms([FR], body="theirs", company_id=other_company.id)
        with self.mock_gateway():
            self.assertEqual(self._run_dispatch(), 2)
        self.assertSmsState(mine, "pending", provider=shared)
        self.assertSmsState(theirs, "pending", provider=other)
        Provider = self.env["sms.provider"]
        self.assertEqual(Provider._route(FR, company=self.company), shared + own)
        self.assertEqual(Provider._route(FR, company=other_company), other + shared)

    def test_company_without_provider_keeps_iap(self):
        other_company = self.env["res.company"].create({"name": "Other SMS Company"})
        self._create_provider(name="Other company", company_id=other_company.id)
        mine = self._queue_sms([FR], body="mine")
        theirs = self._queue_sms([FR], body="theirs", company_id=other_company.id)
        with (
            self.mock_gateway(),
            patch.object(
                SmsApi, "_contact_iap", autospec=True, side_effect=_iap_success
            ) as contact_iap,
        ):
            (mine + theirs).send()
        self.assertEqual(contact_iap.call_count, 1)
        sent_by_iap = contact_iap.call_args.args[2]["messages"]
        self.assertEqual([m["content"] for m in sent_by_iap], ["mine"])
        self.assertEqual(self.gateway_calls, [("Other company", [(FR, "theirs")])])
        self.assertSmsState(theirs, "pending")
        self.assertFalse(theirs.to_delete)
        self.assertSmsState(mine, "pending")
        self.assertTrue(mine.to_delete, "IAP messages keep Odoo's behaviour")
        self.assertFalse(mine.provider_id)

    def test_odoo_queue_cron_splits_between_providers_and_iap(self):
        other_company = self.env["res.company"].create({"name": "Other SMS Company"})
        self._create_provider(name="Other company", company_id=other_company.id)
        mine = self._queue_sms([FR], body="mine")
        theirs = self._queue_sms([FR], body="theirs", company_id=other_company.id)
        with (
            self.mock_gateway(),
            patch.object(
                SmsApi, "_contact_iap", autospec=True, side_effect=_iap_success
            ) as contact_iap,
        ):
            self.env["sms.sms"]._process_queue()
        sent_by_iap = contact_iap.call_args.args[2]["messages"]
        self.assertEqual([m["content"] for m in sent_by_iap], ["mine"])
        self.assertEqual(self.gateway_calls, [("Other company", [(FR, "theirs")])])
        self.assertSmsState(mine + theirs, "pending")

    def test_inactive_provider_ignored(self):
        self._create_provider(name="Retired", number_prefixes="+7", active=False)
        anywhere = self._create_provider(name="Anywhere")
        sms = self._dispatch_one(RU)
        self.assertSmsState(sms, "pending", provider=anywhere)
        self.assertEqual(self._called(), ["Anywhere"])

    def test_no_matching_provider(self):
        self._create_provider(name="Russia", number_prefixes="+7 +375")
        sms = self._queue_sms([FR])
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_country_not_supported")
        self.assertEqual(sms.error_message, f"No active SMS provider can send to {FR}.")
        self.assertFalse(sms.provider_id)
        self.assertEqual(self.gateway_calls, [])

    def test_no_active_provider_uses_iap_unchanged(self):
        self._create_provider(name="Retired", active=False)
        partner = self._create_partner("Iap Contact", FR)
        with (
            self.mock_gateway(),
            patch.object(
                SmsApi, "_contact_iap", autospec=True, side_effect=_iap_success
            ) as contact_iap,
        ):
            self.assertEqual(self.env["sms.sms"]._dispatch_queue(), 0)
            partner._message_sms("Through IAP", partner_ids=partner.ids)
        self.assertEqual(contact_iap.call_count, 1)
        endpoint, params = contact_iap.call_args.args[1:3]
        self.assertEqual(endpoint, "/api/sms/3/send")
        self.assertEqual(params["messages"][0]["content"], "Through IAP")
        self.assertEqual(params["messages"][0]["numbers"][0]["number"], FR)
        self.assertEqual(self.gateway_calls, [])
        sms = self.env["sms.sms"].search([("partner_id", "=", partner.id)])
        self.assertSmsState(sms, "pending")
        self.assertTrue(sms.to_delete, "Odoo's IAP path flags sent SMS for deletion")
        self.assertFalse(sms.provider_id)

    # ------------------------------------------------------------------
    # Failover
    # ------------------------------------------------------------------
    def test_failover_on_transient_error(self):
        self._create_provider(name="First", sequence=1)
        second = self._create_provider(name="Second", sequence=2)
        self._create_provider(name="Russia only", number_prefixes="+7", sequence=0)
        sms = self._queue_sms([FR])

        def outcome(name, message):
            return api.TRANSIENT if name == "First" else None

        with self.mock_gateway(outcome=outcome):
            self.assertEqual(self._run_dispatch(), 1)
        self.assertEqual(
            self.gateway_calls,
            [("First", [(FR, "Hello")]), ("Second", [(FR, "Hello")])],
        )
        self.assertSmsState(sms, "pending", provider=second)
        self.assertEqual(sms.attempts, 1, "failover happens within one attempt")
        self.assertFalse(sms.error_message)
        self.assertTrue(sms.provider_message_id.startswith("Second-"))

    def test_failover_on_whole_request_transient_error(self):
        self._create_provider(name="First", sequence=1)
        second = self._create_provider(name="Second", sequence=2)
        sms = self._queue_sms([FR, "+33612345679"])

        def outcome(name, message):
            if name == "First":
                raise api.ProviderError("Gateway timeout", transient=True)

        with self.mock_gateway(outcome=outcome):
            self._run_dispatch()
        self.assertEqual(self._called(), ["First", "Second"])
        self.assertSmsState(sms, "pending", provider=second)

    def test_permanent_error_does_not_fail_over(self):
        first = self._create_provider(name="First", sequence=1)
        self._create_provider(name="Second", sequence=2)
        sms = self._queue_sms([FR])
        with self.mock_gateway(outcome=lambda name, m: (api.PERMANENT, "sms_credit")):
            self._run_dispatch()
        self.assertEqual(self._called(), ["First"])
        self.assertSmsState(sms, "error", failure_type="sms_credit", provider=first)
        self.assertEqual(sms.error_message, "First says permanent")

    def test_requested_provider_is_the_only_one(self):
        self._create_provider(name="First", sequence=1)
        second = self._create_provider(name="Second", sequence=2)
        sms = self._queue_sms([FR], requested_provider_id=second.id)
        with self.mock_gateway(outcome=lambda name, m: api.TRANSIENT):
            self._run_dispatch()
        self.assertEqual(self._called(), ["Second"])
        self.assertSmsState(sms, "outgoing")
        self.assertEqual(sms.provider_id, second)
        # An inactive requested provider is not replaced by another one.
        second.active = False
        sms.next_attempt_at = False
        with self.mock_gateway():
            self._run_dispatch()
        self.assertSmsState(sms, "error", failure_type="sms_country_not_supported")
        self.assertFalse(sms.provider_id)
        self.assertNotIn("First", self._called())
