"""The SMPP client against the local SMSC (no database): windows, faults,
receipts and MO on the bind, availability; and the codec with hostile input."""

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.sms_mailing.tools import dispatch, segments
from odoo.addons.sms_mailing.tools.provider import (
    ACCEPTED,
    FAILURE_IN_DOUBT,
    PERMANENT,
    TRANSIENT,
    OutgoingMessage,
    ProviderError,
)
from odoo.addons.sms_provider_smpp.tests.local_smsc import LocalSmsc
from odoo.addons.sms_provider_smpp.tools import smpp as codec
from odoo.addons.sms_provider_smpp.tools.smpp_client import SmppClient


@pytest.fixture
def smsc():
    with LocalSmsc(system_id="odoo", password="pw") as server:
        yield server


def client_for(smsc, **config):
    values = {
        "host": smsc.host,
        "port": smsc.port,
        "system_id": "odoo",
        "password": "pw",
        "sender": "MyShop",
        "timeout": 1.0,
        "window": 10,
    }
    values.update(config)
    return SmppClient(values)


def messages(count, body="Hello"):
    return [OutgoingMessage(f"k{i}", f"+3360000{i:04d}", body) for i in range(count)]


def test_window_and_latency_give_the_expected_throughput(smsc):
    smsc.submit_latency = 0.05
    client = client_for(smsc, window=10)
    started = time.monotonic()
    results = client.send(messages(100))
    elapsed = time.monotonic() - started
    assert {r.status for r in results} == {ACCEPTED}
    assert len({r.provider_message_id for r in results}) == 100
    # 100 messages, 10 at a time, 50 ms each: 0.5 s, far from 100 x 50 ms
    assert elapsed < 2.0
    assert len(smsc.accepted()) == 100


def test_each_message_is_handed_over_just_before_its_first_submit(smsc):
    """Only what may be on the wire is handed over: each message once, just
    before its first submit_sm (never more than the window ahead of what the
    SMSC has), its later parts without a new hand-over."""
    smsc.submit_latency = 0.02
    client = client_for(smsc, window=3)
    batch = messages(9) + [OutgoingMessage("long", "+33600009999", "x" * 200)]
    marks = []

    def mark(keys):
        # Everything handed over before is on the wire: the SMSC gets it.
        before = sum(len(k) for k, _seen in marks)
        smsc.wait_for(lambda: len(smsc.submits) >= before)
        marks.append((keys, len(smsc.submits)))

    answers, error = dispatch.request(client, batch, dispatch.HandOver(mark))
    assert error is None
    assert {a.status for a in answers.values()} == {ACCEPTED}
    keys = [key for k, _seen in marks for key in k]
    assert sorted(keys) == sorted(m.key for m in batch)  # each once
    assert max(len(k) for k, _seen in marks) <= 3  # the window
    assert len(marks) > 3  # as the window frees, not all at once
    destinations = {m.key: m.number.lstrip("+") for m in batch}
    for handed, seen in marks:
        # at its hand-over, no part of a message had reached the SMSC
        before = {submit.destination_addr for submit in smsc.submits[:seen]}
        assert not {destinations[key] for key in handed} & before
    assert len(smsc.submits) == 11  # the long one in 2 parts


def test_a_failed_hand_over_submits_nothing_of_those_messages(smsc):
    client = client_for(smsc, window=2)

    def refuse(keys):
        raise ProviderError("database gone", transient=True)

    answers, error = dispatch.request(client, messages(3), dispatch.HandOver(refuse))
    assert error is None
    assert {a.status for a in answers.values()} == {TRANSIENT}
    assert "database gone" in answers["k0"].error
    assert smsc.submits == []


def test_rate_limit_spaces_the_submits(smsc):
    client = client_for(smsc, rate_limit=20)
    client.send(messages(5))
    arrivals = [s.received_at for s in smsc.submits]
    assert arrivals[-1] - arrivals[0] >= 4 / 20 - 0.02


