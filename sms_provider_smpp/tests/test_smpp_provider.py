from odoo.tests import tagged

from . import local_smsc
from .common import SmppCase


@tagged("post_install", "-at_install")
class TestSmppSending(SmppCase):
    def test_gsm7_message_reaches_the_smsc_and_is_delivered(self):
        sms = self._queue_sms(["+33612345678"], body="Prix: 5 € {ok}")
        self.smsc.receipt_delay = 0.0
        self._run_dispatch()
        self.assertSmsState(sms, "pending", provider=self.provider)
        [submit] = self.smsc.submits
        self.assertEqual(submit.destination_addr, "33612345678")
        self.assertEqual((submit.dest_addr_ton, submit.dest_addr_npi), (1, 1))
        self.assertEqual(submit.source_addr, "MyShop")
        self.assertEqual((submit.source_addr_ton, submit.source_addr_npi), (5, 0))
        self.assertEqual(submit.data_coding, 0)
        self.assertEqual(submit.registered_delivery, 1)
        self.assertEqual(submit.text, "Prix: 5 € {ok}")
        self.assertEqual(sms.provider_message_id, submit.message_id)
        self.assertEqual(self.smsc.binds[0].command, "bind_transceiver")
        self.assertEqual(self.smsc.unbinds, 1)
        # The receipt came on the bind or waits at the SMSC: the scheduled
        # read binds as receiver and applies it.
        self.smsc.wait_for(lambda: self.smsc.pending_deliveries() or self.smsc.delivered)
        self._fetch()
        self.assertSmsState(sms, "sent")
