"""The AT-command driver against the fake modem on a pseudo-terminal or a
socket (sms_provider_modem/tools/modem.py, no database)."""

import threading
import time

import pytest
import serial

from odoo.addons.sms_provider_modem.tests.fake_modem import FakeModem
from odoo.addons.sms_provider_modem.tools import modem
from odoo.addons.sms_provider_modem.tools.modem import (
    ModemDriver,
    ModemError,
    ModemTimeout,
    decode_ussd_text,
    error_from_code,
    parse_cusd,
    rssi_to_dbm,
)
from odoo.addons.sms_provider_modem.tools.pdu import (
    decode_pdu,
    encode_submit,
    pack_septets,
)

INIT = [
    "ATZ",
    "ATE0",
    "AT+CMEE=1",
    "AT+CPIN?",
    "AT+CMGF=0",
    'AT+CPMS="SM","SM","SM"',
    "AT+CNMI=2,1,0,1,0",
]


@pytest.fixture(params=["pty", "socket"])
def fake(request):
    with FakeModem(transport=request.param) as fake:
        yield fake


@pytest.fixture
def pty_fake():
    with FakeModem() as fake:
        yield fake


def open_driver(fake, **kwargs):
    kwargs.setdefault("timeout", 2)
    driver = ModemDriver(fake.port, **kwargs)
    driver.initialize()
    return driver


def after_sync(commands):
    """Commands after the resync's ``AT`` lines."""
    return commands[commands.index("ATZ") :]


# -- setup -------------------------------------------------------------------------
def test_initialisation_sequence_with_echo_on(fake):
    assert fake.echo  # a modem starts with echo on: the driver must cope
    driver = open_driver(fake)
    assert driver.initialized
    assert after_sync(fake.commands) == INIT
    assert not fake.echo
    assert fake.cmee == 1
    assert fake.cmgf == 0
    assert fake.cnmi == (2, 1, 0, 1, 0)
    driver.close()


def test_smsc_is_set_when_configured(pty_fake):
    open_driver(pty_fake, smsc="+33609001390").close()
    assert pty_fake.commands[-1] == 'AT+CSCA="+33609001390",145'
    assert pty_fake.smsc == "+33609001390"


def test_pin_is_entered_when_the_sim_asks(pty_fake):
    pty_fake.pin, pty_fake.pin_ok = "4321", False
    open_driver(pty_fake, pin="4321").close()
    assert after_sync(pty_fake.commands)[:6] == [
        "ATZ",
        "ATE0",
        "AT+CMEE=1",
        "AT+CPIN?",
        'AT+CPIN="4321"',
        "AT+CPIN?",
    ]
    assert pty_fake.pin_ok


def test_missing_pin_is_a_clear_error_and_nothing_is_guessed(pty_fake):
    pty_fake.pin, pty_fake.pin_ok = "4321", False
    driver = ModemDriver(pty_fake.port, timeout=2)
    with pytest.raises(ModemError, match="PIN") as info:
        driver.initialize()
    assert info.value.line_fault
    assert not any(c.startswith("AT+CPIN=") for c in pty_fake.commands)
    driver.close()


def test_wrong_pin_is_refused_once(pty_fake):
    pty_fake.pin, pty_fake.pin_ok = "4321", False
    driver = ModemDriver(pty_fake.port, timeout=2, pin="1111")
    with pytest.raises(ModemError, match="refused the PIN.*Incorrect password"):
        driver.initialize()
    assert pty_fake.pin_attempts == 2
    assert [c for c in pty_fake.commands if c.startswith("AT+CPIN=")] == [
        'AT+CPIN="1111"'
    ]
    driver.close()


def test_blocked_sim_asks_for_the_puk(pty_fake):
    pty_fake.pin, pty_fake.pin_ok, pty_fake.pin_attempts = "4321", False, 0
    driver = ModemDriver(pty_fake.port, timeout=2, pin="4321")
    with pytest.raises(ModemError, match="PUK"):
        driver.initialize()
    driver.close()


def test_storage_and_indications_fall_back_when_refused(pty_fake):
    pty_fake.answers["CPMS"] = "+CMS ERROR: 302"
    pty_fake.answers["CNMI"] = "+CMS ERROR: 303"
    driver = open_driver(pty_fake)
    assert driver.initialized
    assert [c for c in pty_fake.commands if c.startswith("AT+CNMI")] == [
        "AT+CNMI=2,1,0,1,0",
        "AT+CNMI=2,1,0,2,0",
        "AT+CNMI=1,1,0,1,0",
    ]
    assert sum(c.startswith("AT+CPMS") for c in pty_fake.commands) == 3
    driver.close()


