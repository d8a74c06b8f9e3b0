"""SMS.ru's one HTTP entry point and its errors.

:class:`SmsRuHttp` holds the configuration, the ``requests.Session`` and
:meth:`SmsRuHttp._call`: a POST form with ``api_id`` and ``json=1`` with an
explicit timeout. A failed request (network, HTTP, an SMS.ru error code)
becomes a :class:`ProviderError` with a sentence a user understands. The
operations (send, cost, statuses...) are in :mod:`.smsru_client`.
"""

import io
import urllib.parse

import requests
import urllib3

from odoo.addons.sms_mailing.tools.i18n import lazy_translate
from odoo.addons.sms_mailing.tools.provider import (
    FAILURE_CREDENTIALS,
    FAILURE_IN_DOUBT,
    SmsProviderClient,
)

from .smsru_codes import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    REQUEST_ERRORS,
    _code,
    _is_transient_code,
)

_lt = lazy_translate(__name__)


def _may_have_arrived(exc):
    """Whether a failed request may have reached SMS.ru (and been carried out).

    Only a failure to connect (refused, unreachable, connect timeout) proves
    the request never left; a read timeout or a connection dropped while
    waiting for the answer does not.

    >>> import requests
    >>> _may_have_arrived(requests.ConnectTimeout())
    False
    >>> _may_have_arrived(requests.ReadTimeout())
    True
    """
    if isinstance(
        exc,
        requests.ConnectTimeout
        | requests.exceptions.SSLError
        | requests.exceptions.ProxyError,
    ):
        return False  # refused before the request was written
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError
        return not isinstance(
            reason,
            (
                urllib3.exceptions.NewConnectionError,
                urllib3.exceptions.ConnectTimeoutError,
            ),
        )
    return isinstance(exc, requests.Timeout | requests.exceptions.ChunkedEncodingError)


class _HandOverBody:
    """A form body that hands its messages over when it is first read: by
    urllib3, once the connection is open and the headers are written, just
    before the body itself is (the request cannot be carried out without
    it). ``hand_over()`` raising stops the request before the body leaves.
    """

    def __init__(self, data, hand_over):
        self._data = urllib.parse.urlencode(data).encode()
        self._stream = io.BytesIO(self._data)
        self._hand_over = hand_over
        self.handed_over = False

    def __len__(self):  # requests sends it as Content-Length
        return len(self._data)

    # A file's read() (http.client reads the body with it), not the ORM's.
    def read(self, size=-1):  # pylint: disable=method-required-super
        if not self.handed_over:
            self._hand_over()
            self.handed_over = True
        return self._stream.read(size)


