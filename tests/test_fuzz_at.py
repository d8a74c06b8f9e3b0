"""Property tests of the AT response and URC parser (sms_provider_modem/tools/modem.py).

The driver reads from a scripted line (the pyserial object is its single entry
point, given by ``serial_factory``): whatever bytes the modem answers, a command
returns its information lines or raises :class:`ModemError` (a
:class:`ModemTimeout` when no final result comes), within its time limit.
"""

import time

from hypothesis import example, given, settings
from hypothesis import strategies as st

from odoo.addons.sms_provider_modem.tools import modem
from odoo.addons.sms_provider_modem.tools.modem import ModemDriver, ModemError

TIMEOUT = 0.05  # seconds the driver waits for a final result
# The driver's own time limit bounds these tests (asserted by _bounded), not
# Hypothesis' deadline: an exchange that ends in a timeout takes TIMEOUT. The
# bound leaves SLACK seconds for a loaded machine: it catches a loop or a wait
# on another time limit (the driver's default is 10 s), never a slow CPU.
SLACK = 3.0
driver_settings = settings(
    deadline=None, max_examples=max(1, settings.default.max_examples // 2)
)


class ScriptedLine:  # pylint: disable=method-required-super
    """A pyserial stand-in: each write releases the next scripted answer."""

    def __init__(self, answers, unsolicited=b""):
        self.answers = list(answers)
        self.incoming = bytearray(unsolicited)
        self.written = bytearray()

    @property
    def in_waiting(self):
        return len(self.incoming)

    def read(self, size=1):
        chunk = bytes(self.incoming[:size])
        del self.incoming[:size]
        return chunk

    def write(self, data):
        self.written.extend(data)
        if data.endswith((b"\r", b"\x1a")) and self.answers:
            self.incoming.extend(self.answers.pop(0))
        return len(data)

    def flush(self):
        pass

    def close(self):
        pass


def driver_for(answers, unsolicited=b""):
    line = ScriptedLine(answers, unsolicited)
    driver = ModemDriver(
        "scripted", timeout=TIMEOUT, serial_factory=lambda *a, **k: line
    )
    driver.quiet_period = 0.01
    driver.pdu_grace = 0.02
    return driver.open(), line


# Lines a modem may send: known results, URCs, numbers, garbage, partial lines.
TOKENS = st.one_of(
    st.sampled_from(
        [
            "OK",
            "ERROR",
            "> ",
            "+CMS ERROR: 322",
            "+CME ERROR: 10",
            "+CMS ERROR: x",
            "+CME ERROR:",
            '+CMTI: "SM",3',
            '+CMTI: "SM",',
            "+CMTI:",
            '+CDSI: "SR",99999999999999999999',
            "+CDS: 25",
            "+CDS:",
            "+CMT: ,24",
            '+CUSD: 0,"00410042",72',
            "+CUSD: 2",
            "+CUSD: 4",
            '+CUSD: x,"',
            "+CSQ: 21,99",
            "+CSQ: ",
            "+CSQ: x,y",
            "+CSQ: 99999999999999999999999,0",
            "+CREG: 0,1",
            "+CREG: 0,x",
            "+CREG:",
            "+CMGL: 1,0,,23",
            "+CMGL: x",
            "+CMGL: ",
            "+CMGR: 0,,23",
            "+CMGR: x",
            "+CMGS: 12",
            "RING",
            "^RSSI: 5",
            "NO CARRIER",
            "\x1a",
            "\x1b",
        ]
    ),
    st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=30),
)
ANSWER = st.lists(
    st.tuples(TOKENS, st.sampled_from(["\r\n", "\r", "\n", ""])), max_size=8
).map(lambda items: "".join(t + end for t, end in items).encode("utf-8", "replace"))
RAW = st.one_of(ANSWER, st.binary(max_size=60))


