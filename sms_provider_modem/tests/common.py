"""Test toolkit of the modem provider: a fake modem on a pseudo-terminal per test
and a provider pointed at it. Nothing of our logic is patched: the fake modem is
the counterpart on the other end of a real serial line."""

from odoo.addons.sms_mailing.tests.common import SmsProviderCase

from .fake_modem import FakeModem


class ModemCase(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls._create_modem_provider()

    @classmethod
    def _create_modem_provider(cls, **vals):
        values = {
            "name": "GSM modem",
            "provider_type": "modem",
            "modem_port": "/dev/null-modem",  # replaced by the fake's pty
            "modem_timeout": 5,
            "price_per_part": 0.05,
        }
        values.update(vals)
        return cls.env["sms.provider"].create(values)

    def setUp(self):
        super().setUp()
        self.modem = FakeModem().start()
        self.addCleanup(self.modem.stop)
        self.provider.modem_port = self.modem.port
        # a short wait for the advisory lock: a test must not hang
        self.env["ir.config_parameter"].sudo().set_param(
            "sms_provider_modem.lock_wait_seconds", "5"
        )

    # -- helpers ----------------------------------------------------------
    def _poll(self, provider=None):
        return (provider or self.provider)._modem_poll()

    def _commit_hooks(self):
        """What a commit would do, without committing the test transaction:
        flush and run the pre-commit hooks (status reports met while sending),
        then the post-commit ones (deleting stored messages from the SIM)."""
        self.env.cr.flush()
        self.env.cr.postcommit.run()

    def _report_all(self, sms, status=0x00, mode="cdsi"):
        """One status report per part of each message."""
        for record in sms:
            for mr in record.provider_message_id.split(","):
                self.modem.report(int(mr), status, mode=mode)
