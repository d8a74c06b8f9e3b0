"""The dispatcher's pure core (no ORM): claimed rows, request sizes, pacing,
failover choice, one request to a provider client and the shaping of its
answers into one result per message.

The models (``sms_sms_lanes.py``) claim messages and write results; every
request a provider sees is made here, by :func:`request`, which is safe in a
thread (a lane sends several requests at once through a pool of clients).
"""

import concurrent.futures
import contextlib
import dataclasses
import logging
import queue
import threading
import time
import typing

from . import provider as provider_api
from .i18n import lazy_translate

_logger = logging.getLogger(__name__)
_lt = lazy_translate(__name__)

# Dispatch lanes hold session advisory locks (LANE_LOCK_NAMESPACE, key) with
# key = provider id * LANE_SLOTS + slot ("SMSL" as the namespace).
LANE_LOCK_NAMESPACE = 0x534D534C
LANE_SLOTS = 16


def lane_key(provider_id, slot):
    """The advisory lock key of a provider's lane slot.

    >>> lane_key(3, 0), lane_key(3, 1), lane_key(4, 0)
    (48, 49, 64)
    """
    return provider_id * LANE_SLOTS + slot


class Claimed(typing.NamedTuple):
    """A message claimed by a lane, as its claim returned it."""

    id: int
    uuid: str
    number: str
    body: str
    parts: int
    mailing_id: int


def request_size(max_batch, rate_limit):
    """How many messages go in one request: the client's batch, no more than
    a rate-limited provider takes in one second.

    >>> request_size(100, 0), request_size(100, 2.5), request_size(100, 0.2)
    (100, 2, 1)
    """
    if rate_limit:
        return max(1, min(max_batch, int(rate_limit)))
    return max_batch


def claim_size(batch_size, request_size, inflight):
    """How many messages a lane claims at once: enough for its requests in
    flight, never more than the dispatch batch.

    >>> claim_size(500, 100, 1), claim_size(500, 100, 8), claim_size(0, 100, 1)
    (100, 500, 1)
    """
    return max(1, min(batch_size, request_size * inflight))


def failover_target(candidates, provider_id):
    """The provider after ``provider_id`` in a message's failover list
    (``None``: no other provider, or the message was not routed through
    this list).

    >>> failover_target([1, 2, 3], 1), failover_target([1, 2, 3], 3)
    (2, None)
    >>> failover_target([2, 3], 1) is None
    True
    """
    if provider_id not in candidates:
        return None
    position = candidates.index(provider_id)
    return candidates[position + 1] if position + 1 < len(candidates) else None


def outgoing_messages(rows):
    """The plain messages a client sends, from claimed rows.

    >>> outgoing_messages([Claimed(1, "u1", "+331", "Hi", 1, None)])
    [OutgoingMessage(key='u1', number='+331', body='Hi')]
    """
    return [
        provider_api.OutgoingMessage(row.uuid, row.number or "", row.body or "")
        for row in rows
    ]


def results_by_id(rows, answers, error, _):
    """``{id: SendResult}`` of claimed ``rows`` from what :func:`request`
    returned. ``_(source, **values)`` translates the sentences of results the
    provider did not give (``env._``; named ``_`` so that they are exported
    for translation).

    >>> rows = [Claimed(1, "u1", "+331", "Hi", 1, None),
    ...         Claimed(2, "u2", "+332", "Hi", 1, None)]
    >>> ok = provider_api.SendResult("u1", provider_api.ACCEPTED, "ref-1")
    >>> results = results_by_id(rows, {"u1": ok}, None, _plain)
    >>> results[1].provider_message_id, results[2].status, results[2].key
    ('ref-1', 'permanent', 'u2')
    >>> down = provider_api.ProviderError("Service unavailable", transient=True)
    >>> sorted((i, r.status, r.key) for i, r in
    ...        results_by_id(rows, {}, down, _plain).items())
    [(1, 'transient', 'u1'), (2, 'transient', 'u2')]
    >>> crashed = results_by_id(rows, {}, ValueError("bug"), _plain)
    >>> crashed[1].status, crashed[1].error
    ('permanent', 'Unexpected provider error: bug')
    """
    if error is not None:
        if isinstance(error, provider_api.ProviderError):
            failed = provider_api.SendResult(
                None,
                provider_api.TRANSIENT if error.transient else provider_api.PERMANENT,
                failure_type=error.failure_type,
                error=error.message,
            )
        else:
            # A fault of the client itself, maybe after the request left:
            # never resend automatically.
            failed = provider_api.SendResult(
                None,
                provider_api.PERMANENT,
                failure_type="unknown",
                error=_("Unexpected provider error: %(error)s", error=error),
            )
        return {row.id: dataclasses.replace(failed, key=row.uuid) for row in rows}
    missing = None
    results = {}
    for row in rows:
        result = answers.get(row.uuid)
        if result is None:
            missing = missing or provider_api.SendResult(
                None,
                provider_api.PERMANENT,
                failure_type="unknown",
                error=_(
                    "The provider gave no result for this message; it was not "
                    "sent again so that nobody receives it twice."
                ),
            )
            result = dataclasses.replace(missing, key=row.uuid)
        results[row.id] = result
    return results


