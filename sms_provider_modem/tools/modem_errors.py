"""The modem's errors: ``+CMS ERROR`` / ``+CME ERROR`` codes (3GPP TS 27.005
3.2.5, TS 27.007 9.2) with their sentences, and :class:`ModemError`.

Pure Python, no ORM (Odoo's lazy translation only, for the sentences).
"""

from odoo.addons.sms_mailing.tools.i18n import lazy_translate, translate

_lt = lazy_translate(__name__)

# -- error codes ----------------------------------------------------------------
# code -> (sentence, transient). "Transient" means the message may go through
# later or through another provider (network, SIM, modem state); permanent
# means this message will never be accepted as it is (number, content).
CMS_ERRORS = {
    1: (_lt("Unassigned (unallocated) number"), False),
    8: (_lt("Operator determined barring"), False),
    10: (_lt("Call barred"), False),
    17: (_lt("Network failure"), True),
    21: (_lt("Short message transfer rejected"), False),
    22: (_lt("Memory capacity exceeded"), True),
    27: (_lt("Destination out of service"), True),
    28: (_lt("Unidentified subscriber"), False),
    29: (_lt("Facility rejected"), False),
    30: (_lt("Unknown subscriber"), False),
    38: (_lt("Network out of order"), True),
    41: (_lt("Temporary failure"), True),
    42: (_lt("Congestion"), True),
    47: (_lt("Resources unavailable"), True),
    50: (_lt("Requested facility not subscribed"), False),
    69: (_lt("Requested facility not implemented"), False),
    81: (_lt("Invalid short message transfer reference value"), True),
    95: (_lt("Invalid message"), False),
    96: (_lt("Invalid mandatory information"), False),
    97: (_lt("Message type non-existent or not implemented"), False),
    98: (_lt("Message not compatible with the short message protocol state"), True),
    99: (_lt("Information element non-existent or not implemented"), False),
    111: (_lt("Protocol error"), True),
    127: (_lt("Interworking error"), True),
    128: (_lt("Telematic interworking not supported"), False),
    129: (_lt("Short message type 0 not supported"), False),
    130: (_lt("Cannot replace short message"), False),
    143: (_lt("Unspecified TP-PID error"), False),
    144: (_lt("Data coding scheme (alphabet) not supported"), False),
    145: (_lt("Message class not supported"), False),
    159: (_lt("Unspecified TP-DCS error"), False),
    160: (_lt("Command cannot be actioned"), False),
    161: (_lt("Command unsupported"), False),
    175: (_lt("Unspecified TP-Command error"), False),
    176: (_lt("TPDU not supported"), False),
    192: (_lt("Service centre busy"), True),
    193: (_lt("No service centre subscription"), True),
    194: (_lt("Service centre system failure"), True),
    195: (_lt("Invalid recipient address"), False),
    196: (_lt("Recipient barred"), False),
    197: (_lt("Message rejected as a duplicate"), False),
    198: (_lt("Validity period format not supported"), False),
    199: (_lt("Validity period not supported"), False),
    208: (_lt("SIM SMS storage full"), True),
    209: (_lt("No SMS storage capability in the SIM"), True),
    210: (_lt("Error in the modem"), True),
    211: (_lt("Memory capacity exceeded"), True),
    212: (_lt("SIM application toolkit busy"), True),
    213: (_lt("SIM data download error"), True),
    255: (_lt("Unspecified error cause"), True),
    300: (_lt("Modem failure"), True),
    301: (_lt("SMS service of the modem reserved"), True),
    302: (_lt("Operation not allowed"), True),
    303: (_lt("Operation not supported"), True),
    304: (_lt("Invalid PDU mode parameter"), False),
    305: (_lt("Invalid text mode parameter"), False),
    310: (_lt("SIM not inserted"), True),
    311: (_lt("SIM PIN required"), True),
    312: (_lt("PH-SIM PIN required"), True),
    313: (_lt("SIM failure"), True),
    314: (_lt("SIM busy"), True),
    315: (_lt("SIM wrong"), True),
    316: (_lt("SIM PUK required"), True),
    317: (_lt("SIM PIN2 required"), True),
    318: (_lt("SIM PUK2 required"), True),
    320: (_lt("Memory failure"), True),
    321: (_lt("Invalid memory index"), False),
    322: (_lt("Memory full"), True),
    330: (_lt("Service centre address unknown"), True),
    331: (_lt("No network service"), True),
    332: (_lt("Network timeout"), True),
    340: (_lt("No +CNMA acknowledgement expected"), True),
    500: (_lt("Unknown error"), True),
}
CME_ERRORS = {
    0: (_lt("Phone failure"), True),
    1: (_lt("No connection to phone"), True),
    2: (_lt("Phone-adaptor link reserved"), True),
    3: (_lt("Operation not allowed"), True),
    4: (_lt("Operation not supported"), True),
    5: (_lt("PH-SIM PIN required"), True),
    10: (_lt("SIM not inserted"), True),
    11: (_lt("SIM PIN required"), True),
    12: (_lt("SIM PUK required"), True),
    13: (_lt("SIM failure"), True),
    14: (_lt("SIM busy"), True),
    15: (_lt("SIM wrong"), True),
    16: (_lt("Incorrect password"), True),
    17: (_lt("SIM PIN2 required"), True),
    18: (_lt("SIM PUK2 required"), True),
    20: (_lt("Memory full"), True),
    21: (_lt("Invalid index"), False),
    22: (_lt("Not found"), False),
    23: (_lt("Memory failure"), True),
    24: (_lt("Text string too long"), False),
    25: (_lt("Invalid characters in text string"), False),
    26: (_lt("Dial string too long"), False),
    27: (_lt("Invalid characters in dial string"), False),
    30: (_lt("No network service"), True),
    31: (_lt("Network timeout"), True),
    32: (_lt("Network not allowed, emergency calls only"), True),
    100: (_lt("Unknown error"), True),
}

