"""The modem provider client against the fake modem
(sms_provider_modem/tools/modem_client.py, no database)."""

import datetime
import threading

import pytest

from odoo.addons.sms_mailing.tools import provider as api
from odoo.addons.sms_provider_modem.tests.fake_modem import FakeModem
from odoo.addons.sms_provider_modem.tools.modem_client import (
    ModemClient,
    ModemInboundMessage,
    ModemStatusUpdate,
    match_reports,
    parse_amount,
)

UTC = datetime.datetime
CYRILLIC = ("Съешь же ещё этих мягких французских булок, да выпей чаю. " * 3)[:150]


@pytest.fixture
def fake():
    with FakeModem() as fake:
        yield fake


def make_client(fake, **config):
    values = {"port": fake.port, "timeout": 2, "max_parts": 8}
    values.update(config)
    return ModemClient(values)


def send(client, *bodies, number="+33612345678"):
    messages = [
        api.OutgoingMessage(f"key{i}", number, body) for i, body in enumerate(bodies)
    ]
    results = client.send(messages)
    assert [r.key for r in results] == [m.key for m in messages]
    return results


# -- sending -------------------------------------------------------------------------
def test_gsm7_text_with_extension_characters(fake):
    client = make_client(fake)
    (result,) = send(client, "Total: 15€ [promo] {A|B} ~ok^ \\o/")
    assert result.status == api.ACCEPTED
    assert result.provider_message_id == "0"
    assert result.parts == 1
    (submit,) = fake.sent
    assert submit.number == "+33612345678"
    assert submit.type_of_address == 0x91
    assert submit.encoding == "GSM-7"
    assert submit.text == "Total: 15€ [promo] {A|B} ~ok^ \\o/"
    assert submit.septets[9:11] == [0x1B, 0x65]  # € after "Total: 15"
    assert submit.udh == b""
    client.close()


