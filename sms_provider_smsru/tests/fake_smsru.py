"""A local SMS.ru: a real HTTP server on 127.0.0.1 speaking SMS.ru's API.

Written from SMS.ru's public documentation (https://sms.ru/api), not from our
client: it accepts GET and POST forms, answers JSON with ``json=1`` and SMS.ru's
plain-text format without it, checks ``api_id``, counts parts, answers per number,
keeps every sent message for ``sms/status``, charges a balance and counts the
daily limit. Tests script it:

>>> with FakeSmsRu() as server:  # doctest: +SKIP
...     server.set_number_error("79990000000", 207)
...     server.fail_next("timeout")  # or "http500", 220, 500, 201...
...     ...  # point the provider's base URL at server.url
...     server.requests  # every request received, params as parsed
...     server.set_status("79251234567", 103)  # what sms/status will say

Each request is recorded as a :class:`ReceivedRequest` (``method``, ``path``,
``params``: the GET query and the POST form merged, last value wins as in PHP).
"""

import http.server
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

try:
    from odoo.addons.sms_mailing.tools.segments import analyze, transliterate
except ImportError:  # pragma: no cover - the core always ships segments
    analyze = transliterate = None

# Per-number and request error texts, as SMS.ru documents them (abridged).
STATUS_TEXTS = {
    -1: "Сообщение не найдено",
    100: "Сообщение находится в нашей очереди",
    101: "Сообщение передается оператору",
    102: "Сообщение отправлено (в пути)",
    103: "Сообщение доставлено",
    104: "Не может быть доставлено: время жизни истекло",
    105: "Не может быть доставлено: удалено оператором",
    106: "Не может быть доставлено: сбой в телефоне",
    107: "Не может быть доставлено: неизвестная причина",
    108: "Не может быть доставлено: отклонено",
    110: "Сообщение прочитано",
    150: "Не может быть доставлено: не найден маршрут на данный номер",
    200: "Неправильный api_id",
    201: "Не хватает средств на лицевом счету",
    202: "Неправильно указан номер телефона получателя, либо на него нет маршрута",
    203: "Нет текста сообщения",
    204: "Имя отправителя не согласовано с администрацией",
    205: "Сообщение слишком длинное (превышает 8 СМС)",
    206: "Будет превышен или уже превышен дневной лимит на отправку сообщений",
    207: "На этот номер нельзя отправлять сообщения, либо указано более 100 номеров",
    208: "Параметр time указан неправильно",
    209: "Вы добавили этот номер (или один из номеров) в стоп-лист",
    211: "Метод не найден",
    213: "Указано более 100 номеров в списке получателей",
    220: "Сервис временно недоступен, попробуйте чуть позже",
    500: "Ошибка на сервере. Повторите запрос.",
    901: "Callback: URL неверный (не начинается на http://)",
}

CALLBACK_LIMIT = 5  # SMS.ru keeps a few handler URLs per account


@dataclass
class ReceivedRequest:
    method: str
    path: str  # without the leading "/": "sms/send"
    params: dict  # query and form merged, str -> str
    body: str = ""

    def recipients(self):
        """``{number: text}`` as SMS.ru reads the ``to``/``msg`` parameters."""
        return _recipients(self.params)


@dataclass
class SentMessage:
    sms_id: str
    number: str
    text: str
    parts: int
    cost: float
    status_code: int = 100
    sender: str | None = None
    sent_at: float = field(default_factory=time.time)


def _recipients(params):
    per_number = {
        key[3:-1]: value
        for key, value in params.items()
        if key.startswith("to[") and key.endswith("]")
    }
    if per_number:
        return per_number
    numbers = [n.strip() for n in params.get("to", "").split(",") if n.strip()]
    return {number: params.get("msg", "") for number in numbers}


