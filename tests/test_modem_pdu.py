"""SMS PDUs of the modem provider (sms_provider_modem/tools/pdu.py, no database).

Vectors come from 3GPP TS 23.040 / 23.038 and the classic worked examples;
the other checks cross our encoder with the fake modem's decoder and our
decoder with the fake modem's encoder, which are written apart.
"""

import datetime

import pytest

from odoo.addons.sms_provider_modem.tests import fake_modem
from odoo.addons.sms_provider_modem.tools import pdu
from odoo.addons.sms_provider_modem.tools.pdu import (
    PduError,
    Reassembler,
    decode_pdu,
    encode_address,
    encode_submit,
    pack_septets,
    relative_validity,
    unpack_septets,
)

UTC = datetime.datetime


def submit(number, text, **kwargs):
    """Our PDUs for ``text``, each decoded by the fake modem."""
    return [
        fake_modem.decode_submit(part.pdu, part.length)
        for part in encode_submit(number, text, **kwargs)
    ]


# -- septet packing --------------------------------------------------------------
def test_hellohello_packs_to_the_textbook_octets():
    septets = [ord(c) for c in "hellohello"]
    assert pack_septets(septets).hex().upper() == "E8329BFD4697D9EC37"
    assert unpack_septets(bytes.fromhex("E8329BFD4697D9EC37"), 10) == septets


def test_eight_septets_fill_seven_octets_exactly():
    septets = [0x31 + i for i in range(8)]  # "12345678"
    packed = pack_septets(septets)
    assert packed.hex().upper() == "31D98C56B3DD70"
    assert len(packed) == 7
    assert unpack_septets(packed, 8) == septets


def test_fill_bits_shift_the_text_to_a_septet_boundary():
    # 1 fill bit after the 8-bit concatenation header (UDHL 5), none after the
    # 16-bit one (UDHL 6)
    assert pdu.fill_bits_after_header(5) == 1
    assert pdu.fill_bits_after_header(6) == 0
    assert pack_septets([0x68], fill_bits=1) == bytes([0xD0])
    assert unpack_septets(bytes([0xD0]), 1, fill_bits=1) == [0x68]


def test_unpack_refuses_more_septets_than_the_data_holds():
    with pytest.raises(PduError):
        unpack_septets(b"\x41", 2)


# -- SMS-SUBMIT ------------------------------------------------------------------
def test_submit_matches_the_classic_example_byte_for_byte():
    # "hellohello" to +46708251358, validity 4 days (VP 0xAA), default SMSC
    (part,) = encode_submit("+46708251358", "hellohello", validity_minutes=4 * 1440)
    assert part.pdu == "0011000B916407281553F80000AA0AE8329BFD4697D9EC37"
    assert part.length == 23
    assert tuple(part) == (part.pdu, 23)


def test_submit_plain_first_octet_and_fields():
    (part,) = encode_submit("+79251234567", "Hi")
    # SMSC 00, first octet 01, MR 00, DA 0B 91 ..., PID 00, DCS 00, UDL 02
    assert part.pdu == "0001000B919752214365F7000002C834"
    decoded = fake_modem.decode_submit(part.pdu, part.length)
    assert decoded.first_octet == 0x01
    assert decoded.type_of_address == 0x91
    assert decoded.number == "+79251234567"
    assert decoded.text == "Hi"


def test_submit_requests_a_status_report_when_asked():
    (with_report,) = submit("+33612345678", "ok", status_report=True)
    (without,) = submit("+33612345678", "ok")
    assert with_report.first_octet == 0x21
    assert with_report.status_report
    assert without.first_octet == 0x01
    assert not without.status_report


def test_submit_with_an_explicit_smsc():
    (part,) = encode_submit("+33612345678", "ok", smsc="+33609001390")
    assert part.pdu.startswith("07913306091093F0")
    decoded = fake_modem.decode_submit(part.pdu, part.length)
    assert decoded.smsc == "07913306091093F0"
    assert decoded.tpdu_length == part.length  # the SMSC is not counted


