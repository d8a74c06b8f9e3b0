"""SmsRuClient against the fake SMS.ru server (real HTTP on 127.0.0.1, no DB)."""

import datetime
import socket
import time

import pytest

from odoo.addons.sms_mailing.tools.provider import (
    ACCEPTED,
    FAILURE_IN_DOUBT,
    PERMANENT,
    STATE_DELIVERED,
    STATE_ERROR,
    STATE_PENDING,
    TRANSIENT,
    OutgoingMessage,
    ProviderError,
)
from odoo.addons.sms_provider_smsru.tests.fake_smsru import FakeSmsRu
from odoo.addons.sms_provider_smsru.tools.smsru_client import (
    MalformedCallback,
    SmsRuClient,
)

API_ID = "4F2A1B3C-0000-1111-2222-333344445555"


@pytest.fixture
def server():
    with FakeSmsRu(api_id=API_ID, balance=10000.0, sleep=1.5) as fake:
        yield fake


@pytest.fixture
def make_client(server):
    clients = []

    def make(**config):
        values = {"api_id": API_ID, "base_url": server.url, "timeout": 5}
        values.update(config)
        client = SmsRuClient(values)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


def number(i):
    return f"+7925{i:07d}"


def messages(count, body="Hello {i}", start=0):
    return [
        OutgoingMessage(key=f"k{i}", number=number(i), body=body.format(i=i))
        for i in range(start, start + count)
    ]


def by_key(results):
    return {result.key: result for result in results}


# -- send -------------------------------------------------------------------


def test_send_same_text_one_request_numbers_without_plus(server, client):
    msgs = messages(3, body="Sale starts tomorrow")
    results = by_key(client.send(msgs))

    assert len(server.requests) == 1
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", "sms/send")
    assert request.params["to"] == "79250000000,79250000001,79250000002"
    assert request.params["msg"] == "Sale starts tomorrow"
    assert request.params["json"] == "1"
    assert request.params["api_id"] == API_ID
    assert "test" not in request.params
    assert "+" not in request.body.replace("%2B", "+").split("msg=")[0]
    assert not [key for key in request.params if key.startswith("to[")]
    for msg in msgs:
        result = results[msg.key]
        assert result.status == ACCEPTED
        sent = server.messages[result.provider_message_id]
        assert sent.number == msg.number[1:]
        assert sent.text == "Sale starts tomorrow"


def test_send_250_personalised_texts_in_three_requests(server, client):
    msgs = messages(250, body="Dear client {i}, your code is {i}")
    results = by_key(client.send(msgs))

    sends = server.requests_to("sms/send")
    assert [len(r.recipients()) for r in sends] == [100, 100, 50]
    received = {}
    for request in sends:
        assert "to" not in request.params and "msg" not in request.params
        assert request.params["json"] == "1"
        received.update(request.recipients())
    assert received == {m.number[1:]: m.body for m in msgs}
    assert all(n.isdigit() for n in received)
    assert {r.status for r in results.values()} == {ACCEPTED}
    for msg in msgs:
        sent = server.messages[results[msg.key].provider_message_id]
        assert (sent.number, sent.text) == (msg.number[1:], msg.body)
    assert len({r.provider_message_id for r in results.values()}) == 250


def test_send_groups_each_request_by_its_own_texts(server, client):
    msgs = messages(100, body="Same for all") + messages(
        30, body="Personal {i}", start=100
    )
    client.send(msgs)

    first, second = server.requests_to("sms/send")
    assert first.params["msg"] == "Same for all"
    assert len(first.params["to"].split(",")) == 100
    assert second.recipients() == {m.number[1:]: m.body for m in msgs[100:]}
    assert "msg" not in second.params


def test_same_number_twice_goes_in_separate_requests(server, client):
    msgs = [
        OutgoingMessage("a", "+79251111111", "first"),
        OutgoingMessage("b", "+79251111111", "second"),
        OutgoingMessage("c", "+79252222222", "third"),
    ]
    results = by_key(client.send(msgs))

    sends = server.requests_to("sms/send")
    assert [r.recipients() for r in sends] == [
        {"79251111111": "first", "79252222222": "third"},
        {"79251111111": "second"},
    ]
    assert server.messages[results["a"].provider_message_id].text == "first"
    assert server.messages[results["b"].provider_message_id].text == "second"