def count_parts(text):
    if analyze is not None:
        return analyze(text).parts
    gsm = all(ord(c) < 128 for c in text)  # a rough fallback
    single, multi = (160, 153) if gsm else (70, 67)
    return 1 if len(text) <= single else -(-len(text) // multi)


class FakeSmsRu:
    """The fake SMS.ru server; use as a context manager."""

    def __init__(
        self,
        api_id="test-api-id",
        balance=1000.0,
        price_per_part=3.25,
        total_limit=5000,
        senders=("SMS Aero", "MyShop"),
        sleep=2.0,
    ):
        self.api_id = api_id
        self.balance = balance
        self.price_per_part = price_per_part
        self.total_limit = total_limit
        self.used_today = 0
        self.senders = list(senders)
        self.sleep = sleep  # how long a "timeout" failure keeps the client waiting
        self.requests = []
        self.headers_read = 0  # requests whose headers were read (body or not)
        self.messages = {}  # sms_id -> SentMessage
        self.test_messages = []  # accepted with test=1: nothing sent, not kept
        self.number_errors = {}  # number -> per-number error code
        self.number_statuses = {}  # number -> status code sms/status will report
        self.stoplist = {}
        self.callbacks = []
        self._failures = []
        self._outage = []  # failure modes answered in turn while the outage lasts
        self._outage_turn = 0
        self._counter = 0
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- lifecycle -------------------------------------------------------
    def start(self):
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-smsru",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- scripting -------------------------------------------------------
    def fail_next(self, mode, count=1, after=0):
        """Make the next ``count`` requests fail (after ``after`` good ones).

        ``mode``: ``"timeout"`` (answer after ``sleep`` seconds, nothing done),
        ``"drop"`` (the connection closes without an answer),
        ``"http500"`` (an HTML error page), ``"garbage"`` (not JSON) or an SMS.ru
        request error code (``220``, ``500``, ``201``, ``200``...).
        """
        with self._lock:
            self._failures.extend([None] * after + [mode] * count)

    def outage(self, *modes):
        """Fail every request from now on until :meth:`end_outage`, cycling
        through ``modes`` (as :meth:`fail_next` takes them: ``"http500"``,
        ``"timeout"``, ``220``, ``500``...)."""
        with self._lock:
            self._outage = list(modes)
            self._outage_turn = 0

    def end_outage(self):
        with self._lock:
            self._outage = []

    def set_number_error(self, number, code):
        """``sms/send`` and ``sms/cost`` refuse ``number`` with ``code`` (207...)."""
        self.number_errors[_digits(number)] = code

    def set_status(self, ident, code):
        """What ``sms/status`` says: ``ident`` is an sms_id or a number."""
        with self._lock:
            if ident in self.messages:
                self.messages[ident].status_code = code
                return
            number = _digits(ident)
            self.number_statuses[number] = code
            for message in self.messages.values():
                if message.number == number:
                    message.status_code = code

    def set_all_statuses(self, code):
        with self._lock:
            for message in self.messages.values():
                message.status_code = code

    def requests_to(self, path):
        return [r for r in self.requests if r.path == path.strip("/")]

    def message_for(self, number):
        """The last message sent to ``number``."""
        number = _digits(number)
        found = [m for m in self.messages.values() if m.number == number]
        return found[-1] if found else None

    def callback_form(self, sms_ids):
        """The form SMS.ru POSTs to a callback handler for these messages.

        A list of ``("data[]", entry)`` pairs for ``requests`` / ``url_open``.
        """
        form = []
        for sms_id in sms_ids:
            message = self.messages[sms_id]
            entry = f"sms_status\n{sms_id}\n{message.status_code}\n{int(time.time())}"
            form.append(("data[]", entry))
        return form

    # -- the API ---------------------------------------------------------
    def handle(self, method, path, params, body):
        with self._lock:
            self.requests.append(ReceivedRequest(method, path, dict(params), body))
            failure = self._failures.pop(0) if self._failures else None
            if failure is None and self._outage:
                failure = self._outage[self._outage_turn % len(self._outage)]
                self._outage_turn += 1
        if failure == "timeout":
            time.sleep(self.sleep)
            return 200, "text/plain", "ignored"
        if failure == "drop":
            return None, None, None
        if failure == "http500":
            return 500, "text/html", "<html><body>502 Bad Gateway</body></html>"
        if failure == "garbage":
            return 200, "text/html", "<html>maintenance</html>"
        as_json = params.get("json") == "1"
        if failure is not None:
            return self._answer(as_json, self._error(int(failure)))
        if params.get("api_id") != self.api_id:
            return self._answer(as_json, self._error(200))
        route = {
            "sms/send": self._send,
            "sms/cost": self._cost,
            "sms/status": self._status,
            "auth/check": lambda p: {"status": "OK", "status_code": 100},
            "my/balance": lambda p: self._ok(balance=round(self.balance, 2)),
            "my/limit": lambda p: self._ok(
                total_limit=self.total_limit, used_today=self.used_today
            ),
            "my/senders": lambda p: self._ok(senders=self.senders),
            "stoplist/add": self._stoplist_add,
            "stoplist/get": lambda p: self._ok(stoplist=dict(self.stoplist)),
            "callback/add": self._callback_add,
            "callback/get": lambda p: self._ok(callback=list(self.callbacks)),
        }.get(path)
        if route is None:
            return self._answer(as_json, self._error(211))
        with self._lock:
            return self._answer(as_json, route(params))

    @staticmethod
    def _ok(**values):
        return dict({"status": "OK", "status_code": 100}, **values)

    @staticmethod
    def _error(code):
        return {
            "status": "ERROR",
            "status_code": code,
            "status_text": STATUS_TEXTS.get(code, "Ошибка"),
        }

    @staticmethod
    def _answer(as_json, payload):
        if as_json:
            return 200, "application/json", json.dumps(payload, ensure_ascii=False)
        # SMS.ru's plain-text format: the code, then one line per item.
        lines = [str(payload["status_code"])]
        for entry in (payload.get("sms") or {}).values():
            lines.append(entry.get("sms_id") or str(entry["status_code"]))
        if "balance" in payload:
            lines.append(f"balance={payload['balance']}")
        return 200, "text/plain", "\n".join(lines)

    def _text_parts(self, text, params):
        if params.get("translit") == "1" and transliterate is not None:
            text = transliterate(text)
        return count_parts(text)

    def _check_message(self, number, text, params):
        """Per-number error code, or None when SMS.ru would take it."""
        if not number.isdigit() or not 10 <= len(number) <= 15:
            return 202
        if number in self.number_errors:
            return self.number_errors[number]
        if number in self.stoplist:
            return 209
        if not text:
            return 203
        if self._text_parts(text, params) > 8:
            return 205
        return None

    def _request_check(self, params, recipients):
        if not recipients:
            return 202
        if len(recipients) > 100:
            return 213
        sender = params.get("from")
        if sender and sender not in self.senders:
            return 204
        if "time" in params:
            try:
                at = int(params["time"])
            except ValueError:
                return 208
            if not time.time() - 60 < at < time.time() + 7 * 86400:
                return 208
        return None

    def _send(self, params):
        recipients = _recipients(params)
        error = self._request_check(params, recipients)
        if error:
            return self._error(error)
        test = params.get("test") == "1"
        checked = {n: self._check_message(n, t, params) for n, t in recipients.items()}
        accepted = [n for n, code in checked.items() if code is None]
        cost = sum(
            self._text_parts(recipients[n], params) * self.price_per_part
            for n in accepted
        )
        if not test and cost > self.balance + 1e-9:
            return self._error(201)
        if not test and self.used_today + len(accepted) > self.total_limit:
            return self._error(206)
        result = {}
        for number, text in recipients.items():
            if checked[number] is not None:
                result[number] = self._error(checked[number])
                continue
            self._counter += 1
            sms_id = f"202611-{10000000 + self._counter}"
            parts = self._text_parts(text, params)
            message = SentMessage(
                sms_id=sms_id,
                number=number,
                text=text,
                parts=parts,
                cost=round(parts * self.price_per_part, 2),
                status_code=self.number_statuses.get(number, 100),
                sender=params.get("from"),
            )
            if test:
                self.test_messages.append(message)
            else:
                self.messages[sms_id] = message
                self.balance -= message.cost
                self.used_today += 1
            result[number] = {"status": "OK", "status_code": 100, "sms_id": sms_id}
        return self._ok(sms=result, balance=round(self.balance, 2))

    def _cost(self, params):
        recipients = _recipients(params)
        error = self._request_check(params, recipients)
        if error:
            return self._error(error)
        result = {}
        total_cost = 0.0
        total_sms = 0
        for number, text in recipients.items():
            code = self._check_message(number, text, params)
            if code is not None:
                result[number] = self._error(code)
                continue
            parts = self._text_parts(text, params)
            cost = round(parts * self.price_per_part, 2)
            result[number] = {
                "status": "OK",
                "status_code": 100,
                "cost": cost,
                "sms": parts,
            }
            total_cost += cost
            total_sms += parts
        return self._ok(
            sms=result, total_cost=round(total_cost, 2), total_sms=total_sms
        )

    def _status(self, params):
        ids = [i.strip() for i in params.get("sms_id", "").split(",") if i.strip()]
        if not ids or len(ids) > 100:
            return self._error(-1 if not ids else 213)
        result = {}
        for sms_id in ids:
            message = self.messages.get(sms_id)
            if message is None:
                result[sms_id] = self._error(-1)
                continue
            result[sms_id] = {
                "status": "OK",
                "status_code": message.status_code,
                "cost": message.cost,
                "status_text": STATUS_TEXTS.get(message.status_code, ""),
            }
        return self._ok(sms=result, balance=round(self.balance, 2))

    def _stoplist_add(self, params):
        number = params.get("stoplist_phone", "")
        if not number.isdigit():
            return self._error(202)
        self.stoplist[number] = params.get("stoplist_text", "")
        return self._ok()

    def _callback_add(self, params):
        url = params.get("url", "")
        if not url.startswith(("http://", "https://")):
            return self._error(901)
        if url not in self.callbacks and len(self.callbacks) < CALLBACK_LIMIT:
            self.callbacks.append(url)
        return self._ok(callback=list(self.callbacks))


def _digits(number):
    return "".join(c for c in str(number) if c.isdigit())


class _Handler(http.server.BaseHTTPRequestHandler):
    fake = None  # set on the subclass built by FakeSmsRu.start()
    protocol_version = "HTTP/1.1"

    def _dispatch(self):
        split = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        body = ""
        with self.fake._lock:
            self.fake.headers_read += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            body = self.rfile.read(length).decode("utf-8")
            if self.headers.get_content_type() == "application/x-www-form-urlencoded":
                params.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
        status, content_type, text = self.fake.handle(
            self.command, split.path.strip("/"), params, body
        )
        if status is None:
            # "drop": the request was read (and, for a send, carried out), the
            # connection closes without an answer.
            self.close_connection = True
            return
        data = text.encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeout test)

    do_GET = do_POST = _dispatch

    def log_message(self, *args):
        pass  # no access log in the test output