def test_port_that_does_not_exist():
    driver = ModemDriver("/dev/does-not-exist-modem", timeout=1)
    with pytest.raises(ModemError, match="Cannot open the modem port") as info:
        driver.initialize()
    assert info.value.transient


def test_silent_device_times_out():
    # loop:// echoes every byte back and never says OK
    driver = ModemDriver("loop://", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ModemTimeout):
        driver.initialize()
    assert time.monotonic() - started < 3
    driver.close()


# -- sending -----------------------------------------------------------------------
def test_send_pdu_returns_the_message_reference(fake):
    driver = open_driver(fake)
    (part,) = encode_submit("+33612345678", "Bonjour {Léa}")
    assert driver.send_pdu(part.pdu, part.length) == 0
    assert driver.send_pdu(part.pdu, part.length) == 1
    assert [s.text for s in fake.sent] == ["Bonjour {Léa}"] * 2
    assert fake.commands[-4:] == [
        f"AT+CMGS={part.length}",
        "PDU:" + part.pdu,
        f"AT+CMGS={part.length}",
        "PDU:" + part.pdu,
    ]
    driver.close()


def test_hand_over_happens_at_the_prompt_just_before_the_pdu(fake):
    """A crash at the hand-over leaves the modem at its prompt, PDU unwritten:
    the message cannot leave. Refused before the prompt: no hand-over."""
    driver = open_driver(fake)
    (part,) = encode_submit("+33612345678", "Bonjour")
    seen = []
    mr = driver.send_pdu(
        part.pdu, part.length, before_write=lambda: seen.append(list(fake.commands))
    )
    assert mr == 0
    assert seen[0][-1] == f"AT+CMGS={part.length}"  # the prompt, not the PDU
    assert fake.commands[-1] == "PDU:" + part.pdu
    driver.close()


def test_no_hand_over_when_the_modem_refuses_the_command(pty_fake):
    driver = open_driver(pty_fake)
    driver.command("AT+CMGF=1")  # text mode: AT+CMGS=<length> is refused
    (part,) = encode_submit("+33612345678", "x")
    seen = []
    with pytest.raises(ModemError):
        driver.send_pdu(part.pdu, part.length, before_write=lambda: seen.append(1))
    assert seen == []
    assert not pty_fake.sent
    driver.close()


def test_a_failed_hand_over_leaves_the_prompt_and_sends_nothing(pty_fake):
    driver = open_driver(pty_fake)
    (part,) = encode_submit("+33612345678", "x")

    def refuse():
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        driver.send_pdu(part.pdu, part.length, before_write=refuse)
    deadline = time.monotonic() + 2
    while pty_fake.commands[-1] != "<ESC>" and time.monotonic() < deadline:
        time.sleep(0.01)  # the modem's thread reads the escape
    assert pty_fake.commands[-1] == "<ESC>"
    assert not pty_fake.sent
    # the line is usable right after
    assert driver.send_pdu(part.pdu, part.length) == 0
    assert len(pty_fake.sent) == 1
    driver.close()


def test_send_works_with_echo_left_on(pty_fake):
    driver = open_driver(pty_fake)
    driver.command("ATE1")
    (part,) = encode_submit("+33612345678", "echo")
    assert driver.send_pdu(part.pdu, part.length) == 0
    assert driver.signal().rssi == 21
    driver.close()


def test_message_reference_wraps_after_255(pty_fake):
    pty_fake.next_mr = 254
    driver = open_driver(pty_fake)
    (part,) = encode_submit("+33612345678", "x")
    assert [driver.send_pdu(part.pdu, part.length) for _i in range(3)] == [254, 255, 0]
    driver.close()


@pytest.mark.parametrize(
    "code, transient, line_fault, failure_type",
    [
        (332, True, True, "sms_server"),  # network timeout
        (331, True, True, "sms_server"),  # no network service
        (42, True, False, "sms_server"),  # congestion
        (1, False, False, "sms_number_format"),  # unassigned number
        (30, False, False, "sms_invalid_destination"),  # unknown subscriber
        (196, False, False, "sms_not_allowed"),  # destination barred
        (540, True, False, "sms_server"),  # manufacturer specific
    ],
)
def test_cms_errors_are_classified(pty_fake, code, transient, line_fault, failure_type):
    pty_fake.send_errors = [code]
    driver = open_driver(pty_fake)
    (part,) = encode_submit("+33612345678", "x")
    with pytest.raises(ModemError) as info:
        driver.send_pdu(part.pdu, part.length)
    error = info.value
    assert (error.kind, error.code) == ("CMS", code)
    assert error.transient is transient
    assert error.line_fault is line_fault
    assert error.failure_type == failure_type
    assert f"+CMS ERROR: {code}" in error.message
    # the line is usable right after an error
    assert driver.send_pdu(part.pdu, part.length) == 0
    driver.close()