def test_later_request_failure_keeps_earlier_results(server, client):
    """A duplicate number makes a second request: if it fails, the first stands."""
    msgs = [
        OutgoingMessage("a", "+79251111111", "first"),
        OutgoingMessage("b", "+79252222222", "second"),
        OutgoingMessage("c", "+79251111111", "again"),
    ]
    server.fail_next(201)  # the first request fails: the whole call raises
    with pytest.raises(ProviderError):
        client.send(msgs)

    server.fail_next(220, after=1)  # the second request fails
    results = by_key(client.send(msgs))
    assert results["a"].status == ACCEPTED and results["b"].status == ACCEPTED
    assert results["c"].status == TRANSIENT
    assert results["c"].failure_type == "sms_server"
    assert [m.text for m in server.messages.values()] == ["first", "second"]


def test_send_options_and_test_mode(server, make_client):
    client = make_client(
        sender="MyShop", ttl=90, daytime=True, translit=True, test_mode=True
    )
    balance = server.balance
    results = client.send(messages(2, body="Привет"))

    params = server.requests[0].params
    assert params["from"] == "MyShop"
    assert params["ttl"] == "90"
    assert params["daytime"] == "1"
    assert params["translit"] == "1"
    assert params["test"] == "1"
    assert {r.status for r in results} == {ACCEPTED}
    assert len(server.test_messages) == 2 and not server.messages
    assert server.balance == balance


def test_options_off_by_default(server, client):
    client.send(messages(1))

    params = server.requests[0].params
    for key in ("from", "ttl", "daytime", "translit", "test", "time"):
        assert key not in params


def test_per_number_failures_read_one_by_one(server, client):
    server.set_number_error("79250000001", 207)
    server.set_number_error("79250000002", 202)
    server.stoplist["79250000003"] = "opted out"
    server.set_number_error("79250000004", 231)
    results = by_key(client.send(messages(5)))

    assert results["k0"].status == ACCEPTED
    expected = {
        "k1": "sms_invalid_destination",
        "k2": "sms_number_format",
        "k3": "sms_blacklist",
        "k4": "sms_duplicate",
    }
    for key, failure_type in expected.items():
        assert results[key].status == PERMANENT
        assert results[key].failure_type == failure_type
        assert results[key].provider_message_id is None
        assert results[key].error
    assert "stop list" in results["k3"].error
    assert [m.number for m in server.messages.values()] == ["79250000000"]


def test_numbers_that_are_not_numbers_are_not_sent(server, client):
    msgs = [
        OutgoingMessage("empty", "", "x"),
        OutgoingMessage("short", "+12", "x"),
        OutgoingMessage("ok", "+79251234567", "x"),
    ]
    results = by_key(client.send(msgs))
    assert results["empty"].status == PERMANENT
    assert results["short"].failure_type == "sms_number_format"
    assert results["ok"].status == ACCEPTED
    assert [r.recipients() for r in server.requests] == [{"79251234567": "x"}]
    assert client.send(msgs[:1])[0].status == PERMANENT
    assert len(server.requests) == 1


def test_per_number_transient_code(server, client):
    server.set_number_error("79250000001", 220)
    results = by_key(client.send(messages(2)))
    assert results["k0"].status == ACCEPTED
    assert results["k1"].status == TRANSIENT
    assert results["k1"].failure_type == "sms_server"


