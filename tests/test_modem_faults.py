"""Line faults of the modem (no database): the fake modem drops the line in
the middle of AT+CMGS, answers garbage, stops answering, or refuses with
+CMS ERROR 322 (memory full). The message in flight is in doubt, never
reported as "not sent" (which would send it again); the others are retried;
the next session recovers the line by itself; nothing waits past its time
limit."""

import time

import pytest

from odoo.addons.sms_mailing.tools import provider as api
from odoo.addons.sms_provider_modem.tests.fake_modem import FakeModem
from odoo.addons.sms_provider_modem.tools.modem import ModemDriver, ModemError
from odoo.addons.sms_provider_modem.tools.modem_client import ModemClient

TIMEOUT = 1.0


def send(fake, count=3, number="+33612345678"):
    client = ModemClient({"port": fake.port, "timeout": TIMEOUT})
    started = time.monotonic()
    try:
        results = client.send(
            [api.OutgoingMessage(str(i), number, f"Hello {i}") for i in range(count)]
        )
    finally:
        client.close()
    return {r.key: r for r in results}, time.monotonic() - started


def assert_in_doubt(result):
    assert result.status == api.PERMANENT
    assert result.failure_type == api.FAILURE_IN_DOUBT
    assert "may have been sent" in result.error
    assert "not sent again" in result.error


def assert_recovers(fake, sent_before):
    """The next session, on the same port, sends normally."""
    fake.fault()
    results, _elapsed = send(fake, count=1, number="+33699999999")
    assert results["0"].status == api.ACCEPTED
    assert len(fake.sent) == sent_before + 1
    assert fake.sent[-1].number == "+33699999999"


@pytest.mark.parametrize("after_submit", ["drop", "silent", "garbage"])
def test_fault_after_the_pdu_leaves_the_message_in_doubt(after_submit):
    transport = "socket" if after_submit == "drop" else "pty"
    with FakeModem(transport=transport) as fake:
        fake.fault(after_submit=after_submit)
        results, elapsed = send(fake)
        # the network took the first message; the modem never confirmed it
        assert [s.text for s in fake.sent] == ["Hello 0"]
        assert_in_doubt(results["0"])
        # the line is down: the others were not tried, they will be retried
        for key in ("1", "2"):
            assert results[key].status == api.TRANSIENT
            assert results[key].error.startswith("Not sent: the modem line failed")
        # one timeout at most (the wait for +CMGS), then the session ends
        assert elapsed < 2 * TIMEOUT + 1
        if after_submit == "drop":
            assert fake.drops == 1
        assert_recovers(fake, sent_before=1)


def test_garbage_instead_of_the_prompt_sends_nothing_and_is_retried():
    with FakeModem() as fake:
        fake.fault(garbage={"CMGS"})
        results, elapsed = send(fake)
        assert fake.sent == []
        assert {r.status for r in results.values()} == {api.TRANSIENT}
        assert "Unexpected answer to AT+CMGS" in results["0"].error
        assert "\x00" not in results["0"].error  # shown as repr, not raw bytes
        assert elapsed < 3 * TIMEOUT + 1
        # the driver left the prompt with ESC before writing anything else
        assert_recovers(fake, sent_before=0)


@pytest.mark.parametrize(
    "fault", [{"dead": True}, {"garbage": {"Z"}}], ids=["dead", "garbage-to-ATZ"]
)
def test_a_modem_that_does_not_answer_fails_the_session_within_its_timeout(fault):
    with FakeModem() as fake:
        fake.fault(**fault)
        with pytest.raises(api.ProviderError) as caught:
            send(fake)
        assert caught.value.transient  # retried later, or through another provider
        assert fake.sent == []
        assert_recovers(fake, sent_before=0)


def test_a_dead_modem_is_given_up_within_the_time_limit():
    with FakeModem() as fake:
        fake.fault(dead=True)
        driver = ModemDriver(fake.port, timeout=TIMEOUT)
        started = time.monotonic()
        with pytest.raises(ModemError):
            driver.initialize()
        assert time.monotonic() - started < TIMEOUT + 0.5
        driver.close()


def test_memory_full_refusal_is_not_in_doubt_and_is_retried():
    with FakeModem() as fake:
        fake.send_errors = [322, 322]
        results, _elapsed = send(fake)
        for key in ("0", "1"):
            assert results[key].status == api.TRANSIENT
            assert "Memory full (+CMS ERROR: 322)" in results[key].error
        assert results["2"].status == api.ACCEPTED
        assert [s.text for s in fake.sent] == ["Hello 2"]


def test_ok_without_a_reference_is_in_doubt():
    with FakeModem() as fake:
        fake.fault(after_submit="ok")
        results, _elapsed = send(fake, count=2)
        assert_in_doubt(results["0"])
        assert "no message reference" in results["0"].error
        # not a line fault: the next message is sent (and is in doubt too)
        assert len(fake.sent) == 2
        assert_in_doubt(results["1"])


def test_full_sim_is_emptied_by_a_poll_and_takes_messages_again():
    """SIM storage full: the poll reads every stored message; once they are
    deleted (what the provider does after they are committed) new messages
    are stored again, in the freed indexes, and read by the same session
    (which used to skip a freed index it had already read)."""
    with FakeModem(capacity=10) as fake:
        fake.fill_sim()
        with pytest.raises(RuntimeError):
            fake.receive("+33611111111", "lost while full")
        client = ModemClient({"port": fake.port, "timeout": TIMEOUT})
        try:
            inbound = client.fetch_inbound()
            assert len(inbound) == 10
            keys = [key for message in inbound for key in message.storage_keys]
            assert sorted(client.delete_stored(keys)) == [("SM", i) for i in range(10)]
            assert fake.sim() == []
            fake.receive("+33622222222", "after the cleanup")
            assert [m.body for m in client.fetch_inbound()] == ["after the cleanup"]
        finally:
            client.close()
