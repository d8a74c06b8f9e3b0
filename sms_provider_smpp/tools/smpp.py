"""SMPP 3.4 decisions without a network: addresses, encodings and parts,
delivery receipts, message id forms, command_status meanings, MO reassembly.

Plain Python, no ORM. Texts are split exactly as the core counts them
(``sms_mailing.tools.segments``): GSM-7 goes as data_coding 0 (the SMSC default
alphabet, one septet per octet, extension characters as ESC + code), anything
else as UCS-2 (data_coding 8, UTF-16 big endian); a text of more than one part
goes as concatenated parts, each with a user data header (8-bit reference).

Sentences a user reads are marked ``_lt("...")`` (extracted by Odoo into the
addon's .pot) and translated by :func:`text` in the language the model passes.
"""

import dataclasses
import re

from odoo.tools.translate import get_translation

from odoo.addons.sms_mailing.tools import segments
from odoo.addons.sms_mailing.tools.provider import (
    FAILURE_IN_DOUBT,
    STATE_DELIVERED,
    STATE_ERROR,
)

MODULE = "sms_provider_smpp"

# Type of number / numbering plan indicator (SMPP 3.4, 5.2.5 and 5.2.6)
TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NATIONAL = 2
TON_NETWORK_SPECIFIC = 3
TON_ALPHANUMERIC = 5
NPI_UNKNOWN = 0
NPI_ISDN = 1

DATA_CODING_DEFAULT = 0  # SMSC default alphabet: GSM 03.38 here
DATA_CODING_UCS2 = 8

ESM_UDHI = 0x40
ESM_RECEIPT = 0x04  # esm_class bits 2-5: SMSC delivery receipt
ESM_TYPE_MASK = 0x3C

ALPHANUMERIC_MAX = 11
SHORT_CODE_MAX = 8


@dataclasses.dataclass(frozen=True)
class Sentence:
    """A sentence for a user, translated when it is read (:func:`text`)."""

    source: str
    params: dict


def _lt(source, **params):
    """Mark ``source`` for translation (Odoo extracts ``_lt`` calls)."""
    return Sentence(source, params)


def text(sentence, lang=None):
    """``sentence`` in ``lang`` (English without one), placeholders filled.

    >>> text(_lt("Error %(code)s.", code="0x58"))
    'Error 0x58.'
    """
    params = {
        key: text(value, lang) if isinstance(value, Sentence) else value
        for key, value in sentence.params.items()
    }
    return get_translation(MODULE, lang or "en_US", sentence.source, params)


# -- addresses -----------------------------------------------------------------
def source_address(sender, ton=None, npi=None):
    """``(ton, npi, address)`` of the sender: an international number,
    a short code or an alphanumeric name; ``ton``/``npi`` override the guess.

    >>> source_address("+33 6 12 34 56 78")
    (1, 1, '33612345678')
    >>> source_address("36180")
    (3, 0, '36180')
    >>> source_address("MyShop")
    (5, 0, 'MyShop')
    >>> source_address("")
    (0, 0, '')
    >>> source_address("MyShop", ton=0, npi=1)
    (0, 1, 'MyShop')
    """
    sender = (sender or "").strip()
    compact = re.sub(r"[\s().-]", "", sender)
    if not sender:
        guess = (TON_UNKNOWN, NPI_UNKNOWN, "")
    elif re.fullmatch(r"\+?\d+", compact) and (
        compact.startswith("+") or len(compact) > SHORT_CODE_MAX
    ):
        guess = (TON_INTERNATIONAL, NPI_ISDN, compact.lstrip("+"))
    elif re.fullmatch(r"\d+", compact):
        guess = (TON_NETWORK_SPECIFIC, NPI_UNKNOWN, compact)
    else:
        guess = (TON_ALPHANUMERIC, NPI_UNKNOWN, sender)
    return (
        guess[0] if ton is None else ton,
        guess[1] if npi is None else npi,
        guess[2],
    )


def sender_error(sender):
    """Why ``sender`` cannot be an SMPP source address, or ``None``.

    >>> sender_error("MyShop"), sender_error("+33612345678") is None
    (None, True)
    >>> text(sender_error("A very long shop name"))
    'An alphanumeric sender has at most 11 characters: A very long shop name'
    """
    ton, _npi, address = source_address(sender)
    if ton == TON_ALPHANUMERIC:
        if len(address) > ALPHANUMERIC_MAX:
            return _lt(
                "An alphanumeric sender has at most 11 characters: %(sender)s",
                sender=address,
            )
        if not segments.is_gsm7(address):
            return _lt(
                "An alphanumeric sender uses only GSM-7 characters: %(sender)s",
                sender=address,
            )
    elif ton == TON_INTERNATIONAL and len(address) > 15:
        return _lt(
            "An international sender number has at most 15 digits: %(sender)s",
            sender=address,
        )
    return None


