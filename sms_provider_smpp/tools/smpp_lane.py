"""The bind a lane's clients share (:class:`LaneSession`) and its thread.

Plain Python, no ORM: a thread of its own binds as transceiver, keeps up to
``window`` submit_sm waiting for their submit_sm_resp whatever send() call they
come from (spaced by the rate limit, slowed down when the SMSC throttles),
collects what else arrives on the bind and hands each call its results. See
:mod:`.smpp_client` for the outcomes.
"""

import collections
import contextlib
import logging
import queue
import random
import socket
import threading
import time

from odoo.addons.sms_mailing.tools.provider import (
    ACCEPTED,
    ProviderError,
    SendResult,
)

from . import smpp as codec
from .smpp import _lt
from .smpp_session import ESME_ROK, SessionLost, _str

_logger = logging.getLogger(__name__)

STATUS_THROTTLED = 0x58


def _reason(err):
    return str(err) if err else "-"


class _Batch:
    """The messages of one send() call and their results.

    ``hand_over(keys)`` (the calling client's ``handing_over``) is called in
    the send() caller's thread (:meth:`serve`), asked by the bind's thread
    just before it writes the first part of those messages (:meth:`ask`).
    """

    def __init__(self, messages, hand_over=None):
        self.messages = list(messages)
        self.hand_over = hand_over
        self.states = {}  # key -> {"ids": {index: id}, "total": n, "done": bool}
        self.results = {}
        self.done = threading.Event()
        self.asks = queue.SimpleQueue()  # (keys, answer queue); None: done
        if not self.messages:
            self.done.set()

    def finish(self, key, result):
        state = self.states.get(key)
        if state is None or state["done"]:
            return
        state["done"] = True
        self.results[key] = result
        if len(self.results) == len(self.messages):
            self.done.set()
            self.asks.put(None)

    def serve(self):
        """The send() caller's thread: hand over what the bind's thread asks
        until every message has its result."""
        while not self.done.is_set():
            ask = self.asks.get()
            if ask is None:
                continue
            keys, answer = ask
            try:
                self.hand_over(keys)
            except Exception as err:  # pylint: disable=broad-except
                answer.put(err)  # not marked: the bind's thread keeps them
            else:
                answer.put(None)

    def ask(self, keys):
        """The bind's thread: hand ``keys`` over (in the caller's thread);
        the error when that failed, else None."""
        if self.hand_over is None:
            return None
        answer = queue.SimpleQueue()
        self.asks.put((keys, answer))
        return answer.get()


class LaneSession:
    """One bind shared by the send() calls of a lane (threads of the core's
    dispatcher, one chunk each): a thread of its own owns the socket, keeps up
    to ``window`` submit_sm waiting for their answer whatever chunk they come
    from, and hands each chunk its results. A chunk that finishes is written
    by the lane while the others are still on the wire: the window never
    drains between chunks."""

    def __init__(self, client):
        self.client = client
        self.lock = threading.Lock()
        self.inbox = collections.deque()  # _Batch waiting for the thread
        self.session = None
        self.thread = None
        self.failure = None  # ProviderError: every later send() gets it
        self.closing = False
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)

    def submit(self, messages, hand_over=None):
        """Results of ``messages`` (``hand_over``: see :class:`_Batch`)."""
        batch = _Batch(messages, hand_over)
        with self.lock:
            if self.failure is None and self.thread is None:
                try:
                    self.session = self.client._session()
                except ProviderError as err:
                    self.failure = err
                    raise
                self.thread = threading.Thread(
                    target=self._run, daemon=True, name="smpp-bind"
                )
                self.thread.start()
            if self.failure is not None:
                raise self.failure
            self.inbox.append(batch)
        self._wake()
        batch.serve()
        return list(batch.results.values())

    def close(self):
        with self.lock:
            self.closing = True
        self._wake()
        if self.thread is not None:
            self.thread.join()
        if self.session is not None:
            self.session.unbind()
        self.client._flush_incomplete()
        self.wake_r.close()
        self.wake_w.close()

    def _wake(self):
        with contextlib.suppress(OSError):
            self.wake_w.send(b"x")

    def _run(self):
        """The bind's thread: submit and read until closed or the bind is lost."""
        wire = _Wire(self)
        try:
            wire.loop()
        except SessionLost as err:
            wire.salvage()
            self._lost(wire, err)
        except Exception as err:  # pylint: disable=broad-except
            # A fault of our own: what was written may have left.
            _logger.exception("SMPP: the bind's thread failed")
            self._lost(wire, err)

    def _lost(self, wire, lost):
        """Written without an answer, or partly written: in doubt; never
        written: sent at the next attempt. Later send() calls get the error."""
        client = self.client
        reason = _reason(lost)
        with self.lock:
            self.failure = ProviderError(
                client._t(
                    _lt(
                        "The connection to the SMSC was lost (%(reason)s); "
                        "trying again later.",
                        reason=reason,
                    )
                ),
                transient=True,
                failure_type="sms_server",
            )
            batches = list(self.inbox)
            self.inbox.clear()
        waiting = wire.waiting
        written = {(id(item[0]), item[1]) for item in waiting.values()}
        pending_batches = {id(b): b for b, *_rest in wire.parts}
        pending_batches.update({id(item[0]): item[0] for item in waiting.values()})
        for batch in pending_batches.values():
            for key, state in batch.states.items():
                if state["done"]:
                    continue
                if (id(batch), key) in written or state["ids"]:
                    batch.finish(key, client._in_doubt(key, reason))
                else:
                    batch.finish(key, client._not_sent(key, reason))
        for batch in batches:
            for message in batch.messages:
                batch.states[message.key] = {"ids": {}, "total": 1, "done": False}
                batch.finish(message.key, client._not_sent(message.key, reason))


