"""The exceptions of the SMS core (ORM-free), in one place.

The models turn them into ``UserError`` sentences; the dispatcher reads
:class:`ProviderError` to decide between retry, failover and failure.
Provider addons raise :class:`ProviderError` and :class:`NotSupported` from
their clients (their own low-level errors, such as the modem's line errors,
stay in their addon and become a :class:`ProviderError` at the client).
"""

from .i18n import translate


class ProviderError(Exception):
    """A whole request to a provider failed.

    ``transient`` errors (network, timeouts, HTTP 5xx, "service temporarily
    unavailable") are retried by the dispatcher with backoff and may fail over
    to the next provider; the others fail the messages at once.
    ``failure_type`` is one of Odoo's ``sms.sms.failure_type`` values.
    ``message`` is a sentence a user understands: a lazy sentence is
    translated into ``lang`` (the provider client's language).

    >>> err = ProviderError("down", transient=True)
    >>> err.message, err.failure_type, str(err)
    ('down', 'sms_server', 'down')
    """

    def __init__(
        self, message, transient=False, failure_type=None, code=None, lang=None
    ):
        message = translate(message, lang)
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.failure_type = failure_type or ("sms_server" if transient else "unknown")
        self.code = code
        self.lang = lang


class NotSupported(Exception):
    """The provider has no such feature (cost API, balance, status API...)."""


class MacroError(ValueError):
    """A macro of an SMS text that cannot be rendered.

    ``macro`` is its text as written; ``message`` the sentence saying why, in
    the language of the current web request (English without one).
    """

    def __init__(self, macro, message):
        message = translate(message)
        super().__init__(message)
        self.macro = macro
        self.message = message


class ImportFileError(ValueError):
    """A contact file that cannot be read; ``code`` tells why (the import
    model words it for the user), ``params`` what the sentence needs."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params
