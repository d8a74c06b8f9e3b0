"""Property tests of the SMS.ru client's parsing (tools/smsru_client.py).

Whatever JSON SMS.ru (or something in its place) answers, a call returns its
documented result or raises :class:`ProviderError`; whatever a callback
carries, :meth:`parse_callback` returns status updates or refuses the whole
payload with :class:`MalformedCallback` (the route answers 400).
The HTTP session, the client's single network entry point, is replaced by a
stand-in that answers the generated payload.
"""

import json

import requests
from hypothesis import example, given
from hypothesis import strategies as st

from odoo.addons.sms_mailing.tools import provider as api
from odoo.addons.sms_provider_smsru.tools.smsru_client import (
    MalformedCallback,
    SmsRuClient,
)

NUMBERS = ["79251234567", "74993221627"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["OK", "ERROR", "100", "103", "201", "220", "1e400", "-1"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from([*NUMBERS, "000-1", "sms_id"]), st.text(max_size=6)
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
# Plausible answers: SMS.ru's keys with any values, so the deep paths are reached.
entries = st.fixed_dictionaries(
    {},
    optional={
        "status": st.one_of(st.just("OK"), scalars),
        "status_code": st.one_of(
            st.sampled_from([100, 103, 201, 207, 220, 500]), scalars
        ),
        "sms_id": st.one_of(st.just("000000-1"), scalars),
        "cost": scalars,
        "sms": scalars,
        "status_text": scalars,
    },
)
answers = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"status": st.just("OK"), "status_code": st.just(100)},
        optional={
            "sms": st.one_of(
                json_values,
                st.dictionaries(
                    st.sampled_from([*NUMBERS, "000000-1", "000000-2"]),
                    entries,
                    max_size=3,
                ),
            ),
            "balance": scalars,
            "total_cost": scalars,
            "total_sms": scalars,
            "total_limit": scalars,
            "used_today": scalars,
            "callback": json_values,
        },
    ),
)


class Answer:
    def __init__(self, status_code, body):
        self.status_code = status_code
        self.text = body

    def json(self):
        return json.loads(self.text)


class StandInSession:
    """Answers every POST with the same status and body."""

    def __init__(self, status_code, body):
        self.answer = Answer(status_code, body)
        self.posts = 0

    def post(self, url, data=None, headers=None, timeout=None):
        assert timeout
        if hasattr(data, "read"):  # a body that hands its messages over
            data.read()
        self.posts += 1
        return self.answer

    def close(self):
        pass


def client_answering(payload, status_code=200):
    client = SmsRuClient({"api_id": "key", "base_url": "http://127.0.0.1:9"})
    body = payload if isinstance(payload, str) else json.dumps(payload, allow_nan=True)
    client._session = StandInSession(status_code, body)
    return client


def _result_or_provider_error(call):
    try:
        return call()
    except api.ProviderError as exc:
        assert isinstance(exc.message, str) and exc.message
        assert isinstance(exc.transient, bool)
        return exc
    except api.NotSupported:
        return None


@given(answers, st.sampled_from([200, 200, 200, 404, 500, 503]))
@example({"status": "OK", "status_code": 100, "sms": ["79251234567"]}, 200)
@example({"status": "OK", "status_code": 100, "sms": {"79251234567": []}}, 200)
@example(
    {
        "status": "OK",
        "status_code": 100,
        "sms": {"79251234567": {"status_code": 1e400}},
    },
    200,
)
@example({"status": "OK", "status_code": 100, "callback": 5}, 200)
@example("<html>maintenance</html>", 200)
@example("[]", 200)
@example("[" * 100000 + "]" * 100000, 200)  # nested deeper than the parser's stack
def test_every_call_gives_its_result_or_provider_error(payload, status_code):
    messages = [
        api.OutgoingMessage(str(i), "+" + number, "Hi")
        for i, number in enumerate(NUMBERS)
    ]
    calls = {
        "send": lambda c: c.send(messages),
        "cost": lambda c: c.cost(["+" + n for n in NUMBERS], "Hi"),
        "balance": lambda c: c.balance(),
        "limit": lambda c: c.limit(),
        "statuses": lambda c: c.statuses(["000000-1", "000000-2"]),
        "availability": lambda c: c.check_availability(),
        "callback_add": lambda c: c.callback_add("https://example.com/cb"),
    }
    for name, call in calls.items():
        client = client_answering(payload, status_code)
        result = _result_or_provider_error(lambda c=client, f=call: f(c))
        if isinstance(result, api.ProviderError):
            continue
        if name == "send":
            assert sorted(r.key for r in result) == ["0", "1"]
            for r in result:
                assert r.status in (api.ACCEPTED, api.TRANSIENT, api.PERMANENT)
                if r.status == api.ACCEPTED:
                    assert r.provider_message_id
                else:
                    assert r.error and r.failure_type
        elif name == "statuses":
            assert sorted(u.provider_message_id for u in result) == [
                "000000-1",
                "000000-2",
            ]
            for u in result:
                assert u.state in (
                    api.STATE_PENDING,
                    api.STATE_DELIVERED,
                    api.STATE_ERROR,
                )
        elif name == "cost":
            assert isinstance(result.total_cost, float)
            assert isinstance(result.total_parts, int)
        elif name == "availability":
            assert isinstance(result.available, bool) and result.message
        elif name == "callback_add":
            assert isinstance(result, list)


callback_entries = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda kind, sms_id, code, stamp, extra: "\n".join(
            [kind, sms_id, code, stamp, *extra]
        ),
        st.sampled_from(["sms_status", "callcheck_status", "", "SMS_STATUS"]),
        st.one_of(st.just("000000-1"), st.text(max_size=12)),
        st.one_of(
            st.sampled_from(["103", "104", "-1", "100", "x", ""]), st.text(max_size=5)
        ),
        st.one_of(
            st.integers(-(10**20), 10**20).map(str),
            st.text(alphabet="0123456789²³¹٠١", max_size=25),
        ),
        st.lists(st.text(max_size=8), max_size=2),
    ),
)
payloads = st.one_of(
    st.none(),
    callback_entries,
    st.lists(st.one_of(callback_entries, scalars), max_size=5),
    st.dictionaries(
        st.sampled_from(["data", "data[]", "data[0]", "datum", "x"]),
        st.one_of(callback_entries, st.lists(callback_entries, max_size=3)),
        max_size=3,
    ),
)


@given(payloads)
@example(["sms_status\n000000-1\n103\n99999999999999999999"])  # year out of range
@example(["sms_status\n000000-1\n103\n²"])  # a digit int() does not read
@example(["sms_status\n000000-1\n103\n-5"])
@example({"data[]": ["sms_status\n000000-1\n104"]})
def test_callback_payloads_give_status_updates(payload):
    client = SmsRuClient({"api_id": "key"})
    try:
        updates = client.parse_callback(payload)
    except MalformedCallback:
        return  # a malformed sms_status entry refuses the whole payload
    assert isinstance(updates, list)
    for update in updates:
        assert isinstance(update, api.StatusUpdate)
        assert update.provider_message_id
        assert update.state in (api.STATE_PENDING, api.STATE_DELIVERED, api.STATE_ERROR)
        if update.state == api.STATE_ERROR:
            assert update.error and update.failure_type


def test_session_stand_in_is_the_only_network_entry_point():
    """The stand-in answers instead of the network: a call reaches it once."""
    client = client_answering({"status": "OK", "status_code": 100, "balance": 12.5})
    assert client.balance().amount == 12.5
    assert client.session.posts == 1
    assert isinstance(client.session, StandInSession)
    assert not isinstance(client.session, requests.Session)