def test_error_messages_read_like_sentences():
    assert error_from_code("CMS", 332).message == "Network timeout (+CMS ERROR: 332)"
    assert error_from_code("CME", 10).message == "SIM not inserted (+CME ERROR: 10)"
    assert "Unknown error 999" in error_from_code("CME", 999).message
    assert not error_from_code("CMS", 304).transient  # our PDU is wrong


def test_plain_error_without_cmee(pty_fake):
    driver = open_driver(pty_fake)
    driver.command("AT+CMEE=0")
    with pytest.raises(ModemError, match="answered ERROR to AT\\+FOO"):
        driver.command("AT+FOO")
    driver.close()


def test_no_prompt_times_out_and_the_line_recovers(pty_fake):
    driver = open_driver(pty_fake, timeout=0.5)
    pty_fake.mute.add("CMGS")
    (part,) = encode_submit("+33612345678", "x")
    with pytest.raises(ModemTimeout) as info:
        driver.send_pdu(part.pdu, part.length)
    assert not info.value.maybe_sent
    pty_fake.mute.clear()
    assert driver.send_pdu(part.pdu, part.length) == 0
    assert [s.text for s in pty_fake.sent] == ["x"]
    driver.close()


def test_late_confirmation_is_a_timeout_and_not_mistaken_later(pty_fake):
    driver = open_driver(pty_fake, timeout=2, send_timeout=0.3)
    pty_fake.delays["CMGS"] = 1.0
    first, second = (
        encode_submit("+33612345678", "first")[0],
        encode_submit("+33612345678", "second")[0],
    )
    with pytest.raises(ModemTimeout, match="may have been sent") as info:
        driver.send_pdu(first.pdu, first.length)
    assert info.value.maybe_sent
    pty_fake.delays.clear()
    # the late "+CMGS: 0" must not be taken for the answer to the next send
    assert driver.send_pdu(second.pdu, second.length) == 1
    assert driver.late_references == [0]
    assert [s.text for s in pty_fake.sent] == ["first", "second"]
    driver.close()


def test_slow_answers_within_the_time_limit(pty_fake):
    driver = open_driver(pty_fake, timeout=2)
    pty_fake.delays["CSQ"] = 0.5
    pty_fake.delays["CMGS"] = 0.5
    assert driver.signal().dbm == -71
    (part,) = encode_submit("+33612345678", "slow")
    assert driver.send_pdu(part.pdu, part.length) == 0
    driver.close()


def test_wrong_length_is_refused_by_the_modem(pty_fake):
    driver = open_driver(pty_fake)
    (part,) = encode_submit("+33612345678", "x")
    with pytest.raises(ModemError, match="Invalid PDU mode parameter"):
        driver.send_pdu(part.pdu, part.length + 1)
    assert pty_fake.errors[0][0] == "bad length"
    driver.close()


# -- unsolicited result codes ------------------------------------------------------
def test_urc_in_the_middle_of_an_answer_is_queued(pty_fake):
    driver = open_driver(pty_fake)
    pty_fake.delays["CSQ"] = 0.4
    answer = {}
    worker = threading.Thread(target=lambda: answer.update(signal=driver.signal()))
    worker.start()
    time.sleep(0.15)
    pty_fake.urc('+CMTI: "SM",3')
    worker.join(5)
    assert answer["signal"].rssi == 21
    (urc,) = driver.take_urcs("CMTI")
    assert (urc.mem, urc.index) == ("SM", 3)
    driver.close()


def test_status_report_urc_carries_its_pdu(fake):
    driver = open_driver(fake)
    (part,) = encode_submit("+33612345678", "report me", status_report=True)
    mr = driver.send_pdu(part.pdu, part.length)
    fake.report(mr, 0x00)
    fake.urc("RING")
    urcs = driver.poll(0.3)
    assert [u.kind for u in urcs] == ["CDS", "OTHER"]
    report = decode_pdu(urcs[0].pdu)
    assert (report.reference, report.recipient, report.outcome) == (
        mr,
        "+33612345678",
        "delivered",
    )
    assert driver.take_urcs("CDS") == [urcs[0]]
    assert [u.kind for u in driver.urcs] == ["OTHER"]
    driver.close()


# -- signal, registration, USSD ----------------------------------------------------
def test_rssi_to_dbm():
    assert rssi_to_dbm(0) == -113
    assert rssi_to_dbm(1) == -111
    assert rssi_to_dbm(21) == -71
    assert rssi_to_dbm(31) == -51
    assert rssi_to_dbm(99) is None


@pytest.mark.parametrize(
    "stat, key", [(1, "home"), (5, "roaming"), (2, "searching"), (3, "denied")]
)
def test_registration(pty_fake, stat, key):
    pty_fake.creg_stat = stat
    driver = open_driver(pty_fake)
    assert driver.registration()[:2] == (stat, key)
    driver.close()


