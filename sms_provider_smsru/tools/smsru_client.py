"""SMS.ru HTTP API client (https://sms.ru/api).

Plain Python, no ORM: ``sms.provider._get_client()`` builds it from the provider's
configuration and the core only talks to it through the
:class:`~odoo.addons.sms_mailing.tools.provider.SmsProviderClient` interface.

Every request goes through :meth:`SmsRuClient._call`: a POST form with ``api_id``
and ``json=1`` on one ``requests.Session`` with an explicit timeout. SMS.ru answers
HTTP 200 with ``{"status": "OK"|"ERROR", "status_code": ..., ...}``; a request
error becomes a :class:`ProviderError` with a sentence a user understands.

Numbers reach SMS.ru as digits without the "+" (``79251234567``).
"""

import functools

from odoo.addons.sms_mailing.tools import phone
from odoo.addons.sms_mailing.tools.exceptions import ProviderError
from odoo.addons.sms_mailing.tools.i18n import lazy_translate
from odoo.addons.sms_mailing.tools.provider import (
    ACCEPTED,
    FAILURE_IN_DOUBT,
    PERMANENT,
    STATE_DELIVERED,
    STATE_ERROR,
    STATE_PENDING,
    TRANSIENT,
    Availability,
    Balance,
    CostEstimate,
    SendResult,
    StatusUpdate,
)

# The transport, the codes and the readers of SMS.ru's values, importable
# from here as before.
from .smsru_codes import (  # noqa: F401
    CURRENCY,
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    DELIVERED_CODES,
    PENDING_CODES,
    REQUEST_ERRORS,
    STATUS_FAILURES,
    TRANSIENT_CODES,
    MalformedCallback,
    _code,
    _float,
    _is_transient_code,
    _mapping,
    _timestamp,
)
from .smsru_http import SmsRuHttp, _may_have_arrived  # noqa: F401

_lt = lazy_translate(__name__)