def test_throttled_past_the_budget_waits_for_the_next_attempt(smsc):
    smsc.fail_next_submits(*["throttled"] * 50)
    client = client_for(smsc, throttle_budget=0.3, window=1)
    results = {r.key: r for r in client.send(messages(3))}
    assert {r.status for r in results.values()} == {TRANSIENT}
    assert "kept refusing" in results["k0"].error
    assert not smsc.accepted()


def test_receipts_and_mo_arrive_on_the_transceiver_bind(smsc):
    smsc.submit_latency = 0.05
    smsc.receipt_delay = 0.0
    smsc.send_mo("+33612345678", "Oui")
    client = client_for(smsc)
    results = client.send(messages(3))
    updates = client.status_updates()
    assert {u.provider_message_id for u in updates} <= {
        r.provider_message_id for r in results
    }
    assert [(m.number, m.body) for m in client.inbound] == [("+33612345678", "Oui")]


def test_bind_refused_raises_a_transient_provider_error(smsc):
    client = client_for(smsc, password="bad")
    with pytest.raises(ProviderError) as caught:
        client.send(messages(1))
    assert caught.value.transient
    assert "refused the password of odoo" in caught.value.message
    assert client.bind_error == caught.value.message


def test_silence_after_bind_is_in_doubt(smsc):
    smsc.fail_next_submits("silence")
    client = client_for(smsc, timeout=0.3, window=1)
    results = {r.key: r for r in client.send(messages(2))}
    assert results["k0"].status == PERMANENT
    assert results["k0"].failure_type == FAILURE_IN_DOUBT
    assert results["k1"].status == TRANSIENT  # never submitted


def test_fetch_inbound_binds_as_receiver_and_reassembles(smsc):
    text = "Ответ: да, пожалуйста, позвоните мне завтра после обеда. " * 2
    smsc.send_mo("+79251234567", text, reverse=True)
    smsc.send_receipt("A0001", "EXPIRED")
    client = client_for(smsc, drain_idle=0.3)
    inbound = client.fetch_inbound()
    assert [(m.number, m.body) for m in inbound] == [("+79251234567", text)]
    [update] = client.status_updates()
    assert (update.provider_message_id, update.failure_type) == ("A0001", "sms_expired")
    assert smsc.binds[-1].command == "bind_receiver"
    assert smsc.pending_deliveries() == 0


def test_availability(smsc):
    result = client_for(smsc).check_availability()
    assert result.available
    assert result.details["enquire_link_ms"] >= 0
    smsc.stop()
    result = client_for(smsc).check_availability()
    assert not result.available
    assert result.message == (
        f"The SMSC {smsc.host}:{smsc.port} refused the connection: check the "
        "host and the port on the provider, and that the SMSC is running. "
        "Trying again later."
    )


def test_an_unknown_host_is_named_without_the_systems_text():
    # ".invalid" never resolves (RFC 2606): a DNS failure, without network.
    result = SmppClient(
        {"host": "smsc.invalid", "port": 2775, "system_id": "odoo", "timeout": 1}
    ).check_availability()
    assert not result.available
    assert result.message == (
        "The SMSC's host smsc.invalid is unknown: check its name on the provider "
        "(or the server's DNS). Trying again later."
    )


@given(st.text(max_size=400))
def test_parts_are_the_cores_and_decode_back(body):
    coding, payloads = codec.encode_message(body, 42)
    info = segments.analyze(body)
    assert len(payloads) == info.parts
    assert coding == (0 if info.encoding == segments.GSM7 else 8)
    texts = []
    for payload in payloads:
        concat, data = codec.split_udh(payload, 0x40 if len(payloads) > 1 else 0)
        assert len(data) <= 140
        texts.append(codec.decode_payload(data, coding))
    assert "".join(texts) == body


@given(st.binary(max_size=200), st.integers(0, 255))
def test_hostile_deliver_sm_bodies_never_crash(data, esm_class):
    codec.parse_receipt(esm_class, data)
    concat, payload = codec.split_udh(data, esm_class)
    if concat:
        assert 1 <= concat[2] <= concat[1]
    for coding in (0, 3, 8, 4):
        assert isinstance(codec.decode_payload(payload, coding), str)
