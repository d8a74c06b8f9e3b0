"""Property tests of the PDU decoder (sms_provider_modem/tools/pdu.py).

Any input gets a :class:`Deliver`, a :class:`StatusReport` or a
:class:`PduError`, nothing else; PDUs built by the fake modem's independent
encoder decode to what was put in; parts of concatenated messages join again
whatever their order and repetitions.
"""

import datetime

from hypothesis import example, given
from hypothesis import strategies as st

from odoo.addons.sms_provider_modem.tests.fake_modem import (
    GSM_ENCODE,
    GSM_EXT_ENCODE,
    build_deliver,
    build_status_report,
    decode_submit,
)
from odoo.addons.sms_provider_modem.tools import pdu

GSM_CHARS = sorted(set(GSM_ENCODE) | set(GSM_EXT_ENCODE))
gsm_text = st.text(alphabet=GSM_CHARS, min_size=1, max_size=160)
# UCS-2 texts: any character but lone surrogates, within 70 UTF-16 units
ucs2_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30
)
numbers = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
instants = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2089, 12, 31)
).map(lambda d: d.replace(microsecond=0))


def _decodes_or_pdu_error(text, with_smsc=True):
    try:
        result = pdu.decode_pdu(text, with_smsc=with_smsc)
    except pdu.PduError:
        return None
    assert isinstance(result, pdu.Deliver | pdu.StatusReport)
    if isinstance(result, pdu.Deliver):
        assert isinstance(result.text, str)
        assert isinstance(result.sender, str)
        if result.concat:
            ref, total, seq = result.concat
            assert 1 <= seq <= total
    else:
        assert 0 <= result.reference <= 255
        assert result.outcome in (
            pdu.REPORT_DELIVERED,
            pdu.REPORT_PENDING,
            pdu.REPORT_FAILED,
        )
    return result


@given(st.binary(max_size=200), st.booleans())
@example(b"\x00\x04", True)
@example(b"\x00\x44\x00\x91\x00\x00" + b"\x00" * 7 + b"\xa0\x05", True)
# a UDH whose length octet points past the user data
@example(bytes.fromhex("0004000000000000000000000000FF0701"), True)
# an alphanumeric sender (TON 5) with an odd digit count
@example(bytes.fromhex("000403D041000000000000000000000000"), True)
# a status report with a reserved status value
@example(bytes.fromhex("00060700810000000000000000000000000000000000000000FF"), True)
def test_any_bytes_decode_or_raise_pdu_error(data, with_smsc):
    _decodes_or_pdu_error(data.hex(), with_smsc)


@given(st.text(max_size=80))
@example("0G")
@example("\u0660\u0661")  # Arabic-Indic digits are not hex
@example("0 0")
def test_any_text_decodes_or_raises_pdu_error(text):
    _decodes_or_pdu_error(text)


@given(
    sender=numbers,
    text=st.one_of(gsm_text, ucs2_text),
    utc=instants,
    tz=st.integers(min_value=-48, max_value=56),
)
@example(sender="+79251234567", text="@", utc=datetime.datetime(2024, 1, 1), tz=0)
@example(sender="+79251234567", text="€" * 80, utc=datetime.datetime(2024, 1, 1), tz=0)
def test_deliver_round_trip(sender, text, utc, tz):
    hex_pdu, _length = build_deliver(sender, text, utc=utc, tz_quarters=tz)
    sms = pdu.decode_pdu(hex_pdu)
    assert isinstance(sms, pdu.Deliver)
    assert sms.sender == sender
    assert sms.text == text
    assert sms.timestamp == utc
    assert sms.concat is None