# Errors that stop the whole line (no point in trying the next message).
LINE_FAULTS = {
    ("CMS", code) for code in (300, 301, 310, 311, 312, 313, 315, 316, 330, 331, 332)
} | {("CME", code) for code in (0, 1, 10, 11, 12, 13, 15, 16, 30, 32)}

# Odoo failure types of the permanent errors about the recipient.
FAILURE_TYPES = {
    ("CMS", 1): "sms_number_format",
    ("CMS", 8): "sms_not_allowed",
    ("CMS", 10): "sms_not_allowed",
    ("CMS", 21): "sms_rejected",
    ("CMS", 28): "sms_invalid_destination",
    ("CMS", 30): "sms_invalid_destination",
    ("CMS", 195): "sms_number_format",
    ("CMS", 196): "sms_not_allowed",
}


class ModemError(Exception):
    """The modem refused or did not answer.

    ``transient``: another try (later, or through another provider) may work.
    ``line_fault``: the modem, its SIM or its network is down, the following
    messages would fail the same way.

    >>> err = ModemError(_lt("The modem port is not open."))
    >>> err.message, str(err)
    ('The modem port is not open.', 'The modem port is not open.')
    """

    maybe_sent = False  # the PDU may have reached the network (in doubt)

    def __init__(
        self,
        message,
        code=None,
        kind=None,
        transient=True,
        line_fault=False,
        failure_type=None,
    ):
        # ``sentence`` is what a user reads (a lazy sentence, translated by
        # the provider client into its language); ``message`` the same in
        # English, for logs and for the driver's own decisions.
        self.sentence = message
        self.message = translate(message, "en_US")
        super().__init__(self.message)
        self.code = code
        self.kind = kind
        self.transient = transient
        self.line_fault = line_fault
        self.failure_type = failure_type or ("sms_server" if transient else "unknown")


class ModemTimeout(ModemError):
    """No (complete) answer in time. ``maybe_sent``: the PDU had been written."""

    def __init__(self, message, maybe_sent=False):
        super().__init__(message, transient=True, line_fault=True)
        self.maybe_sent = maybe_sent


def error_from_code(kind, code, command=None):
    """The :class:`ModemError` of ``+CMS ERROR: <code>`` / ``+CME ERROR: <code>``."""
    table = CMS_ERRORS if kind == "CMS" else CME_ERRORS
    text, transient = table.get(code, (None, True))
    if text is None:
        if kind == "CMS" and code >= 512:
            text = _lt("Manufacturer-specific error %(code)s", code=code)
        else:
            text = _lt("Unknown error %(code)s", code=code)
    if command:
        message = _lt(
            "%(error)s (+%(kind)s ERROR: %(code)s) on %(command)s",
            error=text,
            kind=kind,
            code=code,
            command=command,
        )
    else:
        message = _lt(
            "%(error)s (+%(kind)s ERROR: %(code)s)", error=text, kind=kind, code=code
        )
    return ModemError(
        message,
        code=code,
        kind=kind,
        transient=transient,
        line_fault=(kind, code) in LINE_FAULTS,
        failure_type=FAILURE_TYPES.get((kind, code)),
    )