def test_gsm7_extension_characters_are_escaped():
    (part,) = submit("+33612345678", "{a}[b]~|^\\€")
    assert part.encoding == "GSM-7"
    assert part.dcs == 0x00
    assert part.text == "{a}[b]~|^\\€"
    assert part.septets == [
        0x1B, 0x28, 0x61, 0x1B, 0x29,
        0x1B, 0x3C, 0x62, 0x1B, 0x3E,
        0x1B, 0x3D, 0x1B, 0x40, 0x1B, 0x14, 0x1B, 0x2F, 0x1B, 0x65,
    ]  # fmt: skip


def test_section_sign_is_gsm7_and_backtick_is_not():
    # python-gsmmodem swaps these two
    (section,) = submit("+33612345678", "§¿@")
    assert section.encoding == "GSM-7"
    assert section.septets == [0x5F, 0x60, 0x00]
    (backtick,) = submit("+33612345678", "`ls`")
    assert backtick.encoding == "UCS-2"
    assert backtick.dcs == 0x08
    assert backtick.text == "`ls`"


def test_gsm7_special_characters_round_trip_through_the_fake_modem():
    text = "Über? Nö: £5 ¥7 $ ΔΦΓΛΩΠΨΣΘΞ ÆæßÉ ¤ ¡¿ ÄÖÑÜ§ äöñüà èéùìòÇØøÅå_\n@"
    (part,) = submit("+33612345678", text)
    assert part.encoding == "GSM-7"
    assert part.text == text


def test_two_gsm7_parts_with_concatenation_header():
    text = "h" + "x" * 159 + "end"
    parts = submit("+33612345678", text, reference=0xCC)
    assert [p.concat for p in parts] == [(0xCC, 2, 1), (0xCC, 2, 2)]
    assert [len(p.septets) for p in parts] == [153, 10]
    assert all(p.first_octet == 0x41 for p in parts)
    assert "".join(p.text for p in parts) == text
    first = bytes.fromhex(parts[0].pdu)
    ud = first[first.index(bytes.fromhex("050003CC0201")) :]
    # UDL 160 septets = 7 (header + 1 fill bit) + 153, 'h' << 1 = 0xD0
    assert first[first.index(ud) - 1] == 160
    assert ud[6] == 0xD0


def test_escape_pairs_are_never_split_across_parts():
    text = "a" * 152 + "€" + "b" * 10  # 164 septets: two parts
    parts = submit("+33612345678", text, reference=1)
    assert [p.text for p in parts] == ["a" * 152, "€" + "b" * 10]
    assert parts[1].septets[:2] == [0x1B, 0x65]


def test_three_part_cyrillic_ucs2():
    text = ("Съешь же ещё этих мягких французских булок, да выпей чаю. " * 3)[:150]
    parts = submit("+79251234567", text, reference=200)
    assert len(parts) == 3
    assert {p.encoding for p in parts} == {"UCS-2"}
    assert [p.concat for p in parts] == [(200, 3, 1), (200, 3, 2), (200, 3, 3)]
    assert [p.udh.hex() for p in parts] == [
        "050003c80301",
        "050003c80302",
        "050003c80303",
    ]
    assert [len(p.text) for p in parts] == [67, 67, 16]
    assert "".join(p.text for p in parts) == text
    # UDL counts octets: 6 header octets + 2 x 67
    assert bytes.fromhex(parts[0].pdu)[1 + 12] == 140


def test_emoji_surrogate_pairs_stay_whole():
    text = "ж" * 66 + "👍" + "ж" * 10 + "🎉"
    parts = submit("+79251234567", text, reference=3)
    # the fake decodes each part strictly: half a surrogate pair would raise
    assert [p.text for p in parts] == ["ж" * 66, "👍" + "ж" * 10 + "🎉"]
    single = submit("+79251234567", "OK 👍")
    assert single[0].text == "OK 👍"
    assert single[0].encoding == "UCS-2"


def test_random_reference_when_none_is_given():
    parts = encode_submit("+33612345678", "y" * 400)
    assert len({p.reference for p in parts}) == 1
    assert [p.seq for p in parts] == [1, 2, 3]