@given(
    sender=st.one_of(
        numbers, st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,10}", fullmatch=True)
    ),
    text=st.text(alphabet=GSM_CHARS, min_size=1, max_size=150),
    ref=st.integers(0, 255),
    ref16=st.booleans(),
    total=st.integers(1, 255),
    data=st.data(),
)
def test_concatenated_part_round_trip(sender, text, ref, ref16, total, data):
    seq = data.draw(st.integers(1, total))
    if ref16:
        ref = data.draw(st.integers(0, 0xFFFF))
    hex_pdu, _length = build_deliver(
        sender, text, concat=(ref, total, seq), ref16=ref16
    )
    sms = pdu.decode_pdu(hex_pdu)
    assert sms.text == text
    assert sms.sender == sender.rstrip("@")
    assert sms.concat == (ref, total, seq)


@given(
    mr=st.integers(0, 255),
    recipient=numbers,
    status=st.integers(0, 255),
    utc=instants,
)
def test_status_report_round_trip(mr, recipient, status, utc):
    hex_pdu, _length = build_status_report(mr, recipient, status, utc=utc)
    report = pdu.decode_pdu(hex_pdu)
    assert isinstance(report, pdu.StatusReport)
    assert (report.reference, report.recipient, report.status) == (
        mr,
        recipient,
        status,
    )
    assert report.submitted_at == utc
    expected = (
        pdu.REPORT_DELIVERED
        if status < 0x20
        else pdu.REPORT_PENDING
        if status < 0x40
        else pdu.REPORT_FAILED
    )
    assert report.outcome == expected
    assert report.message


@given(
    sender=numbers,
    pieces=st.lists(
        st.one_of(gsm_text.map(lambda t: t[:150]), ucs2_text), min_size=1, max_size=6
    ),
    ref=st.integers(0, 255),
    data=st.data(),
)
def test_reassembler_joins_parts_in_any_order_with_repeats(sender, pieces, ref, data):
    total = len(pieces)
    order = data.draw(st.permutations(range(1, total + 1)))
    repeats = data.draw(st.lists(st.sampled_from(range(1, total + 1)), max_size=3))
    reassembler = pdu.Reassembler()
    keys = []
    for key, seq in enumerate([*order, *repeats]):
        hex_pdu, _length = build_deliver(
            sender, pieces[seq - 1], concat=(ref, total, seq) if total > 1 else None
        )
        reassembler.add(pdu.decode_pdu(hex_pdu), key)
        keys.append(key)
    done = reassembler.pop_complete()
    if total == 1:
        # a single message read again is another message for the reassembler
        assert [m.text for m in done] == [pieces[0]] * (1 + len(repeats))
        return
    assert len(done) == 1
    assert done[0].text == "".join(pieces)
    assert done[0].complete
    assert sorted(done[0].keys) == keys  # every copy is returned, to be deleted
    assert reassembler.pending == 0


@given(
    number=numbers,
    text=st.one_of(
        st.text(alphabet=GSM_CHARS, min_size=1, max_size=700),
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",)),
            min_size=1,
            max_size=300,
        ),
    ),
    status_report=st.booleans(),
    validity=st.one_of(st.none(), st.integers(1, 100000)),
)
@example(
    number="+79251234567",
    text="a" * 152 + "€" + "b",
    status_report=False,
    validity=None,
)
@example(
    number="+79251234567", text="ж" * 66 + "👍" + "ж", status_report=True, validity=5
)
def test_submit_decoded_by_an_independent_decoder(
    number, text, status_report, validity
):
    """Every SMS-SUBMIT we build is read back by the fake modem's decoder, which
    shares no code with ours, as the same number and text."""
    try:
        parts = pdu.encode_submit(
            number, text, status_report=status_report, validity_minutes=validity
        )
    except pdu.PduError:
        assert len(text) > 255 * 67 // 2  # only "more than 255 parts" may refuse
        return
    decoded = [decode_submit(part.pdu, part.length) for part in parts]
    assert "".join(d.text for d in decoded) == text
    assert {d.number for d in decoded} == {number}
    assert all(
        d.tpdu_length == part.length for d, part in zip(decoded, parts, strict=True)
    )
    if len(parts) > 1:
        assert [d.concat[2] for d in decoded] == list(range(1, len(parts) + 1))
        assert {d.concat[1] for d in decoded} == {len(parts)}