class SmsRuHttp(SmsProviderClient):
    """The SMS.ru HTTP API's transport: configuration, session, requests and
    their errors. ``config`` keys: ``api_id``, ``base_url``, ``timeout``
    (seconds); the others are read by :class:`.smsru_client.SmsRuClient`.
    """

    def __init__(self, config):
        super().__init__(config)
        self.api_id = (self.config.get("api_id") or "").strip()
        self.base_url = (self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = float(self.config.get("timeout") or DEFAULT_TIMEOUT)
        self._session = None

    # -- the one HTTP entry point ----------------------------------------
    @property
    def session(self):
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def _call(self, method_path, params=None, hand_over=None):
        """POST ``params`` to ``<base_url>/<method_path>``; return the JSON answer.

        Raises :class:`ProviderError` (``transient`` for network errors,
        timeouts, HTTP 5xx and SMS.ru codes 220/500) when the request failed.
        ``hand_over()`` is called just before the request's body is written
        (see :class:`_HandOverBody`). A ``sms/send`` whose body was written
        but got no answer (read timeout, connection dropped mid-answer) may
        have been carried out: it fails as in doubt
        (:data:`FAILURE_IN_DOUBT`), never retried, so that nobody receives a
        message twice; one whose body never left is retried.
        """
        if not self.api_id:
            raise self.error(
                _lt("No SMS.ru API key (api_id) is configured on the provider."),
                failure_type=FAILURE_CREDENTIALS,
            )
        data = dict(params or {})
        data["api_id"] = self.api_id
        data["json"] = 1
        url = f"{self.base_url}/{method_path}"
        headers = None
        body = data
        if hand_over is not None:
            body = _HandOverBody(data, hand_over)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = self.session.post(
                url, data=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            left = hand_over is None or body.handed_over
            raise self._network_error(method_path, exc, left) from exc
        self._raise_for_http_status(response)
        payload = self._json_answer(response)
        if payload.get("status") != "OK":
            raise self._request_error(
                _code(payload.get("status_code")), payload.get("status_text")
            )
        return payload

    def _network_error(self, method_path, exc, left=True):
        """The :class:`ProviderError` for a request that got no answer
        (``left``: its body may have been written)."""
        if method_path == "sms/send" and left and _may_have_arrived(exc):
            return self.error(
                _lt(
                    "SMS.ru received the request but gave no answer: the "
                    "messages may have been sent. They are not sent again so "
                    "that nobody gets them twice: check them in your SMS.ru "
                    "account before a retry."
                ),
                failure_type=FAILURE_IN_DOUBT,
            )
        if isinstance(exc, requests.Timeout):
            return self.error(
                _lt(
                    "SMS.ru did not answer within %(seconds)s seconds.",
                    seconds=format(self.timeout, "g"),
                ),
                transient=True,
            )
        return self.error(
            _lt(
                "Cannot reach SMS.ru at %(url)s (network or DNS): check the "
                "server's Internet connection. Sending is retried.",
                url=self.base_url,
            ),
            transient=True,
        )

    def _raise_for_http_status(self, response):
        """Raise :class:`ProviderError` for an HTTP 4xx/5xx answer."""
        if response.status_code >= 500:
            raise self.error(
                _lt(
                    "SMS.ru answered HTTP %(status)s; it will be retried.",
                    status=response.status_code,
                ),
                transient=True,
                code=response.status_code,
            )
        if response.status_code >= 400:
            raise self.error(
                _lt(
                    "SMS.ru refused the request (HTTP %(status)s): check the "
                    "provider's base URL.",
                    status=response.status_code,
                ),
                code=response.status_code,
            )

    def _json_answer(self, response):
        """The answer's JSON object; :class:`ProviderError` when it is not one."""
        try:
            payload = response.json()
        except (ValueError, RecursionError) as exc:  # RecursionError: deep nesting
            raise self.error(
                _lt("SMS.ru sent an answer that is not JSON."), transient=True
            ) from exc
        if not isinstance(payload, dict):
            raise self.error(_lt("SMS.ru sent an unexpected answer."), transient=True)
        return payload

    def _request_error(self, code, text=None):
        sentence, failure_type = self._error(code, text)
        transient = code is not None and _is_transient_code(code)
        if code == 204 and self.config.get("sender"):
            sentence = self._with_code(
                _lt(
                    "The sender name %(sender)s is not approved by SMS.ru: approve "
                    "it in your SMS.ru account or leave the sender empty.",
                    sender=repr(self.config["sender"]),
                ),
                code,
                text,
            )
        return self.error(
            sentence,
            transient=transient,
            failure_type="sms_server" if transient else failure_type,
            code=code,
        )

    def _error(self, code, text=None):
        """(sentence, failure_type) for an SMS.ru error code."""
        if code in REQUEST_ERRORS:
            sentence, failure_type = REQUEST_ERRORS[code]
        elif code is not None and 300 <= code < 400:
            sentence = _lt("SMS.ru refused the authentication.")
            failure_type = FAILURE_CREDENTIALS
        elif code is not None and _is_transient_code(code):
            sentence, failure_type = (
                _lt("SMS.ru reported a server error."),
                "sms_server",
            )
        else:
            sentence, failure_type = _lt("SMS.ru refused the request."), "unknown"
        return self._with_code(sentence, code, text), failure_type

    def _with_code(self, sentence, code, text=None):
        """The sentence in the client's language, then SMS.ru's code and its
        own words (Russian, as SMS.ru writes them) for support."""
        sentence = self.translate(sentence)
        if text:
            return self.translate(
                _lt(
                    "%(sentence)s (code %(code)s: %(text)s)",
                    sentence=sentence,
                    code=code,
                    text=text,
                )
            )
        return self.translate(
            _lt("%(sentence)s (code %(code)s)", sentence=sentence, code=code)
        )