def test_submit_refuses_bad_input():
    with pytest.raises(PduError):
        encode_submit("+33 6 12 AB", "x")
    with pytest.raises(PduError):
        encode_submit("+33612345678", "")
    assert encode_address("12345") == "05812143F5"  # national: type 0x81


def test_relative_validity_boundaries():
    assert relative_validity(1) == 0  # 5 minutes minimum
    assert relative_validity(60) == 11  # (11 + 1) x 5 min
    assert relative_validity(721) == 144  # 12 h + 30 min
    assert relative_validity(2 * 1440) == 168
    assert relative_validity(30 * 1440) == 196
    assert relative_validity(31 * 1440) == 197  # 5 weeks
    assert relative_validity(10**7) == 255


# -- SMS-DELIVER -----------------------------------------------------------------
def test_deliver_classic_example():
    sms = decode_pdu(
        "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37"
    )
    assert sms.smsc == "+27381000015"
    assert sms.sender == "27838890001"
    assert sms.text == "hellohello"
    assert sms.encoding == "GSM-7"
    # 99-03-29 15:16:59 at GMT+2 (8 quarters of an hour)
    assert sms.timestamp == UTC(1999, 3, 29, 13, 16, 59)
    assert sms.concat is None


def test_deliver_gsm7_with_international_sender_and_negative_zone():
    hex_pdu, _length = fake_modem.build_deliver(
        "+15551234567",
        "Price: 10€ {ok}",
        utc=UTC(2024, 1, 31, 23, 50, 5),
        tz_quarters=-20,  # UTC-5
    )
    sms = decode_pdu(hex_pdu)
    assert sms.sender == "+15551234567"
    assert sms.text == "Price: 10€ {ok}"
    assert sms.timestamp == UTC(2024, 1, 31, 23, 50, 5)


def test_deliver_ucs2():
    hex_pdu, _length = fake_modem.build_deliver("+79251234567", "Стоп 👍")
    sms = decode_pdu(hex_pdu)
    assert sms.encoding == "UCS-2"
    assert sms.text == "Стоп 👍"


def test_deliver_from_an_alphanumeric_sender():
    hex_pdu, _length = fake_modem.build_deliver("MyBank", "Code 1234")
    sms = decode_pdu(hex_pdu)
    assert sms.sender == "MyBank"
    assert sms.text == "Code 1234"
    odd, _length = fake_modem.build_deliver("Telecom", "x")  # 7 septets
    assert decode_pdu(odd).sender == "Telecom"


@pytest.mark.parametrize("ref16", [False, True])
@pytest.mark.parametrize("ucs2", [False, True])
def test_deliver_concatenated_parts(ref16, ucs2):
    ref = 0x1234 if ref16 else 0x42
    hex_pdu, _length = fake_modem.build_deliver(
        "+33612345678", "part two", ucs2=ucs2, concat=(ref, 3, 2), ref16=ref16
    )
    sms = decode_pdu(hex_pdu)
    assert sms.concat == (ref, 3, 2)
    assert sms.text == "part two"
    assert sms.is_part


def test_deliver_8bit_data():
    # DCS 0x04: 8-bit data, "ABC"
    raw = "00" + "04" + "0B913316325476F8" + "0004" + "42507190030000" + "03414243"
    sms = decode_pdu(raw)
    assert sms.encoding == "8-bit"
    assert sms.data == b"ABC"


def test_dcs_alphabets():
    assert pdu.dcs_alphabet(0x00) == "GSM-7"
    assert pdu.dcs_alphabet(0x08) == "UCS-2"
    assert pdu.dcs_alphabet(0x04) == "8-bit"
    assert pdu.dcs_alphabet(0x18) == "UCS-2"  # class 0 UCS-2
    assert pdu.dcs_alphabet(0xF0) == "GSM-7"
    assert pdu.dcs_alphabet(0xF4) == "8-bit"
    assert pdu.dcs_alphabet(0xE0) == "UCS-2"
    with pytest.raises(PduError):
        pdu.dcs_alphabet(0x20)  # compressed