def destination_address(number):
    """``(ton, npi, digits)`` of an E.164 number.

    >>> destination_address("+33612345678")
    (1, 1, '33612345678')
    """
    return TON_INTERNATIONAL, NPI_ISDN, (number or "").lstrip("+")


def sender_number(address, ton):
    """The E.164 form of an MO's source address when it is a number.

    >>> sender_number("33612345678", 1), sender_number("MyBank", 5)
    ('+33612345678', 'MyBank')
    """
    if address.isdigit() and ton in (TON_INTERNATIONAL, TON_UNKNOWN):
        return "+" + address
    return address


# -- encodings and parts -----------------------------------------------------------
def encode_part(part, data_coding):
    if data_coding == DATA_CODING_UCS2:
        return part.encode("utf-16-be", "surrogatepass")
    return bytes(segments.gsm7_septets(part))


def encode_message(body, reference):
    """``(data_coding, [short_message of each part])`` of ``body``; parts of
    a long text carry a concatenation UDH with ``reference`` (0-255). The
    number of parts is the core's (``segments.analyze(body).parts``).

    >>> coding, parts = encode_message("Prix: 5 €", 7)
    >>> coding, parts
    (0, [b'Prix: 5 \\x1be'])
    >>> coding, parts = encode_message("Привет " * 20, 7)
    >>> coding, len(parts), parts[1][:6]
    (8, 3, b'\\x05\\x00\\x03\\x07\\x03\\x02')
    """
    info = segments.analyze(body)
    coding = (
        DATA_CODING_DEFAULT if info.encoding == segments.GSM7 else (DATA_CODING_UCS2)
    )
    texts = segments.split_parts(body)
    payloads = [encode_part(part, coding) for part in texts]
    if len(payloads) > 1:
        total = len(payloads)
        payloads = [
            bytes([5, 0x00, 3, reference & 0xFF, total, index]) + payload
            for index, payload in enumerate(payloads, 1)
        ]
    return coding, payloads


def decode_payload(data, data_coding):
    """Text of a short_message (without its UDH).

    >>> decode_payload(b"Prix: 5 \\x1be", 0)
    'Prix: 5 €'
    >>> decode_payload("Да".encode("utf-16-be"), 8)
    'Да'
    """
    if data_coding == DATA_CODING_UCS2:
        return data.decode("utf-16-be", "replace")
    if data_coding in (DATA_CODING_DEFAULT, 1):
        if all(byte < 0x80 for byte in data):
            return segments.gsm7_decode(list(data))
        return data.decode("latin-1")
    if data_coding == 3:
        return data.decode("latin-1")
    return data.decode("latin-1", "replace")


def split_udh(data, esm_class):
    """``((reference, total, sequence) or None, payload)`` of a short_message.

    >>> split_udh(b"\\x05\\x00\\x03\\x2a\\x02\\x01Hi", 0x40)
    ((42, 2, 1), b'Hi')
    >>> split_udh(b"\\x06\\x08\\x04\\x01\\x02\\x03\\x03ok", 0x40)
    ((258, 3, 3), b'ok')
    >>> split_udh(b"plain", 0)
    (None, b'plain')
    """
    if not esm_class & ESM_UDHI or not data:
        return None, data
    length = data[0]
    header, payload = data[1 : 1 + length], data[1 + length :]
    concat = None
    index = 0
    while index + 2 <= len(header):
        iei, iel = header[index], header[index + 1]
        value = header[index + 2 : index + 2 + iel]
        if iei == 0x00 and iel == 3 and len(value) == 3:
            concat = (value[0], value[1], value[2])
        elif iei == 0x08 and iel == 4 and len(value) == 4:
            concat = ((value[0] << 8) | value[1], value[2], value[3])
        index += 2 + iel
    if concat and not (1 <= concat[2] <= concat[1]):
        concat = None
    return concat, payload


# -- message ids -----------------------------------------------------------------
def id_forms(message_id):
    """Normalised forms an SMSC may give one message id in: as written, and
    its hexadecimal/decimal counterpart (lower case, no leading zeros).

    >>> sorted(id_forms("1A2B"))
    ['1a2b', '6699']
    >>> sorted(id_forms("006699"))  # decimal 6699, or hexadecimal 0x6699
    ['1a2b', '26265', '6699']
    >>> sorted(id_forms("msg-42"))
    ['msg-42']
    """
    raw = (message_id or "").strip().lower()
    forms = {raw.lstrip("0") or "0"} if raw else set()
    if re.fullmatch(r"[0-9]{1,20}", raw):
        forms.add(format(int(raw), "x"))
    if re.fullmatch(r"[0-9a-f]{1,16}", raw):
        forms.add(str(int(raw, 16)))
    return forms