def _plain(source, **values):
    """A translation function for examples: the English sentence."""
    return source % values if values else source


class HandOver:
    """Marks messages as handed over in the lane's own thread (the one that
    holds the database cursor), whichever thread is about to write them.

    ``mark(keys)`` writes the marks durably (an UPDATE and a commit): called
    at once when the lane's thread itself hands over; a request's thread (a
    client of the pool, an SMPP bind) asks and waits, and the lane's thread
    writes the marks of every waiting request at once while it waits for its
    requests (:meth:`wait`). Nothing leaves before its mark is durable.

    >>> import concurrent.futures
    >>> marked = []
    >>> hand_over = HandOver(marked.append)
    >>> hand_over(["u1"])  # the lane's thread: marked at once
    >>> with concurrent.futures.ThreadPoolExecutor(1) as pool:
    ...     future = hand_over.watch(pool.submit(lambda: hand_over(["u2"]) or "sent"))
    ...     finished = hand_over.wait([future])
    >>> marked, [f.result() for f in finished]
    ([['u1'], ['u2']], ['sent'])
    """

    def __init__(self, mark, lang=None):
        self._mark = mark
        self._lang = lang
        self._owner = threading.get_ident()
        # Asks of other threads, and None when a watched future is done.
        self._events = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, keys):
        if threading.get_ident() == self._owner:
            self._mark(list(keys))
            return
        ask = _Ask(list(keys))
        with self._lock:
            if not self._closed:
                self._events.put(ask)
            else:
                ask.error = "lane stopped"
                ask.done.set()
        ask.done.wait()
        if ask.error is not None:
            # Not marked: the client must not write them (they are sent later).
            raise provider_api.ProviderError(
                _lt(
                    "Not sent: the messages could not be marked as handed over "
                    "(%(error)s); sent at the next attempt.",
                    error=ask.error,
                ),
                transient=True,
                failure_type="sms_server",
                lang=self._lang,
            )

    def close(self):
        """Refuse the hand-overs still asked and every later one (the lane's
        thread stops serving): their threads do not write them."""
        with self._lock:
            self._closed = True
        for ask in self._asked():
            ask.error = "lane stopped"
            ask.done.set()

    def watch(self, future):
        """Wake :meth:`wait` up when ``future`` is done; returns it."""
        future.add_done_callback(lambda _future: self._events.put(None))
        return future

    def wait(self, futures):
        """Serve the hand-overs asked until one of ``futures`` (watched) is
        done; returns the done ones."""
        while True:
            finished = [future for future in futures if future.done()]
            if finished or not futures:
                return finished
            event = self._events.get()
            if event is not None:
                self._serve(event)

    def sleep(self, seconds):
        """Sleep ``seconds`` (pacing) while serving the hand-overs asked."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self._events.get(timeout=remaining)
            except queue.Empty:
                return
            if event is not None:
                self._serve(event)

    def _asked(self):
        """The asks already queued, taken (without waiting)."""
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                return
            if event is not None:
                yield event

    def _serve(self, first):
        """Mark ``first`` and every other ask queued, in one commit."""
        asks = [first, *self._asked()]
        try:
            self._mark([key for ask in asks for key in ask.keys])
        except Exception as err:
            for ask in asks:
                ask.error = err
                ask.done.set()
            raise
        for ask in asks:
            ask.done.set()


class _Ask:
    __slots__ = ("done", "error", "keys")

    def __init__(self, keys):
        self.keys = keys
        self.error = None
        self.done = threading.Event()


def request(client, outgoing, hand_over=None):
    """``(answers by key, error)``: the one place a client sends (no ORM,
    safe in a thread). ``error`` is a :class:`ProviderError` when the whole
    request failed, another exception when the client itself crashed.

    ``hand_over(keys)`` (a :class:`HandOver`) marks messages as handed over
    before they leave: each batch of bytes just before it is written when the
    client does it itself (``client.hands_over_itself``), else the whole
    request before :meth:`~.provider.SmsProviderClient.send`.

    >>> from .demo_client import DemoClient
    >>> marked = []
    >>> answers, error = request(DemoClient({}), [
    ...     provider_api.OutgoingMessage("u1", "+33612345678", "Hi"),
    ...     provider_api.OutgoingMessage("u2", "+33612345679", "Hi")],
    ...     marked.append)
    >>> error, answers["u1"].status, marked
    (None, 'accepted', [['u1', 'u2']])
    """
    itself = hand_over is not None and client.hands_over_itself
    try:
        if itself:
            client.on_hand_over = hand_over
        elif hand_over is not None:
            hand_over([message.key for message in outgoing])
        return {result.key: result for result in client.send(outgoing)}, None
    except provider_api.ProviderError as err:
        return {}, err
    except Exception as err:  # pylint: disable=broad-except
        _logger.exception("SMS provider client crashed")
        return {}, err
    finally:
        if itself:
            client.on_hand_over = None


def request_with_new_client(open_client, outgoing, hand_over=None):
    """``(answers by key, error)`` of one request through a client opened by
    ``open_client()`` (a context manager, ``provider._open_client``) for this
    request only: a provider that guards a shared line (a modem) is held for
    one request at a time, not for a whole lane."""
    try:
        with open_client() as client:
            return request(client, outgoing, hand_over)
    except provider_api.ProviderError as err:
        return {}, err  # the client could not be opened (port busy, bad config...)


@contextlib.contextmanager
def client_pool(open_client, size):
    """``(clients, executor)``: ``size`` clients opened by ``open_client()``
    in a queue, and as many threads to send with them
    (:func:`request_with_pooled_client`); all closed at the end.

    >>> from .demo_client import DemoClient
    >>> hello = [provider_api.OutgoingMessage("u1", "+33612345678", "Hi")]
    >>> open_demo = lambda: contextlib.closing(DemoClient({}))
    >>> with client_pool(open_demo, 2) as (clients, pool):
    ...     answers, error = pool.submit(
    ...         request_with_pooled_client, clients, hello).result()
    >>> answers["u1"].status, error, clients.qsize()
    ('accepted', None, 2)
    """
    with contextlib.ExitStack() as stack:
        clients = queue.SimpleQueue()
        for _index in range(size):
            clients.put(stack.enter_context(open_client()))
        executor = stack.enter_context(
            concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix="sms-lane")
        )
        yield clients, executor


def request_with_pooled_client(clients, outgoing, hand_over=None):
    """Send with a client taken from ``clients`` (a queue), then give it back
    (run in a lane thread; ``hand_over``: the lane's :class:`HandOver`)."""
    client = clients.get()
    try:
        return request(client, outgoing, hand_over)
    finally:
        clients.put(client)


class Pacer:
    """Space the requests of a rate-limited provider: a request of ``n``
    messages may start ``n / rate`` seconds after the previous one did.

    >>> slept = []
    >>> pacer = Pacer(2.0, sleep=slept.append, clock=lambda: 10.0)
    >>> pacer.wait(2); pacer.wait(1); pacer.finish()
    >>> slept
    [1.0, 0.5]
    >>> Pacer(0).wait(100)  # no rate: never waits
    """

    def __init__(self, rate, sleep=None, clock=None):
        self.rate = rate or 0.0
        self.last = None  # (start, share) of the previous request
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic

    def _sleep_share(self, sleep=None):
        if self.last is not None:
            start, share = self.last
            (sleep or self._sleep)(max(0.0, share - (self._clock() - start)))

    def wait(self, count, sleep=None):
        """Wait for the previous request's share (``sleep(seconds)``: how,
        e.g. :meth:`HandOver.sleep`), then count this one's."""
        if not self.rate:
            return
        self._sleep_share(sleep)
        self.last = (self._clock(), count / self.rate)

    def finish(self):
        """Wait for the last request's share before the lane is released."""
        if self.rate:
            self._sleep_share()
            self.last = None
