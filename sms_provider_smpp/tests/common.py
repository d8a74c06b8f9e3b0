from odoo.addons.sms_mailing.tests.common import SmsProviderCase

from .local_smsc import LocalSmsc

SYSTEM_ID = "odoo"
PASSWORD = "s3cret"


class SmppCase(SmsProviderCase):
    """A provider of type ``smpp`` bound to a fresh local SMSC.

    The registry is in test mode (as for Odoo's HttpCase): the receipts a
    bind's thread stores in a transaction of its own go to the test's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)

    def setUp(self):
        super().setUp()
        self.smsc = self.enterContext(LocalSmsc(system_id=SYSTEM_ID, password=PASSWORD))
        self.provider = self._create_smpp_provider()

    def _create_smpp_provider(self, **vals):
        values = {
            "name": "SMPP account",
            "provider_type": "smpp",
            "smpp_host": self.smsc.host,
            "smpp_port": self.smsc.port,
            "smpp_system_id": SYSTEM_ID,
            "smpp_password": PASSWORD,
            "smpp_timeout": 2,
            "sender": "MyShop",
            "inflight_requests": 10,
            "dispatch_lanes": 2,
        }
        values.update(vals)
        return self._create_provider(**values)

    def _fetch(self):
        """The scheduled read of received messages, for this provider."""
        return self.provider._fetch_inbound()