# -- delivery receipts -------------------------------------------------------------
RECEIPT_RE = re.compile(r"\bid:(?P<id>\S+)")
STAT_RE = re.compile(r"\bstat:(?P<stat>\w+)", re.IGNORECASE)
ERR_RE = re.compile(r"\berr:(?P<err>\w+)", re.IGNORECASE)

# message_state TLV values (SMPP 3.4, 5.3.2.35)
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}

RECEIPT_FAILURES = {
    "EXPIRED": (
        "sms_expired",
        _lt(
            "The message expired before it could be delivered (SMSC state "
            "EXPIRED, error %(err)s)."
        ),
    ),
    "UNDELIV": (
        "sms_not_delivered",
        _lt(
            "The message could not be delivered to the phone (SMSC state "
            "UNDELIV, error %(err)s)."
        ),
    ),
    "REJECTD": (
        "sms_rejected",
        _lt("The network rejected the message (SMSC state REJECTD, error %(err)s)."),
    ),
    "DELETED": (
        "sms_not_delivered",
        _lt(
            "The SMSC deleted the message before delivery (SMSC state DELETED, "
            "error %(err)s)."
        ),
    ),
    "UNKNOWN": (
        "sms_not_delivered",
        _lt(
            "The SMSC does not know whether the message was delivered (SMSC "
            "state UNKNOWN, error %(err)s)."
        ),
    ),
}


@dataclasses.dataclass
class Receipt:
    message_id: str
    stat: str
    err: str = ""

    @property
    def final(self):
        return self.stat not in ("ENROUTE", "ACCEPTD")

    @property
    def state(self):
        return STATE_DELIVERED if self.stat == "DELIVRD" else STATE_ERROR

    @property
    def failure_type(self):
        if self.stat == "DELIVRD":
            return None
        return RECEIPT_FAILURES.get(self.stat, RECEIPT_FAILURES["UNKNOWN"])[0]

    def error(self):
        """The sentence for a failed delivery (a :class:`Sentence`), or None."""
        if self.stat == "DELIVRD":
            return None
        failure = RECEIPT_FAILURES.get(self.stat)
        if failure is None:
            return _lt(
                "The SMSC reports the final state %(stat)s (error %(err)s).",
                stat=self.stat,
                err=self.err or "-",
            )
        return Sentence(failure[1].source, {"err": self.err or "-"})


def parse_receipt(esm_class, short_message, receipted_message_id=None, state=None):
    """The :class:`Receipt` a deliver_sm carries, or ``None`` for an MO.

    The ``receipted_message_id`` and ``message_state`` TLVs win over the text
    (``id:... stat:... err:...``, SMPP 3.4 appendix B).

    >>> parse_receipt(0x04, b"id:1A2B sub:001 dlvrd:001 stat:DELIVRD err:000 text:x")
    Receipt(message_id='1A2B', stat='DELIVRD', err='000')
    >>> parse_receipt(0x04, b"id:6699 stat:UNDELIV err:001", "1A2B", 5)
    Receipt(message_id='1A2B', stat='UNDELIV', err='001')
    >>> parse_receipt(0, b"STOP") is None
    True
    """
    if isinstance(short_message, bytes):
        body = short_message.decode("latin-1")
    else:
        body = short_message or ""
    if isinstance(receipted_message_id, bytes):
        receipted_message_id = receipted_message_id.decode("latin-1")
    receipt_type = esm_class & ESM_TYPE_MASK in (0x04, 0x08, 0x10, 0x20)
    match = RECEIPT_RE.search(body)
    looks_like = bool(match and STAT_RE.search(body))
    if not (receipt_type or receipted_message_id or looks_like):
        return None
    message_id = receipted_message_id or (match.group("id") if match else "")
    stat_match = STAT_RE.search(body)
    stat = stat_match.group("stat").upper() if stat_match else ""
    if state in MESSAGE_STATES:
        stat = MESSAGE_STATES[state]
    err_match = ERR_RE.search(body)
    if not message_id or not stat:
        return None
    return Receipt(message_id, stat, err_match.group("err") if err_match else "")


def hex_status(status):
    """A command_status as SMPP documents write it (no f-string here: Babel's
    Python extractor, which Odoo's export uses, loses every term after one).

    >>> hex_status(0x58)
    '0x00000058'
    """
    return "0x" + format(status, "08X")


# -- command_status ------------------------------------------------------------------
RETRY_LATER = {0x58, 0x14}  # ESME_RTHROTTLED, ESME_RMSGQFUL: slow down, resend