@pytest.mark.parametrize(
    "setup, failure_type, words",
    [
        (
            lambda s, c: setattr(c, "api_id", "wrong"),
            "sms_credentials",  # not Odoo's "Unregistered Account"
            "SMS.ru rejected the API key (api_id). (code 200",
        ),
        (lambda s, c: setattr(s, "balance", 1.0), "sms_credit", "Insufficient funds"),
        (
            lambda s, c: c.config.update(sender="Unknown Co"),
            "sms_acc",
            "'Unknown Co' is not approved",
        ),
        (lambda s, c: setattr(s, "used_today", 4999), "sms_acc", "daily sending limit"),
        (lambda s, c: s.fail_next(201), "sms_credit", "Insufficient funds"),
    ],
    ids=["api_id", "funds", "sender", "daily_limit", "forced_201"],
)
def test_request_errors_are_permanent_with_clear_messages(
    server, client, setup, failure_type, words
):
    setup(server, client)
    with pytest.raises(ProviderError) as info:
        client.send(messages(3))
    assert not info.value.transient
    assert info.value.failure_type == failure_type
    assert words in info.value.message
    assert not server.messages


@pytest.mark.parametrize("mode", [220, 500, "http500", "garbage"])
def test_transient_request_errors(server, client, mode):
    server.fail_next(mode)
    with pytest.raises(ProviderError) as info:
        client.send(messages(2))
    assert info.value.transient
    assert info.value.failure_type == "sms_server"
    assert not server.messages
    # the next attempt goes through
    assert {r.status for r in client.send(messages(2))} == {ACCEPTED}
    assert len(server.messages) == 2


def test_timeout_of_a_send_leaves_the_messages_in_doubt(server, make_client):
    """SMS.ru got the request but did not answer: it may have sent the
    messages, so they fail as in doubt and are never sent again."""
    client = make_client(timeout=0.3)
    server.fail_next("timeout")
    started = time.monotonic()
    results = client.send(messages(2))
    assert time.monotonic() - started < 1.4
    assert [r.status for r in results] == [PERMANENT, PERMANENT]
    assert {r.failure_type for r in results} == {FAILURE_IN_DOUBT}
    assert "may have been sent" in results[0].error
    assert len(server.requests) == 1


def test_each_request_is_handed_over_after_its_headers_before_its_body(server, client):
    """A crash between the hand-over and the body leaves a request SMS.ru
    cannot carry out: the hand-over happens once the connection is open and
    the headers are written, just before the body (one per request)."""
    seen = []

    def hand_over(keys):
        requests_before = len(server.requests_to("sms/send"))
        deadline = time.monotonic() + 5
        while server.headers_read <= requests_before and time.monotonic() < deadline:
            time.sleep(0.005)  # the server's thread reads the headers
        seen.append((keys, server.headers_read, requests_before))

    client.on_hand_over = hand_over
    batch = messages(2) + [OutgoingMessage("dup", number(0), "Again")]
    results = by_key(client.send(batch))
    assert {r.status for r in results.values()} == {ACCEPTED}
    # Two requests (the same number twice): each handed over with its own
    # messages when SMS.ru had its headers and had not yet received its body.
    assert seen == [(["k0", "k1"], 1, 0), (["dup"], 2, 1)]
    assert len(server.requests_to("sms/send")) == 2


