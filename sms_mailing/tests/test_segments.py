"""Parts and encoding stored on every SMS, exact at the part boundaries."""

from odoo.tests import tagged

from .common import SmsProviderCase

EMOJI = "👍"  # outside the BMP: two UCS-2 units, never split


@tagged("post_install", "-at_install")
class TestCoreSegments(SmsProviderCase):
    CASES = [
        # (label, body, encoding, parts)
        ("empty", "", "gsm7", 0),
        ("GSM-7 160", "a" * 160, "gsm7", 1),
        ("GSM-7 161", "a" * 161, "gsm7", 2),
        ("GSM-7 306 = 2 x 153", "a" * 306, "gsm7", 2),
        ("GSM-7 307", "a" * 307, "gsm7", 3),
        ("80 euro signs = 160 septets", "€" * 80, "gsm7", 1),
        ("81 euro signs = 162 septets", "€" * 81, "gsm7", 2),
        ("159 + one extension char = 161", "a" * 159 + "[", "gsm7", 2),
        # 306 septets = 2 x 153, but 152 + an escape pair does not fit 153.
        ("escape pair not split", "a" * 152 + "€" + "a" * 152, "gsm7", 3),
        ("newline is one septet", "a\n" * 80, "gsm7", 1),
        ("UCS-2 70", "ж" * 70, "ucs2", 1),
        ("UCS-2 71", "ж" * 71, "ucs2", 2),
        ("UCS-2 134 = 2 x 67", "ж" * 134, "ucs2", 2),
        ("UCS-2 135", "ж" * 135, "ucs2", 3),
        ("one accent outside GSM-7", "a" * 69 + "ç", "ucs2", 1),
        ("35 emoji = 70 units", EMOJI * 35, "ucs2", 1),
        ("36 emoji = 72 units", EMOJI * 36, "ucs2", 2),
        # 134 units = 2 x 67, but 66 + a surrogate pair does not fit 67: it
        # moves to the second part and the last unit needs a third one.
        ("surrogate pair not split", "ж" * 66 + EMOJI + "ж" * 66, "ucs2", 3),
        ("surrogate pair fits exactly", "ж" * 66 + EMOJI + "ж" * 65, "ucs2", 2),
    ]

    def test_parts_and_encoding_on_records(self):
        sms = self.env["sms.sms"].create(
            [
                {"number": "+33612345678", "body": body, "state": "canceled"}
                for _label, body, _encoding, _parts in self.CASES
            ]
        )
        sms.flush_recordset()
        sms.invalidate_recordset()
        for record, (label, _body, encoding, parts) in zip(
            sms, self.CASES, strict=True
        ):
            with self.subTest(label):
                self.assertEqual((record.encoding, record.parts), (encoding, parts))

    def test_parts_follow_the_text(self):
        sms = self.env["sms.sms"].create(
            {"number": "+33612345678", "body": "a" * 160, "state": "canceled"}
        )
        self.assertEqual((sms.encoding, sms.parts), ("gsm7", 1))
        sms.body = "a" * 160 + "€"
        self.assertEqual((sms.encoding, sms.parts), ("gsm7", 2))
        sms.body = "Привет"
        self.assertEqual((sms.encoding, sms.parts), ("ucs2", 1))
        # Stored: searchable and groupable in the Messages views.
        self.assertIn(sms, self.env["sms.sms"].search([("encoding", "=", "ucs2")]))