# command_status -> (failure_type, sentence, transient)
SUBMIT_ERRORS = {
    0x0A: (
        "sms_acc",
        _lt(
            "The SMSC refused the sender %(sender)s (invalid source address): "
            "use a sender your SMPP account allows."
        ),
        False,
    ),
    0x0B: (
        "sms_number_format",
        _lt("The SMSC refused the recipient's number as invalid."),
        False,
    ),
    0x33: (
        "sms_invalid_destination",
        _lt("The SMSC refused the recipient's number as invalid."),
        False,
    ),
    0x45: (
        "sms_rejected",
        _lt("The SMSC refused the message (submit failed)."),
        False,
    ),
    0x61: (
        "sms_rejected",
        _lt("The SMSC refused the message (invalid scheduled delivery time)."),
        False,
    ),
    0x62: (
        "sms_rejected",
        _lt("The SMSC refused the message (invalid validity period)."),
        False,
    ),
    0x64: (
        "sms_server",
        _lt("The SMSC reports too many messages to this recipient at once."),
        True,
    ),
    0x65: (
        "sms_not_allowed",
        _lt("The SMSC refused the message: this recipient is barred."),
        False,
    ),
    0x66: (
        "sms_rejected",
        _lt("The SMSC refused the message (the recipient rejects it)."),
        False,
    ),
    0x08: (
        "sms_server",
        _lt("The SMSC had a system error."),
        True,
    ),
    0x01: (
        "sms_rejected",
        _lt("The SMSC refused the message as too long."),
        False,
    ),
}


def submit_error(status, sender=""):
    """``(failure_type, Sentence, transient)`` of a refused submit_sm.

    >>> failure, sentence, transient = submit_error(0x0B)
    >>> failure, transient, text(sentence)
    ('sms_number_format', False, "The SMSC refused the recipient's number as invalid.")
    >>> text(submit_error(0x400)[1])
    'The SMSC refused the message (error 0x00000400).'
    """
    known = SUBMIT_ERRORS.get(status)
    if known:
        failure_type, sentence, transient = known
        if "%(sender)s" in sentence.source:
            sentence = Sentence(sentence.source, {"sender": sender or "-"})
        return failure_type, sentence, transient
    return (
        "sms_server",
        _lt("The SMSC refused the message (error %(code)s).", code=hex_status(status)),
        False,
    )


BIND_ERRORS = {
    0x0E: _lt(
        "The SMSC refused the password of %(system_id)s: check the SMPP password "
        "of the provider."
    ),
    0x0F: _lt(
        "The SMSC does not know the system_id %(system_id)s: check the SMPP "
        "account of the provider."
    ),
    0x0D: _lt(
        "The SMSC refused the bind of %(system_id)s (bind failed: wrong "
        "credentials, or more connections than the account allows)."
    ),
    0x05: _lt("The SMSC says %(system_id)s is already bound on this connection."),
}


def bind_error(status, system_id):
    """The sentence of a refused bind.

    >>> text(bind_error(0x0E, "odoo"))[:43]
    'The SMSC refused the password of odoo: chec'
    """
    sentence = BIND_ERRORS.get(status)
    if sentence is None:
        return _lt(
            "The SMSC refused the bind of %(system_id)s (error %(code)s).",
            system_id=system_id,
            code=hex_status(status),
        )
    return Sentence(sentence.source, {"system_id": system_id})


# -- inbound (MO) ------------------------------------------------------------------
@dataclasses.dataclass
class MoPart:
    sender: str
    text: str
    concat: tuple | None  # (reference, total, sequence)


class Reassembler:
    """Joins the parts of concatenated MO messages (by sender and reference).

    >>> parts = Reassembler()
    >>> parts.add(MoPart("+336", "world", (9, 2, 2)))
    >>> parts.add(MoPart("+336", "Hello ", (9, 2, 1)))
    >>> parts.add(MoPart("+337", "STOP", None))
    >>> [(m.sender, m.text) for m in parts.pop_complete()]
    [('+337', 'STOP'), ('+336', 'Hello world')]
    """

    MISSING = "[...]"

    def __init__(self):
        self._single = []
        self._groups = {}

    def add(self, part):
        if not part.concat:
            self._single.append(part)
            return
        reference, total, sequence = part.concat
        group = self._groups.setdefault((part.sender, reference, total), {})
        group.setdefault(sequence, part.text)

    def pop_complete(self):
        done = [MoPart(p.sender, p.text, None) for p in self._single]
        self._single = []
        for key, group in list(self._groups.items()):
            if len(group) == key[2]:
                done.append(self._join(key, group))
                del self._groups[key]
        return done

    def pop_incomplete(self):
        """Messages whose parts stopped coming, the gaps marked ``[...]``."""
        done = [self._join(key, group) for key, group in self._groups.items()]
        self._groups = {}
        return done

    def _join(self, key, group):
        sender, _reference, total = key
        joined = "".join(group.get(i, self.MISSING) for i in range(1, total + 1))
        return MoPart(sender, joined, None)


IN_DOUBT = FAILURE_IN_DOUBT