def test_truncated_or_foreign_pdus_are_refused():
    with pytest.raises(PduError):
        decode_pdu("07917283010010F5040BC872")
    with pytest.raises(PduError):
        decode_pdu("not hex")
    with pytest.raises(PduError):  # an SMS-SUBMIT-REPORT
        decode_pdu("0001000000")


# -- SMS-STATUS-REPORT -----------------------------------------------------------
@pytest.mark.parametrize(
    "status, outcome, failure_type",
    [
        (0x00, "delivered", None),
        (0x01, "delivered", None),
        (0x21, "pending", None),
        (0x30, "pending", None),
        (0x41, "failed", "sms_invalid_destination"),
        (0x46, "failed", "sms_expired"),
        (0x62, "failed", "sms_not_delivered"),
        (0xA0, "failed", "sms_not_delivered"),
    ],
)
def test_status_report(status, outcome, failure_type):
    hex_pdu, _length = fake_modem.build_status_report(
        201, "+33612345678", status, utc=UTC(2024, 5, 17, 9, 30, 0)
    )
    report = decode_pdu(hex_pdu)
    assert isinstance(report, pdu.StatusReport)
    assert report.reference == 201
    assert report.recipient == "+33612345678"
    assert report.status == status
    assert report.outcome == outcome
    assert report.failure_type == failure_type
    assert report.submitted_at == UTC(2024, 5, 17, 9, 30, 0)
    assert report.discharged_at == UTC(2024, 5, 17, 9, 30, 7)
    assert report.message


# -- reassembly --------------------------------------------------------------------
def _part(sender, text, concat, utc=None):
    hex_pdu, _length = fake_modem.build_deliver(sender, text, concat=concat, utc=utc)
    return decode_pdu(hex_pdu)


def test_reassembler_joins_parts_in_sequence_order():
    joiner = Reassembler()
    joiner.add(_part("+331", "c", (5, 3, 3)), 12)
    joiner.add(_part("+331", "a", (5, 3, 1)), 10)
    assert joiner.pop_complete() == []
    joiner.add(_part("+331", "single", None), 20)
    joiner.add(_part("+331", "b", (5, 3, 2)), 11)
    done = joiner.pop_complete()
    assert [(m.text, m.keys) for m in done] == [("single", [20]), ("abc", [10, 11, 12])]
    assert all(m.complete for m in done)
    assert joiner.pending == 0


def test_reassembler_keeps_senders_and_references_apart():
    joiner = Reassembler()
    joiner.add(_part("+331", "x1", (1, 2, 1)), 1)
    joiner.add(_part("+332", "y1", (1, 2, 1)), 2)
    joiner.add(_part("+331", "z1", (2, 2, 1)), 3)
    joiner.add(_part("+332", "y2", (1, 2, 2)), 4)
    joiner.add(_part("+331", "x2", (1, 2, 2)), 5)
    texts = sorted(m.text for m in joiner.pop_complete())
    assert texts == ["x1x2", "y1y2"]
    assert joiner.pending == 1


def test_reassembler_keeps_one_copy_of_a_duplicate_part_and_both_keys():
    joiner = Reassembler()
    joiner.add(_part("+331", "a", (9, 2, 1)), 1)
    joiner.add(_part("+331", "a", (9, 2, 1)), 2)
    joiner.add(_part("+331", "b", (9, 2, 2)), 3)
    (message,) = joiner.pop_complete()
    assert message.text == "ab"
    assert sorted(message.keys) == [1, 2, 3]


def test_reassembler_gives_up_on_stale_messages():
    joiner = Reassembler()
    old = UTC(2024, 1, 1, 8, 0, 0)
    joiner.add(_part("+331", "first ", (4, 3, 1), utc=old), 1)
    joiner.add(_part("+331", " last", (4, 3, 3), utc=old), 3)
    assert joiner.pop_stale(UTC(2024, 1, 1, 7, 0, 0)) == []
    (message,) = joiner.pop_stale(UTC(2024, 1, 2, 8, 0, 0))
    assert message.text == "first [...] last"
    assert not message.complete
    assert message.keys == [1, 3]