@pytest.mark.parametrize(
    "reply, expected",
    [
        (("Balance: 123.45 RUB", "text"), "Balance: 123.45 RUB"),
        (("Баланс: 50,25 р.", "ucs2"), "Баланс: 50,25 р."),
        (("Your balance is 7.5 EUR", "gsm7hex"), "Your balance is 7.5 EUR"),
    ],
)
def test_ussd_answers_are_decoded(pty_fake, reply, expected):
    pty_fake.ussd_reply = reply
    driver = open_driver(pty_fake)
    assert driver.ussd("*100#") == expected
    assert pty_fake.commands[-1] == 'AT+CUSD=1,"*100#",15'
    driver.close()


def test_ussd_not_supported_and_no_answer(pty_fake):
    driver = open_driver(pty_fake, timeout=0.5)
    pty_fake.ussd_reply = ("", "unsupported")
    with pytest.raises(ModemError, match="does not support"):
        driver.ussd("*100#")
    pty_fake.ussd_reply = None
    with pytest.raises(ModemTimeout, match="No answer from the network"):
        driver.ussd("*100#", timeout=0.5)
    with pytest.raises(ModemError, match="not a USSD code"):
        driver.ussd('*100#",1;AT+CMGD=1')
    driver.close()


def test_ussd_text_decoding_rules():
    assert parse_cusd('+CUSD: 0,"Balance 10",15') == "Balance 10"
    assert decode_ussd_text("1234") == "1234"  # short digits stay digits
    assert decode_ussd_text("004F004B", 72) == "OK"
    # "12345678": 8 septets fill 7 octets exactly; "1234567" has 7 spare bits
    assert decode_ussd_text("31D98C56B3DD70") == "12345678"
    septets = [ord(c) for c in "1234567"]
    assert decode_ussd_text(pack_septets(septets).hex()) == "1234567"  # zero pad
    cr_padded = pack_septets([*septets, 0x0D]).hex()
    assert decode_ussd_text(cr_padded) == "1234567"  # CR pad, TS 23.038 6.1.2.3.1


# -- storage -----------------------------------------------------------------------
def test_list_read_delete(fake):
    driver = open_driver(fake)
    first = fake.receive("+33612345678", "one")
    second = fake.receive("+33698765432", "two")
    listing = driver.list_messages()
    assert [m.index for m in listing] == first + second
    assert [decode_pdu(m.pdu).text for m in listing] == ["one", "two"]
    assert [m.stat for m in listing] == [0, 0]  # unread when listed
    assert driver.read_message(second[0]).stat == 1
    driver.delete_message(first[0])
    assert fake.sim() == second
    assert driver.read_message(first[0]) is None
    driver.close()


# -- two users of one line -------------------------------------------------------
def test_the_fake_modem_sees_interleaved_writes():
    """Without serialisation, a second writer corrupts the PDU: proof that the
    concurrency test below can fail."""
    with FakeModem() as fake:
        open_driver(fake).close()
        first = serial.serial_for_url(fake.port, timeout=1)
        other = serial.serial_for_url(fake.port, timeout=1)
        (part,) = encode_submit("+33612345678", "x")
        first.write(f"AT+CMGS={part.length}\r".encode())
        time.sleep(0.2)
        other.write(b"AT+CSQ\r")
        first.write((part.pdu + "\x1a").encode())
        time.sleep(0.3)
        first.close()
        other.close()
        assert fake.errors
        assert not fake.sent


def test_two_drivers_on_one_port_never_interleave(pty_fake):
    texts = {
        name: [f"{name} message {i} " + "ж" * 80 for i in range(6)]  # 2 parts
        for name in ("alpha", "beta")
    }
    errors = []

    def run(name):
        try:
            driver = open_driver(pty_fake, timeout=5)
            for i, text in enumerate(texts[name]):
                # Each message its own concatenation reference (a random one
                # could be the other thread's, and the phone would join the two).
                reference = 2 * i + (name == "beta")
                for part in encode_submit("+33612345678", text, reference=reference):
                    driver.send_pdu(part.pdu, part.length)
                driver.signal()
            driver.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n,)) for n in texts]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert pty_fake.errors == []
    sent = sorted(m.text for m in pty_fake.messages())
    assert sent == sorted(texts["alpha"] + texts["beta"])
    assert [s.mr for s in pty_fake.sent] == list(range(24))


def test_port_lock_is_shared_per_port():
    assert modem.port_lock("/dev/ttyUSB7") is modem.port_lock("/dev/ttyUSB7")
    assert modem.port_lock("/dev/ttyUSB7") is not modem.port_lock("/dev/ttyUSB8")