def test_a_request_that_never_left_is_not_handed_over_nor_in_doubt():
    """Connection refused: nothing handed over, retried (not in doubt)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SmsRuClient({"api_id": API_ID, "base_url": f"http://127.0.0.1:{port}"})
    handed = []
    client.on_hand_over = handed.append
    with pytest.raises(ProviderError) as info:
        client.send(messages(2))
    assert info.value.transient
    assert info.value.failure_type != FAILURE_IN_DOUBT
    assert handed == []


def test_a_failed_hand_over_sends_nothing(server, client):
    """The mark could not be written: the body never leaves, SMS.ru carries
    nothing out and the messages wait for the next attempt."""

    def refuse(keys):
        raise ProviderError("database gone", transient=True)

    client.on_hand_over = refuse
    with pytest.raises(ProviderError) as info:
        client.send(messages(2))
    assert info.value.transient
    assert server.requests_to("sms/send") == []
    assert not server.messages


def test_timeout_of_a_read_only_request_is_transient(server, make_client):
    client = make_client(timeout=0.3)
    server.fail_next("timeout")
    with pytest.raises(ProviderError) as info:
        client.balance()
    assert info.value.transient
    assert "did not answer within 0.3 seconds" in info.value.message
    assert len(server.requests) == 1


def test_unreachable_server_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SmsRuClient({"api_id": API_ID, "base_url": f"http://127.0.0.1:{port}"})
    with pytest.raises(ProviderError) as info:
        client.send(messages(1))
    assert info.value.transient
    # A sentence, not urllib3's "HTTPConnectionPool(host=...): Max retries...".
    assert info.value.message == (
        f"Cannot reach SMS.ru at http://127.0.0.1:{port} (network or DNS): check "
        "the server's Internet connection. Sending is retried."
    )


def test_unknown_host_is_a_network_or_dns_sentence():
    # ".invalid" never resolves (RFC 2606): a DNS failure, without network.
    client = SmsRuClient({"api_id": API_ID, "base_url": "http://sms.invalid"})
    with pytest.raises(ProviderError) as info:
        client.balance()
    assert info.value.transient
    assert info.value.message.startswith(
        "Cannot reach SMS.ru at http://sms.invalid (network or DNS)"
    )
    assert "Max retries" not in info.value.message


def test_sentences_are_in_the_client_language(server, make_client):
    """The client writes its sentences in config["lang"], through Odoo's
    translations of the addon (here one French entry stands in for fr.po)."""
    from odoo.tools.translate import code_translations

    key = ("sms_provider_smsru", "fr_FR")
    saved = code_translations.python_translations.get(key)
    code_translations.python_translations[key] = {
        "Insufficient funds on the SMS.ru account.": "Solde SMS.ru insuffisant.",
        "%(sentence)s (code %(code)s)": "%(sentence)s (code %(code)s)",
    }
    try:
        server.balance = 1.0
        client = make_client(lang="fr_FR")
        with pytest.raises(ProviderError) as info:
            client.send(messages(1))
        assert info.value.message.startswith("Solde SMS.ru insuffisant. (code 201")
        assert info.value.lang == "fr_FR"
    finally:
        if saved is None:
            code_translations.python_translations.pop(key, None)
        else:
            code_translations.python_translations[key] = saved


def test_missing_api_id_sends_nothing(server, make_client):
    client = make_client(api_id="")
    with pytest.raises(ProviderError) as info:
        client.send(messages(1))
    assert not info.value.transient
    assert "api_id" in info.value.message
    assert server.requests == []


def test_plain_text_answer_without_json_would_not_parse(server):
    """The fake answers SMS.ru's text format without json=1: the client sends it."""
    import requests

    answer = requests.post(
        f"{server.url}/sms/send",
        data={"api_id": API_ID, "to": "79250000000", "msg": "x"},
        timeout=5,
    )
    assert answer.text.splitlines()[0] == "100"
    with pytest.raises(ValueError):
        answer.json()


# -- statuses ---------------------------------------------------------------

STATUS_CASES = {
    100: (STATE_PENDING, None, False, False),
    101: (STATE_PENDING, None, False, False),
    102: (STATE_PENDING, None, False, False),
    103: (STATE_DELIVERED, None, True, False),
    110: (STATE_DELIVERED, None, True, False),
    104: (STATE_ERROR, "sms_expired", True, False),
    105: (STATE_ERROR, "sms_not_delivered", True, False),
    106: (STATE_ERROR, "sms_not_delivered", True, False),
    107: (STATE_ERROR, "sms_not_delivered", True, False),
    108: (STATE_ERROR, "sms_rejected", True, False),
    150: (STATE_ERROR, "sms_invalid_destination", True, False),
    207: (STATE_ERROR, "sms_invalid_destination", True, False),
    201: (STATE_ERROR, "sms_credit", True, False),
    202: (STATE_ERROR, "sms_number_format", True, False),
    200: (STATE_ERROR, "sms_credentials", True, False),
    204: (STATE_ERROR, "sms_acc", True, False),
    209: (STATE_ERROR, "sms_blacklist", True, False),
    220: (STATE_PENDING, None, False, True),
    500: (STATE_PENDING, None, False, True),
}