def test_three_part_cyrillic_message(fake):
    fake.next_mr = 10
    client = make_client(fake)
    (result,) = send(client, CYRILLIC, number="+79251234567")
    assert result.status == api.ACCEPTED
    assert result.parts == 3
    assert result.provider_message_id == "10,11,12"
    (message,) = fake.messages()
    assert message.number == "+79251234567"
    assert message.text == CYRILLIC
    assert message.encoding == "UCS-2"
    assert message.mrs == [10, 11, 12]
    refs = {p.concat[0] for p in message.parts}
    assert len(refs) == 1
    assert [p.concat[1:] for p in message.parts] == [(3, 1), (3, 2), (3, 3)]
    assert [len(p.text.encode("utf-16-be")) // 2 for p in message.parts] == [67, 67, 16]
    client.close()


def test_consecutive_long_messages_use_different_references(fake):
    client = make_client(fake)
    send(client, "a" * 200, "b" * 200)
    first, second = fake.messages()
    assert first.parts[0].concat[0] != second.parts[0].concat[0]
    assert (first.text, second.text) == ("a" * 200, "b" * 200)


def test_emoji_are_sent_whole(fake):
    client = make_client(fake)
    text = "Merci 🙏 " + "ж" * 58 + "🎉🎉 bientôt"
    (result,) = send(client, text)
    assert result.status == api.ACCEPTED
    (message,) = fake.messages()
    assert message.text == text  # each part decoded strictly by the fake
    assert len(message.parts) == 2
    assert message.parts[0].text.endswith("ж")  # the pair moved to part two
    assert message.parts[1].text.startswith("🎉🎉")


def test_section_sign_and_backtick(fake):
    client = make_client(fake)
    send(client, "§ 12", "run `make`")
    section, backtick = fake.sent
    assert (section.encoding, section.septets[0]) == ("GSM-7", 0x5F)
    assert (backtick.encoding, backtick.text) == ("UCS-2", "run `make`")


def test_delivery_reports_and_smsc_configuration(fake):
    client = make_client(fake, delivery_reports=True, smsc="+33609001390")
    send(client, "with report")
    (submit,) = fake.sent
    assert submit.status_report
    assert submit.smsc == "07913306091093F0"
    assert 'AT+CSCA="+33609001390",145' in fake.commands
    plain = make_client(fake)
    send(plain, "without")
    assert not fake.sent[1].status_report
    assert fake.sent[1].smsc == "00"


def test_message_longer_than_max_parts_is_refused(fake):
    client = make_client(fake, max_parts=2)
    (result,) = send(client, "x" * 400)
    assert result.status == api.PERMANENT
    assert "3 parts" in result.error
    assert fake.sent == []


def test_invalid_number_is_permanent(fake):
    client = make_client(fake)
    (bad, good) = client.send(
        [
            api.OutgoingMessage("bad", "+33 6 XX", "hello"),
            api.OutgoingMessage("good", "+33612345678", "hello"),
        ]
    )
    assert (bad.status, bad.failure_type) == (api.PERMANENT, "sms_number_format")
    assert good.status == api.ACCEPTED
    assert [s.number for s in fake.sent] == ["+33612345678"]


# -- errors -------------------------------------------------------------------------
def test_permanent_error_fails_only_its_message(fake):
    fake.send_errors = [1]  # unassigned number
    client = make_client(fake)
    first, second = send(client, "one", "two")
    assert first.status == api.PERMANENT
    assert first.failure_type == "sms_number_format"
    assert "Unassigned (unallocated) number" in first.error
    assert second.status == api.ACCEPTED
    assert [s.text for s in fake.sent] == ["two"]


def test_network_error_is_transient_and_stops_the_batch(fake):
    fake.send_errors = [331]  # no network service
    client = make_client(fake)
    results = send(client, "one", "two", "three")
    assert [r.status for r in results] == [api.TRANSIENT] * 3
    assert all("No network service" in r.error for r in results)
    assert all(r.failure_type == "sms_server" for r in results)
    # the two others were not even tried
    assert sum(c.startswith("AT+CMGS") for c in fake.commands) == 1


def test_congestion_is_transient_for_one_message(fake):
    fake.send_errors = [42]
    client = make_client(fake)
    first, second = send(client, "one", "two")
    assert first.status == api.TRANSIENT
    assert second.status == api.ACCEPTED


def test_failure_after_the_first_part_is_not_retried(fake):
    fake.send_errors = [None, 42]  # the first part goes, the second is refused
    client = make_client(fake)
    (result,) = send(client, "z" * 300)
    assert result.status == api.PERMANENT
    assert "Congestion" in result.error
    assert "1 of 2 parts were confirmed" in result.error
    assert [s.concat[2] for s in fake.sent] == [1]


def test_timeout_before_the_prompt_is_transient(fake):
    client = make_client(fake, timeout=0.5)
    assert client.driver.initialized  # connect first
    fake.mute.add("CMGS")
    results = send(client, "one", "two")
    assert [r.status for r in results] == [api.TRANSIENT, api.TRANSIENT]
    assert fake.sent == []
    fake.mute.clear()
    (again,) = send(client, "three")
    assert again.status == api.ACCEPTED


def test_timeout_after_the_pdu_is_never_resent(fake):
    client = make_client(fake, timeout=0.4)
    assert client.driver.initialized  # connect first
    fake.delays["CMGS"] = 1.0
    first, second = send(client, "one", "two")
    assert first.status == api.PERMANENT  # it may have gone out
    assert "may have been sent" in first.error
    assert second.status == api.TRANSIENT  # never tried: the line is down
    assert [s.text for s in fake.sent] == ["one"]


def test_unreachable_modem_raises_a_transient_provider_error():
    client = ModemClient({"port": "/dev/does-not-exist-modem", "timeout": 1})
    with pytest.raises(api.ProviderError) as info:
        client.send([api.OutgoingMessage("k", "+33612345678", "x")])
    assert info.value.transient
    availability = client.check_availability()
    assert not availability.available
    assert "Cannot open the modem port" in availability.message


def test_pin_flow_through_the_client(fake):
    fake.pin, fake.pin_ok = "2468", False
    missing = make_client(fake)
    availability = missing.check_availability()
    assert not availability.available
    assert "PIN" in availability.message
    client = make_client(fake, pin="2468")
    (result,) = send(client, "unlocked")
    assert result.status == api.ACCEPTED
    assert 'AT+CPIN="2468"' in fake.commands


# -- availability, balance, cost ---------------------------------------------------
def test_availability_home_network(fake):
    fake.rssi = 15
    availability = make_client(fake).check_availability()
    assert availability.available
    assert availability.message == (
        "SIM ready. Signal: -83 dBm (good). Network: registered on the home network."
    )
    assert availability.details["signal_dbm"] == -83
    assert availability.details["registration"] == "home"


@pytest.mark.parametrize(
    "stat, rssi, available, words",
    [
        (5, 20, True, "roaming"),
        (2, 20, False, "searching"),
        (3, 20, False, "denied"),
        (1, 99, False, "Signal: unknown."),
    ],
)
def test_availability_states(fake, stat, rssi, available, words):
    fake.creg_stat, fake.rssi = stat, rssi
    availability = make_client(fake).check_availability()
    assert availability.available is available
    assert words in availability.message


def test_balance_by_ussd(fake):
    fake.ussd_reply = ("Баланс: 50,25 руб.", "ucs2")
    balance = make_client(fake, ussd_balance="*100#").balance()
    assert balance.amount == 50.25
    assert balance.text == "Баланс: 50,25 руб."
    assert fake.commands[-1] == 'AT+CUSD=1,"*100#",15'


def test_balance_without_ussd_code_is_not_supported(fake):
    with pytest.raises(api.NotSupported):
        make_client(fake).balance()
    assert fake.commands == []  # not even connected


def test_balance_without_answer_is_a_provider_error(fake):
    fake.ussd_reply = None
    client = make_client(fake, ussd_balance="*100#", ussd_timeout=0.5)
    with pytest.raises(api.ProviderError, match="No answer from the network") as info:
        client.balance()
    assert info.value.transient


def test_cost_is_left_to_the_price_per_part(fake):
    with pytest.raises(api.NotSupported):
        make_client(fake).cost(["+33612345678"], "hello")


def test_parse_amount():
    assert parse_amount("Balance: 123.45 RUB") == 123.45
    assert parse_amount("Vash balans -3,5 r.") == -3.5
    assert parse_amount("no digits") is None


# -- status reports -----------------------------------------------------------------
def test_status_reports_by_message_reference(fake):
    fake.next_mr = 200
    client = make_client(fake, delivery_reports=True)
    results = send(client, "one", "two", "three")
    assert [r.provider_message_id for r in results] == ["200", "201", "202"]
    fake.report(200, 0x00)
    fake.report(201, 0x46)  # validity period expired
    fake.report(202, 0x21)  # recipient busy, still trying
    updates = client.poll().reports
    assert all(isinstance(u, ModemStatusUpdate) for u in updates)
    by_id = {u.provider_message_id: u for u in updates}
    assert by_id["200"].state == api.STATE_DELIVERED and by_id["200"].final
    assert by_id["200"].at == UTC(2024, 5, 17, 9, 30, 7)
    assert by_id["200"].recipient == "+33612345678"
    assert by_id["201"].state == api.STATE_ERROR
    assert by_id["201"].failure_type == "sms_expired"
    assert "Validity period expired" in by_id["201"].error
    assert by_id["202"].state == api.STATE_PENDING and not by_id["202"].final
    assert client.poll().reports == []  # each report once


@pytest.mark.parametrize("mode, mem", [("cdsi", "SM"), ("cdsi-sr", "SR")])
def test_stored_status_reports_are_read_then_deleted_on_request(fake, mode, mem):
    client = make_client(fake, delivery_reports=True)
    (result,) = send(client, "stored report")
    fake.report(int(result.provider_message_id), 0x00, mode=mode)
    (update,) = client.poll().reports
    assert update.state == api.STATE_DELIVERED
    assert update.storage_key == (mem, fake.sim(mem)[0])
    assert fake.sim(mem)  # still there until the caller says so
    client.delete_stored([update.storage_key])
    assert fake.sim(mem) == []
    assert fake.read_mem == "SM"  # storage switched back


def test_reports_that_arrive_while_sending_are_kept(fake):
    client = make_client(fake, delivery_reports=True)
    (first,) = send(client, "first")
    fake.report(int(first.provider_message_id), 0x00)
    send(client, "second")  # the +CDS comes in the middle of this exchange
    fake.report(1, 0x46)  # and one after the last command
    reports = client.queued_reports()
    assert [(r.provider_message_id, r.state) for r in reports] == [
        ("0", api.STATE_DELIVERED),
        ("1", api.STATE_ERROR),
    ]
    assert client.queued_reports() == []
    assert not any(c.startswith("AT+CMGL") for c in fake.commands)


def test_stored_report_mode_lists_the_report_memory(fake):
    client = make_client(fake, delivery_reports=True, report_mode="stored")
    (result,) = send(client, "hello")
    assert "AT+CNMI=2,1,0,2,0" in fake.commands
    # announced while nobody listened: only the storage tells
    mr = int(result.provider_message_id)
    fake.report(mr, 0x00, mode="cdsi-sr")
    fake.report(mr, 0x00, mode="cdsi")
    client.driver.urcs.clear()
    reports = client.poll().reports
    assert sorted(r.storage_key[0] for r in reports) == ["SM", "SR"]
    client.delete_stored([r.storage_key for r in reports])
    assert (fake.sim("SM"), fake.sim("SR")) == ([], [])
    assert fake.read_mem == "SM"


def test_match_reports_across_the_wrap_around():
    # 256 messages ago "0" was used by a message already delivered; now a
    # single message "253" and a 3-part one "254,255,0"
    candidates = {"254,255,0": "pending", "253": "pending", "0": "sent"}

    def report(mr, state):
        return ModemStatusUpdate(provider_message_id=str(mr), state=state, final=True)

    matched = match_reports(
        [
            report(253, api.STATE_DELIVERED),
            report(254, api.STATE_DELIVERED),  # not the last part: no change
            report(0, api.STATE_DELIVERED),  # last part: the 3-part message
            report(77, api.STATE_DELIVERED),  # unknown reference
            report(255, api.STATE_PENDING),  # still trying: no change
        ],
        candidates,
    )
    assert [(u.provider_message_id, u.state) for u in matched] == [
        ("253", api.STATE_DELIVERED),
        ("254,255,0", api.STATE_DELIVERED),
    ]
    failed = match_reports([report(255, api.STATE_ERROR)], candidates)
    assert [(u.provider_message_id, u.state) for u in failed] == [
        ("254,255,0", api.STATE_ERROR)
    ]
    # a failed message is not turned into a delivered one by its last part
    assert match_reports([report(0, api.STATE_DELIVERED)], {"254,255,0": "error"}) == []


def test_report_for_a_wrapped_reference_reaches_the_newest_message(fake):
    fake.next_mr = 255
    client = make_client(fake, delivery_reports=True)
    first, second = send(client, "before wrap", "after wrap")
    assert (first.provider_message_id, second.provider_message_id) == ("255", "0")
    fake.report(0, 0x00)
    (update,) = client.poll().reports
    # "0" also names a message 256 sends ago; the newest pending one wins
    (matched,) = match_reports(
        [update], {"0": "pending", "255": "pending", "0,1": "sent"}
    )
    assert matched.provider_message_id == "0"


# -- inbound -----------------------------------------------------------------------
def test_inbound_single_message_stays_until_deleted(fake):
    client = make_client(fake)
    assert client.driver.initialized  # connect first (+CMTI needs AT+CNMI)
    (index,) = fake.receive(
        "+33612345678", "Stop", utc=UTC(2024, 3, 1, 10, 0, 0), tz_quarters=4
    )
    (message,) = client.fetch_inbound()
    assert isinstance(message, ModemInboundMessage)
    assert (message.number, message.body) == ("+33612345678", "Stop")
    assert message.received_at == UTC(2024, 3, 1, 10, 0, 0)
    assert message.storage_keys == [("SM", index)]
    assert message.provider_message_id.startswith("modem:")
    assert fake.sim() == [index]  # nothing deleted yet
    assert client.delete_stored(message.storage_keys) == [("SM", index)]
    assert fake.sim() == []


def test_same_message_read_twice_has_the_same_id(fake):
    fake.receive("+33612345678", "Hello")
    first = make_client(fake).fetch_inbound()
    second = make_client(fake).fetch_inbound()
    assert first[0].provider_message_id == second[0].provider_message_id
    fake.receive("+33612345678", "Hello again")
    third = make_client(fake).fetch_inbound()
    assert len({m.provider_message_id for m in third}) == 2


def test_inbound_multipart_is_reassembled_out_of_order(fake):
    client = make_client(fake)
    fake.receive(
        "+79251234567",
        "",
        parts=["Привет, ", "это длинное ", "сообщение"],
        order=[3, 1, 2],
        ref=99,
    )
    fake.receive("+33612345678", "", parts=["Part A ", "part B"], ref16=True, ref=4097)
    messages = sorted(client.fetch_inbound(), key=lambda m: m.number)
    assert [(m.number, m.body, m.parts) for m in messages] == [
        ("+33612345678", "Part A part B", 2),
        ("+79251234567", "Привет, это длинное сообщение", 3),
    ]
    assert len(messages[1].storage_keys) == 3
    client.delete_stored([k for m in messages for k in m.storage_keys])
    assert fake.sim() == []


def test_incomplete_multipart_waits_on_the_sim(fake):
    client = make_client(fake)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    parts = ["one ", "two"]
    (first,) = fake.receive("+33612345678", "", parts=parts, utc=now, order=[1])
    assert client.fetch_inbound() == []  # waiting for part two
    assert fake.sim() == [first]
    (second,) = fake.receive("+33612345678", "", parts=parts, utc=now, order=[2])
    (message,) = make_client(fake).fetch_inbound()
    assert message.body == "one two"
    assert message.complete
    assert message.storage_keys == [("SM", first), ("SM", second)]


def test_stale_incomplete_multipart_is_delivered_with_a_gap(fake):
    old = UTC(2020, 1, 1, 12, 0, 0)
    fake.receive("+33612345678", "", parts=["a", "b", "c"], utc=old, order=[3, 1])
    (message,) = make_client(fake, stale_hours=24).fetch_inbound()
    assert message.body == "a[...]c"
    assert not message.complete
    assert len(message.storage_keys) == 2


def test_poll_separates_inbound_and_stored_reports(fake):
    client = make_client(fake, delivery_reports=True)
    (result,) = send(client, "hi")
    fake.receive("+33612345678", "STOP")
    fake.report(int(result.provider_message_id), 0x00, mode="cdsi")
    fake.report(int(result.provider_message_id), 0x00, mode="cds")
    bad = fake.inject("00040B9133163254", 7)  # truncated SMS-DELIVER
    polled = client.poll()
    assert [m.body for m in polled.inbound] == ["STOP"]
    assert sorted(bool(u.storage_key) for u in polled.reports) == [False, True]
    assert polled.undecodable == [("SM", bad)]
    assert client.poll().inbound == []  # returned once per session


def test_drafts_stored_on_the_sim_are_left_alone(fake):
    draft, length = "0001000B913356550002F1000002C834", 15  # an SMS-SUBMIT, "Hi"
    index = fake.store(draft, length, stat=2)  # stored unsent
    fake.receive("+33612345678", "Hello")
    polled = make_client(fake).poll()
    assert [m.body for m in polled.inbound] == ["Hello"]
    assert polled.undecodable == []
    assert index in fake.sim()


def test_two_clients_on_one_modem_never_interleave(fake):
    errors = []

    def run(name):
        try:
            client = make_client(fake, timeout=5)
            bodies = [f"{name} {i} " + "ж" * 75 for i in range(5)]
            results = send(client, *bodies)
            assert {r.status for r in results} == {api.ACCEPTED}
            client.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in ("one", "two")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert fake.errors == []
    assert len(fake.messages()) == 10
    assert all(len(m.parts) == 2 for m in fake.messages())


def test_availability_in_the_client_language(fake):
    """The modem's sentences go through Odoo's translations of the addon, in
    config["lang"] (here a few French entries stand in for fr.po)."""
    from odoo.tools.translate import code_translations

    key = ("sms_provider_modem", "fr_FR")
    saved = code_translations.python_translations.get(key)
    code_translations.python_translations[key] = {
        "SIM ready. Signal: %(dbm)s dBm (%(quality)s). Network: %(network)s.": (
            "SIM prête. Signal : %(dbm)s dBm (%(quality)s). Réseau : %(network)s."
        ),
        "good": "bon",
        "registered on the home network": "enregistrée sur le réseau de l'opérateur",
    }
    try:
        fake.rssi = 15
        availability = make_client(fake, lang="fr_FR").check_availability()
    finally:
        if saved is None:
            code_translations.python_translations.pop(key, None)
        else:
            code_translations.python_translations[key] = saved
    assert availability.message == (
        "SIM prête. Signal : -83 dBm (bon). Réseau : enregistrée sur le réseau de "
        "l'opérateur."
    )