class _Wire:
    """The state of a lane's thread: the parts still to submit, the submit_sm
    waiting for their answer, and the pace (window, rate, throttling)."""

    def __init__(self, lane):
        self.lane = lane
        self.client = lane.client
        self.session = lane.session
        self.parts = collections.deque()  # (batch, key, part index, fields)
        self.waiting = {}  # sequence -> (batch, key, index, fields, sent at)
        self.window = self.client.window
        self.pause_until = 0.0
        self.backoff = 0.0
        self.throttled_since = None
        self.next_slot = 0.0

    def loop(self):
        client, session = self.client, self.session
        while True:
            closing = self.take_new()
            if closing and not self.parts and not self.waiting:
                client.flush_receipts(session, force=True)
                break
            now = self.submit_ready(time.monotonic())
            self.read_answers(now)
            client.flush_receipts(session)
            session.keep_alive()
            if self.waiting:
                oldest = min(item[4] for item in self.waiting.values())
                if time.monotonic() - oldest > session.timeout:
                    raise SessionLost("no submit_sm_resp")

    def take_new(self):
        """Split the messages of the new send() calls into parts; True when
        the lane is closing."""
        lane = self.lane
        with lane.lock:
            batches = list(lane.inbox)
            lane.inbox.clear()
            closing = lane.closing
        for batch in batches:
            for message in batch.messages:
                coding, payloads = codec.encode_message(
                    message.body, random.randrange(256)
                )
                batch.states[message.key] = {
                    "ids": {},
                    "total": len(payloads),
                    "done": False,
                }
                for index, payload in enumerate(payloads):
                    fields = self.client._submit_fields(
                        message, coding, payload, len(payloads) > 1
                    )
                    self.parts.append((batch, message.key, index, fields))
        return closing

    def submit_ready(self, now):
        """Write the parts the window, the pause and the rate allow, each
        message handed over just before its first part; return the time of
        the last write."""
        waiting = self.waiting
        while self.parts and len(waiting) < self.window and now >= self.pause_until:
            ready = self._hand_over(self._take_ready(now))
            if not ready:
                break
            for batch, key, index, fields in ready:
                sequence = self.session.send("submit_sm", **fields)
                waiting[sequence] = (batch, key, index, fields, now)
            now = time.monotonic()
        return now

    def _take_ready(self, now):
        """The parts that may be written now (window, rate), taken."""
        client, parts = self.client, self.parts
        ready = []
        while parts and len(self.waiting) + len(ready) < self.window:
            if client.rate and now < self.next_slot:
                break
            batch, key, index, fields = parts.popleft()
            if batch.states[key]["done"]:
                continue
            ready.append((batch, key, index, fields))
            if client.rate:
                self.next_slot = max(now, self.next_slot) + 1.0 / client.rate
        return ready

    def _hand_over(self, ready):
        """Hand the messages whose first part is in ``ready`` over (one ask
        per send() call); returns the parts that may be written. A message
        that could not be handed over is not written: sent at the next
        attempt."""
        by_batch = collections.defaultdict(dict)  # batch -> {key: None}, in order
        for batch, key, _index, _fields in ready:
            if not batch.states[key].get("handed_over"):
                by_batch[batch][key] = None
        refused = set()
        for batch, keys in by_batch.items():
            error = batch.ask(list(keys))
            for key in keys:
                if error is None:
                    batch.states[key]["handed_over"] = True
                else:
                    refused.add((id(batch), key))
                    batch.finish(key, self.client._not_sent(key, _reason(error)))
        return [item for item in ready if (id(item[0]), item[1]) not in refused]

    def read_answers(self, now):
        """Read until the next thing to do (an answer due, a slot free) and
        apply the answers."""
        session, waiting = self.session, self.waiting
        wake = [0.5]
        if waiting:
            oldest = min(item[4] for item in waiting.values())
            wake.append(oldest + session.timeout - now)
        if self.parts and len(waiting) < self.window:
            wake.append(max(self.pause_until, self.next_slot) - now)
        for pdu in session._read(max(0.0, min(wake)), self.lane.wake_r):
            if not session.handle(pdu) or pdu.sequence not in waiting:
                continue
            batch, key, index, fields, _at = waiting.pop(pdu.sequence)
            if self.on_response(batch, key, index, fields, pdu):
                self.slow_down()
            elif pdu.status == ESME_ROK:
                self.throttled_since = None
                self.backoff = 0.0
                self.window = min(self.client.window, self.window + 1)

    def slow_down(self):
        """The SMSC throttles: pause longer, halve the window, give up past
        the throttle budget."""
        now = time.monotonic()
        self.throttled_since = self.throttled_since or now
        if now - self.throttled_since > self.client.throttle_budget:
            self.give_up()
        self.backoff = min(5.0, self.backoff * 2 or 0.1)
        self.pause_until = now + self.backoff
        self.window = max(1, self.window // 2)

    def on_response(self, batch, key, index, fields, pdu):
        """Apply one answer; True when the SMSC asks to slow down."""
        state = batch.states[key]
        status = pdu.status
        if pdu.command == "submit_sm_resp" and status == ESME_ROK:
            ids = state["ids"]
            ids[index] = _str(pdu.message_id)
            if len(ids) == state["total"]:
                for other in range(1, state["total"]):
                    self.client.part_ids[ids[other]] = ids[0]
                batch.finish(
                    key,
                    SendResult(
                        key,
                        ACCEPTED,
                        provider_message_id=ids[0],
                        parts=state["total"],
                    ),
                )
            return False
        if pdu.command == "submit_sm_resp" and status in codec.RETRY_LATER:
            # slow down and submit the same part again: never dropped
            self.parts.appendleft((batch, key, index, fields))
            return True
        batch.finish(key, self.client._refused(key, status, pdu.command, state))
        return False

    def give_up(self):
        """The SMSC keeps refusing: what is not submitted waits for the
        next attempt (the answers of the window are still read)."""
        client = self.client
        for batch, key, _index, _fields in self.parts:
            state = batch.states[key]
            if state["ids"]:  # part of it went: it cannot be sent again
                batch.finish(
                    key,
                    client._refused(key, STATUS_THROTTLED, "submit_sm_resp", state),
                )
            else:
                batch.finish(key, client._gave_up(key))
        self.parts.clear()

    def salvage(self):
        """Answers already received when the connection broke."""
        session, waiting = self.session, self.waiting
        try:
            while waiting:
                pdus = session._read(0.05)
                if not pdus:
                    return
                for pdu in pdus:
                    if session.handle(pdu) and pdu.sequence in waiting:
                        batch, key, index, fields, _at = waiting.pop(pdu.sequence)
                        self.on_response(batch, key, index, fields, pdu)
        except SessionLost:
            return