def test_statuses_mapping(server, client):
    codes = list(STATUS_CASES)
    results = client.send(messages(len(codes)))
    ids = [r.provider_message_id for r in sorted(results, key=lambda r: int(r.key[1:]))]
    for sms_id, code in zip(ids, codes, strict=True):
        server.set_status(sms_id, code)
    updates = {u.provider_message_id: u for u in client.statuses(ids + ["999-1"])}

    for sms_id, code in zip(ids, codes, strict=True):
        state, failure_type, final, transient = STATUS_CASES[code]
        update = updates[sms_id]
        assert (update.state, update.failure_type, update.final, update.transient) == (
            state,
            failure_type,
            final,
            transient,
        ), code
        if state == STATE_ERROR:
            assert f"code {code}" in update.error
        assert update.cost == server.messages[sms_id].cost
    unknown = updates["999-1"]
    assert (unknown.state, unknown.failure_type, unknown.final) == (
        STATE_ERROR,
        "unknown",
        True,
    )


def test_statuses_in_batches_of_100(server, client):
    results = client.send(messages(250))
    ids = [r.provider_message_id for r in results]
    server.set_all_statuses(103)
    server.set_status("+79250000007", 106)
    updates = client.statuses(ids)

    asked = [r.params["sms_id"].split(",") for r in server.requests_to("sms/status")]
    assert [len(batch) for batch in asked] == [100, 100, 50]
    assert sorted(i for batch in asked for i in batch) == sorted(ids)
    failed = [u for u in updates if u.state == STATE_ERROR]
    assert len(updates) == 250 and len(failed) == 1
    assert server.messages[failed[0].provider_message_id].number == "79250000007"
    assert failed[0].failure_type == "sms_not_delivered"


def test_statuses_transient_batch_failure_keeps_other_batches(server, client):
    ids = [r.provider_message_id for r in client.send(messages(150))]
    server.set_all_statuses(103)
    server.fail_next(220)
    updates = client.statuses(ids)

    assert [u.transient for u in updates] == [True] * 100 + [False] * 50
    assert all(u.state == STATE_PENDING for u in updates[:100])
    assert all(u.state == STATE_DELIVERED for u in updates[100:])


def test_statuses_permanent_request_error_raises(server, client):
    ids = [r.provider_message_id for r in client.send(messages(2))]
    client.api_id = "wrong"
    with pytest.raises(ProviderError) as info:
        client.statuses(ids)
    assert not info.value.transient
    assert info.value.failure_type == "sms_credentials"


# -- callbacks --------------------------------------------------------------


def test_parse_callback_form_entries(server, client):
    results = client.send(messages(3))
    ids = [r.provider_message_id for r in results]
    server.set_status(ids[0], 103)
    server.set_status(ids[1], 104)
    form = server.callback_form(ids)
    assert all(key == "data[]" for key, _value in form)

    updates = client.parse_callback([value for _key, value in form])
    assert [(u.provider_message_id, u.state) for u in updates] == [
        (ids[0], STATE_DELIVERED),
        (ids[1], STATE_ERROR),
        (ids[2], STATE_PENDING),
    ]
    assert updates[1].failure_type == "sms_expired"
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((updates[0].at - now).total_seconds()) < 60


def test_parse_callback_mapping_and_odd_entries(client):
    form = {
        "data[0]": "sms_status\r\n000000-1\r\n103\r\n1700000000",
        "data[1]": ["callcheck_status\n201937-1000\n401\n1700000000"],
        "data[2]": "sms_status\n000000-2\n108",
        "other": "sms_status\n000000-3\n103",
    }
    updates = client.parse_callback(form)
    assert [(u.provider_message_id, u.state) for u in updates] == [
        ("000000-1", STATE_DELIVERED),
        ("000000-2", STATE_ERROR),
    ]
    assert updates[0].at == datetime.datetime(2023, 11, 14, 22, 13, 20)
    assert updates[1].failure_type == "sms_rejected" and updates[1].at is None
    assert client.parse_callback("sms_status\n000000-9\n102")[0].state == (
        STATE_PENDING
    )
    assert client.parse_callback(None) == []
    assert client.parse_callback(["garbage", ""]) == []


