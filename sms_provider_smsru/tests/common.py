from odoo.addons.sms_mailing.tests.common import SmsProviderCase

from .fake_smsru import FakeSmsRu

API_ID = "A1B2C3D4-E5F6-0000-1111-222233334444"


class SmsRuCase(SmsProviderCase):
    """A provider of type ``smsru`` talking to a fresh fake SMS.ru server."""

    def setUp(self):
        super().setUp()
        self.server = self.enterContext(FakeSmsRu(api_id=API_ID, sleep=1.0))
        self.provider = self._create_smsru_provider()

    def _create_smsru_provider(self, **vals):
        values = {
            "name": "SMS.ru",
            "provider_type": "smsru",
            "smsru_api_id": API_ID,
            "smsru_base_url": self.server.url,
            "smsru_timeout": 5,
            "number_prefixes": "+7",
        }
        values.update(vals)
        return self._create_provider(**values)

    def _sms_for_partners(self, partners, body="Hello {name}"):
        return self.env["sms.sms"].create(
            [
                {
                    "number": partner.mobile,
                    "partner_id": partner.id,
                    "body": body.format(name=partner.name),
                    "state": "outgoing",
                }
                for partner in partners
            ]
        )

    def _partners(self, count, start=0):
        return self.env["res.partner"].create(
            [
                {"name": f"Client {i:03d}", "mobile": f"+7925{i:07d}"}
                for i in range(start, start + count)
            ]
        )