class SmsRuClient(SmsRuHttp):
    """Client of the SMS.ru HTTP API.

    ``config`` keys (from ``sms.provider._get_client_config()``): ``api_id``,
    ``base_url``, ``timeout`` (seconds), ``sender`` (approved sender name),
    ``test_mode``, ``translit``, ``daytime``, ``ttl`` (minutes, 1-1440).
    """

    max_batch = 100
    hands_over_itself = True  # each sms/send as its body is written
    supports_status = True
    status_batch = 100

    # -- sending ---------------------------------------------------------
    def _options(self):
        params = {}
        if self.config.get("sender"):
            params["from"] = self.config["sender"]
        if self.config.get("ttl"):
            params["ttl"] = max(1, min(1440, int(self.config["ttl"])))
        if self.config.get("daytime"):
            params["daytime"] = 1
        if self.config.get("translit"):
            params["translit"] = 1
        if self.config.get("test_mode"):
            params["test"] = 1
        return params

    @staticmethod
    def _recipients(texts_by_number):
        """``to``/``msg`` when all texts are equal, else ``to[number]=text``."""
        texts = set(texts_by_number.values())
        if len(texts) == 1:
            return {"to": ",".join(texts_by_number), "msg": texts.pop()}
        return {f"to[{number}]": text for number, text in texts_by_number.items()}

    def _plan(self, messages):
        """Split messages into requests of at most 100 distinct numbers.

        SMS.ru answers per number, so a number sent twice in a batch goes in a
        later request.
        """
        rounds = []
        for message in messages:
            number = phone.digits(message.number)
            for chunk in rounds:
                if number not in chunk and len(chunk) < self.max_batch:
                    chunk[number] = message
                    break
            else:
                rounds.append({number: message})
        return rounds

    def send(self, messages):
        """Send ``messages``; one ``sms/send`` request per 100 numbers.

        Raises :class:`ProviderError` when the first request fails; when a later
        one fails, the messages already taken keep their results and the others
        get the error as their own (never sent twice).
        """
        results, valid = self._check_numbers(messages)
        sent = False
        in_doubt = None
        options = self._options()
        for chunk in self._plan(valid):
            if in_doubt is not None:
                # A request before this one may have been carried out: these
                # were not tried, they wait for the next run.
                results.extend(
                    self._failed_results(chunk, TRANSIENT, "sms_server", in_doubt)
                )
                continue
            params = dict(options)
            params.update(
                self._recipients(
                    {number: message.body for number, message in chunk.items()}
                )
            )
            keys = [message.key for message in chunk.values()]
            try:
                payload = self._call(
                    "sms/send", params, functools.partial(self.handing_over, keys)
                )
            except ProviderError as err:
                if not sent and err.failure_type != FAILURE_IN_DOUBT:
                    raise
                if err.failure_type == FAILURE_IN_DOUBT:
                    in_doubt = err
                status = TRANSIENT if err.transient else PERMANENT
                results.extend(
                    self._failed_results(chunk, status, err.failure_type, err)
                )
                continue
            sent = True
            per_number = _mapping(payload.get("sms"))
            for number, message in chunk.items():
                results.append(self._send_result(message, per_number.get(number)))
        return results

    def _check_numbers(self, messages):
        """(results of the messages whose number cannot be one, the others)."""
        results = []
        valid = []
        for message in messages:
            if len(phone.digits(message.number)) < 7:
                results.append(
                    SendResult(
                        message.key,
                        PERMANENT,
                        failure_type="sms_number_format",
                        error=self.translate(
                            _lt(
                                "%(number)s is not a valid phone number.",
                                number=repr(message.number),
                            )
                        ),
                    )
                )
            else:
                valid.append(message)
        return results, valid

    @staticmethod
    def _failed_results(chunk, status, failure_type, err):
        """One result per message of ``chunk``, all failed with ``err``."""
        return [
            SendResult(
                message.key, status, failure_type=failure_type, error=err.message
            )
            for message in chunk.values()
        ]

    def _send_result(self, message, entry):
        if not isinstance(entry, dict):
            return SendResult(
                message.key,
                PERMANENT,
                failure_type="unknown",
                error=self.translate(_lt("SMS.ru did not report on this number.")),
            )
        code = _code(entry.get("status_code"))
        if entry.get("status") == "OK" and code == 100 and entry.get("sms_id"):
            return SendResult(
                message.key,
                ACCEPTED,
                provider_message_id=str(entry["sms_id"]),
                cost=_float(entry.get("cost")),
                parts=_code(entry.get("sms")),
            )
        sentence, failure_type = self._error(code, entry.get("status_text"))
        if code is not None and _is_transient_code(code):
            return SendResult(
                message.key, TRANSIENT, failure_type="sms_server", error=sentence
            )
        return SendResult(
            message.key, PERMANENT, failure_type=failure_type, error=sentence
        )

    def cost(self, numbers, text):
        total_cost = 0.0
        total_parts = 0
        per_number = {}
        digits = list(dict.fromkeys(phone.digits(n) for n in numbers))
        back = {phone.digits(n): n for n in numbers}
        options = {
            key: value
            for key, value in self._options().items()
            if key in ("from", "translit")
        }
        for start in range(0, len(digits), self.max_batch):
            chunk = digits[start : start + self.max_batch]
            params = dict(options, to=",".join(chunk), msg=text)
            payload = self._call("sms/cost", params)
            for number, entry in _mapping(payload.get("sms")).items():
                if not isinstance(entry, dict) or entry.get("status") != "OK":
                    continue
                cost = _float(entry.get("cost")) or 0.0
                parts = _code(entry.get("sms")) or 0
                per_number[back.get(number, number)] = cost
                total_cost += cost
                total_parts += parts
        return CostEstimate(
            total_cost=round(total_cost, 2),
            total_parts=total_parts,
            currency=CURRENCY,
            per_number=per_number,
        )

    def balance(self):
        payload = self._call("my/balance")
        return Balance(amount=_float(payload.get("balance")), currency=CURRENCY)

    def limit(self):
        """``(total_limit, used_today)`` of the account (``my/limit``)."""
        payload = self._call("my/limit")
        return _code(payload.get("total_limit")), _code(payload.get("used_today"))

    def check_availability(self):
        try:
            self._call("auth/check")
            total_limit, used_today = self.limit()
        except ProviderError as exc:
            return Availability(False, exc.message, {"code": exc.code})
        return Availability(
            True,
            self.translate(
                _lt(
                    "Connected to SMS.ru: daily limit %(limit)s messages, "
                    "%(used)s used today.",
                    limit=total_limit,
                    used=used_today,
                )
            ),
            {"total_limit": total_limit, "used_today": used_today},
        )

    # -- delivery --------------------------------------------------------
    def statuses(self, provider_message_ids):
        """Ask ``sms/status`` about at most 100 ids a request.

        A batch whose request fails transiently yields ``transient`` updates
        for its ids (asked again later); other request errors raise.
        """
        updates = []
        ids = [str(i) for i in provider_message_ids]
        for start in range(0, len(ids), self.status_batch):
            chunk = ids[start : start + self.status_batch]
            try:
                payload = self._call("sms/status", {"sms_id": ",".join(chunk)})
            except ProviderError as exc:
                if not exc.transient:
                    raise
                updates.extend(
                    StatusUpdate(i, STATE_PENDING, error=exc.message, transient=True)
                    for i in chunk
                )
                continue
            per_id = _mapping(payload.get("sms"))
            for sms_id in chunk:
                entry = per_id.get(sms_id)
                if not isinstance(entry, dict):
                    updates.append(
                        StatusUpdate(
                            sms_id,
                            STATE_PENDING,
                            error=self.translate(
                                _lt("SMS.ru did not report on this message.")
                            ),
                            transient=True,
                        )
                    )
                    continue
                updates.append(
                    self._status_update(
                        sms_id,
                        _code(entry.get("status_code")),
                        text=entry.get("status_text"),
                        cost=_float(entry.get("cost")),
                    )
                )
        return updates

    def _status_update(self, sms_id, code, text=None, cost=None, at=None):
        """Map an SMS.ru status code to a :class:`StatusUpdate`."""
        if code in DELIVERED_CODES:
            return StatusUpdate(sms_id, STATE_DELIVERED, final=True, cost=cost, at=at)
        if code in PENDING_CODES:
            return StatusUpdate(sms_id, STATE_PENDING, cost=cost, at=at)
        if code is not None and _is_transient_code(code):
            sentence, _failure = self._error(code, text)
            return StatusUpdate(
                sms_id, STATE_PENDING, error=sentence, cost=cost, transient=True, at=at
            )
        if code in STATUS_FAILURES:
            sentence, failure_type = STATUS_FAILURES[code]
            sentence = self._with_code(sentence, code, text)
        else:
            sentence, failure_type = self._error(code, text)
        return StatusUpdate(
            sms_id,
            STATE_ERROR,
            final=True,
            failure_type=failure_type,
            error=sentence,
            cost=cost,
            at=at,
        )

    def parse_callback(self, payload):
        """Status updates from an SMS.ru callback.

        SMS.ru POSTs the form field ``data[]`` (several values); each value is
        lines ``sms_status``, ``<sms_id>``, ``<status_code>`` and optionally a
        UNIX time. ``payload`` is the list of those values, a single value, or a
        mapping of form fields (values may be lists) whose keys start with
        ``data``. Entries of other types (``callcheck_status``...) are ignored.
        An ``sms_status`` entry without a message id, with a status code that
        is not a number or a time that is not a date raises
        :class:`MalformedCallback` (nothing of the payload should be applied).
        """
        updates = []
        for entry in self._callback_entries(payload):
            lines = [line.strip() for line in entry.replace("\r", "").split("\n")]
            if lines[0] != "sms_status":
                continue
            code = _code(lines[2]) if len(lines) >= 3 else None
            if not lines[1:2] or not lines[1] or code is None:
                raise MalformedCallback(f"Malformed sms_status entry: {entry[:100]!r}")
            at = _timestamp(lines[3]) if len(lines) > 3 and lines[3] else None
            if len(lines) > 3 and lines[3] and at is None:
                raise MalformedCallback(
                    f"Malformed time in sms_status entry: {lines[3][:30]!r}"
                )
            updates.append(self._status_update(lines[1], code, at=at))
        return updates

    @staticmethod
    def _callback_entries(payload):
        if payload is None:
            return []
        if isinstance(payload, str):
            return [payload]
        if hasattr(payload, "items"):
            getlist = getattr(payload, "getlist", None)
            entries = []
            for key in payload:
                if key == "data" or key.startswith("data["):
                    values = getlist(key) if getlist else payload[key]
                    if isinstance(values, str):
                        values = [values]
                    entries.extend(values)
            return entries
        return [entry for entry in payload if isinstance(entry, str)]

    # -- account ---------------------------------------------------------
    def stoplist_add(self, number, text):
        """Put ``number`` on the account's stop list (nothing is sent to it)."""
        self._call(
            "stoplist/add",
            {"stoplist_phone": phone.digits(number), "stoplist_text": text},
        )
        return True

    def callback_add(self, url):
        """Register ``url`` as a callback handler; return the registered URLs."""
        payload = self._call("callback/add", {"url": url})
        callbacks = payload.get("callback")
        return [str(u) for u in callbacks] if isinstance(callbacks, list) else []

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None