@pytest.mark.parametrize(
    "entry",
    [
        "sms_status",
        "sms_status\n\n103",
        "sms_status\n000000-1",
        "sms_status\n000000-1\nOK",
        "sms_status\n000000-1\n103\nyesterday",
        "sms_status\n000000-1\n103\n99999999999999999999",
    ],
)
def test_parse_callback_refuses_malformed_status_entries(client, entry):
    with pytest.raises(MalformedCallback):
        client.parse_callback(["sms_status\n000000-2\n103", entry])


def test_callback_add(server, client):
    url = "https://odoo.example.com/sms_provider_smsru/callback/1/abc"
    assert client.callback_add(url) == [url]
    assert server.callbacks == [url]
    assert server.requests[0].params["url"] == url
    with pytest.raises(ProviderError) as info:
        client.callback_add("ftp://nope")
    assert info.value.code == 901 and not info.value.transient


# -- cost, balance, availability, stop list ---------------------------------


def test_cost(server, client):
    numbers = [number(i) for i in range(150)]
    server.set_number_error(numbers[3], 207)
    estimate = client.cost(numbers, "Привет! " * 10)  # 80 UCS-2 units: 2 parts

    costs = server.requests_to("sms/cost")
    assert [len(r.params["to"].split(",")) for r in costs] == [100, 50]
    assert all("+" not in r.params["to"] for r in costs)
    assert estimate.total_parts == 149 * 2
    assert estimate.total_cost == pytest.approx(149 * 2 * server.price_per_part)
    assert estimate.currency == "RUB"
    assert numbers[3] not in estimate.per_number
    assert estimate.per_number[numbers[0]] == pytest.approx(2 * server.price_per_part)
    assert not server.messages  # nothing sent


def test_balance_decreases_after_sending(server, client):
    assert client.balance().amount == pytest.approx(10000.0)
    assert client.balance().currency == "RUB"
    client.send(messages(4, body="short"))
    assert client.balance().amount == pytest.approx(10000.0 - 4 * 3.25)


def test_check_availability(server, client):
    server.used_today = 12
    availability = client.check_availability()
    assert availability.available
    assert "daily limit 5000" in availability.message
    assert "12 used today" in availability.message
    assert availability.details == {"total_limit": 5000, "used_today": 12}
    assert [r.path for r in server.requests] == ["auth/check", "my/limit"]


def test_check_availability_never_raises(server, client):
    client.api_id = "wrong"
    availability = client.check_availability()
    assert not availability.available and "api_id" in availability.message
    client.api_id = API_ID
    server.fail_next("http500")
    assert not client.check_availability().available


def test_stoplist_add_then_sending_is_refused(server, client):
    assert client.stoplist_add("+79250000001", "Opted out in Odoo")
    assert server.stoplist == {"79250000001": "Opted out in Odoo"}
    results = by_key(client.send(messages(2)))
    assert results["k1"].failure_type == "sms_blacklist"


def test_every_request_is_json_with_api_id(server, client):
    ids = [r.provider_message_id for r in client.send(messages(2))]
    client.statuses(ids)
    client.cost([number(1)], "x")
    client.balance()
    client.check_availability()
    client.stoplist_add(number(5), "stop")
    client.callback_add("https://example.com/cb")
    assert len(server.requests) == 8
    for request in server.requests:
        assert request.method == "POST"
        assert request.params["json"] == "1"
        assert request.params["api_id"] == API_ID


def test_close_releases_the_session(server, client):
    client.balance()
    session = client.session
    client.close()
    assert client._session is None
    client.balance()
    assert client.session is not session


def test_a_send_dropped_without_answer_is_in_doubt(server, make_client):
    client = make_client()
    server.fail_next("drop")
    results = client.send(messages(1))
    assert [r.failure_type for r in results] == [FAILURE_IN_DOUBT]
    assert len(server.requests) == 1


def test_a_status_request_dropped_without_answer_is_transient(server, make_client):
    client = make_client()
    server.fail_next("drop")
    with pytest.raises(ProviderError) as info:
        client.balance()
    assert info.value.transient