def _bounded(call, budget):
    """Run ``call``; it returns or raises ModemError, within ``budget`` s."""
    started = time.monotonic()
    try:
        result = call()
    except ModemError as exc:
        assert isinstance(exc.message, str) and exc.message
        result = exc
    elapsed = time.monotonic() - started
    assert elapsed < budget, f"took {elapsed:.2f} s, more than {budget:.2f} s"
    return result


@driver_settings
@given(RAW, RAW)
@example(b"\r\nOK\r\n", b"")
@example(b"+CDS: 25\r\n", b"")  # a status report whose PDU never comes
@example(b"+CDS: 25\r\nOK\r\n", b"")  # ... and the final result instead
@example(b"\r\n+CMS ERROR: \xff\r\n", b"")
def test_command_answers_lines_or_modem_error(answer, unsolicited):
    driver, _line = driver_for([answer], unsolicited)
    result = _bounded(lambda: driver.command("AT+CPMS?"), 4 * TIMEOUT + SLACK)
    if not isinstance(result, ModemError):
        assert all(isinstance(line, str) and line for line in result)
        assert "OK" not in result
    for urc in driver.urcs:
        assert urc.kind in ("CMTI", "CDSI", "CDS", "CMT", "CUSD", "OTHER")
        if urc.kind in ("CMTI", "CDSI"):
            assert isinstance(urc.index, int)


QUERIES = {
    "signal": lambda d: d.signal(),
    "registration": lambda d: d.registration(),
    "sim_state": lambda d: d.sim_state(),
    "list_messages": lambda d: d.list_messages(),
    "read_message": lambda d: d.read_message(3),
}


@driver_settings
@given(st.sampled_from(sorted(QUERIES)), RAW)
@example("signal", b"\r\n+CSQ: x,y\r\nOK\r\n")
@example("signal", b"\r\n+CSQ: \r\nOK\r\n")
@example("registration", b"\r\n+CREG: 0,x\r\nOK\r\n")
@example("registration", b"\r\n+CREG: \r\nOK\r\n")
@example("list_messages", b"\r\n+CMGL: \r\n0791\r\nOK\r\n")
@example("read_message", b"\r\n+CMGR: x\r\n0791\r\nOK\r\n")
def test_queries_give_a_value_or_modem_error(name, answer):
    driver, _line = driver_for([answer])
    result = _bounded(lambda: QUERIES[name](driver), 4 * TIMEOUT + SLACK)
    if isinstance(result, ModemError):
        return
    if name == "signal":
        assert result.dbm is None or -113 <= result.dbm <= -51
        assert result.quality in ("excellent", "good", "fair", "poor", "unknown")
    elif name == "registration":
        stat, key, text = result
        assert isinstance(stat, int) and key and text
    elif name == "list_messages":
        assert all(isinstance(m.index, int) and isinstance(m.pdu, str) for m in result)
    elif name == "read_message":
        assert result is None or isinstance(result.stat, int)


@driver_settings
@given(RAW)
@example(b"\r\n> ")
@example(b"\r\n+CMGS: 300\r\nOK\r\n")
def test_send_pdu_prompt_dance_reference_or_modem_error(answer):
    driver, _line = driver_for([answer, b"\r\n+CMGS: 7\r\nOK\r\n"])
    result = _bounded(lambda: driver.send_pdu("0001000B91", 5), 6 * TIMEOUT + SLACK)
    if not isinstance(result, ModemError):
        assert isinstance(result, int)


@given(st.text(max_size=80))
@example('+CUSD: 0,"0041",72')
@example('+CUSD: 0,"",15')
@example('+CUSD: 1,"00000000",15')
@example('+CUSD: 0,"\u0660\u0661",x')
def test_cusd_text_or_modem_error(line):
    try:
        text = modem.parse_cusd(line)
    except ModemError:
        return
    assert isinstance(text, str)


@given(st.text(max_size=60), st.integers(-1000, 1000))
@example("00000000", 15)
@example("FFFFFFFF", 0x11)
def test_ussd_text_decodes_to_text(text, dcs):
    assert isinstance(modem.decode_ussd_text(text, dcs), str)
