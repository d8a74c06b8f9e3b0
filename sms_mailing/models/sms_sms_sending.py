"""The send pipeline: claim messages, hand each request over, send, write the
results. A lane (a cron, sms_sms_lanes.py) and a direct send (the contact
card, a test SMS) go through the same functions; a direct send runs in the
caller's transaction without a lane lock."""

import collections
import time

from psycopg2 import errors as pg_errors

from odoo import api, models
from odoo.tools import SQL, split_every

from ..tools import dispatch
from ..tools import provider as provider_api
from ..tools.transaction import commit_batch


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsSms(models.Model):
    _inherit = "sms.sms"

    # ------------------------------------------------------------------
    # Direct send
    # ------------------------------------------------------------------
    def _send_now(self):
        """Send these messages now, in the caller's transaction: routed, then
        claimed, sent and written through the lanes' functions, one provider
        after another (a temporary failure fails over to the next matching
        provider at once, then is retried later by the lanes)."""
        # sudo: these messages were created (and so checked) by the caller;
        # sending writes provider results and reads provider credentials that
        # no SMS user may read, and nothing of them is returned to the caller.
        self = self.sudo().with_context(sms_skip_msg_notification=True)
        route_cache = {}
        self._route_messages(route_cache)
        Provider = self.env["sms.provider"]
        # Each round sends every message to its current provider; a failover
        # moves a message one provider down its list, so rounds are bounded.
        for _round in range(Provider.search_count([]) + 1):
            self.flush_recordset()
            self.env.cr.execute(
                SQL(
                    "SELECT route_provider_id, array_agg(id ORDER BY id) FROM sms_sms"
                    " WHERE id = ANY(%s) AND route_provider_id IS NOT NULL AND %s"
                    " GROUP BY route_provider_id",
                    self.ids,
                    self._due_where(tests=True),
                )
            )
            lanes = self.env.cr.fetchall()
            if not lanes:
                break
            for provider_id, ids in lanes:
                provider = Provider.browse(provider_id)
                rows = self.browse(ids)._claim_batch(provider, None, len(ids))
                pacer = dispatch.Pacer(provider.rate_limit)
                self._send_claimed(provider, rows, pacer, route_cache)
                pacer.finish()

    # ------------------------------------------------------------------
    # Claims
    # ------------------------------------------------------------------
    @api.model
    def _claim_batch(self, provider, key, limit):
        """Take up to ``limit`` due messages of ``provider``'s lane (a direct
        send, ``key`` ``None``: of ``self`` only, not committed): marked
        ``process`` (one more attempt) with the lane's lock key and committed
        (the guarantee that makes a resend impossible). Quiet-hours messages
        go back to wait; messages too long for the provider fail. Returns the
        :class:`~..tools.dispatch.Claimed` rows to send, in id order."""
        rows = self._claim_rows(provider, key, limit)
        if not rows:
            return []
        if key:
            commit_batch(self.env)
        deferred = self._defer_claimed(rows)
        too_long = [
            row
            for row in rows
            if row.parts > provider.max_parts and row.id not in deferred
        ]
        if too_long:
            self._write_send_results(
                provider,
                too_long,
                {
                    row.id: provider_api.SendResult(
                        row.uuid,
                        provider_api.PERMANENT,
                        failure_type="unknown",
                        error=provider._too_long_error(row.parts),
                    )
                    for row in too_long
                },
            )
        if not (deferred or too_long):
            return rows
        if key:
            commit_batch(self.env)
        skip = set(deferred) | {row.id for row in too_long}
        return [row for row in rows if row.id not in skip]

    @api.model
    def _defer_claimed(self, rows):
        """Put claimed mailing messages held by quiet hours back to wait (no
        ORM read of the others: the hot path); returns ``{id: until}``."""
        mailing_ids = {row.mailing_id for row in rows if row.mailing_id}
        if not mailing_ids:
            return {}
        quiet = self.env["sms.mailing"].browse(mailing_ids).filtered("quiet_hours")
        if not quiet:
            return {}
        held = self.browse([row.id for row in rows if row.mailing_id in quiet.ids])
        deferred = held._defer_until()
        if deferred:
            held._write_deferred(deferred)
        return deferred

    @api.model
    def _claim_rows(self, provider, key, limit):
        """Lock and mark ``process`` up to ``limit`` due messages of
        ``provider``'s lane (of ``self`` for a direct send)."""
        where = SQL("route_provider_id = %s AND %s", provider.id, self._due_where())
        if key is None:
            where = SQL(
                "id = ANY(%s) AND route_provider_id = %s AND %s",
                self.ids,
                provider.id,
                self._due_where(tests=True),
            )
        # After a crash of PostgreSQL, hand-overs are exact again from the
        # first claim on (see _recover).
        self._database_epoch()
        for _attempt in range(5):
            self.flush_model()
            query = SQL(
                "SELECT id, uuid, number, body, parts, sms_mailing_id FROM sms_sms"
                " WHERE %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                where,
                limit,
            )
            try:
                with self.env.cr.savepoint(flush=False):
                    self.env.cr.execute(query, log_exceptions=False)
                    rows = list(map(dispatch.Claimed._make, self.env.cr.fetchall()))
                break
            except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
                # Another lane committed some of these rows after our
                # snapshot: they are not ours. Look again in a new snapshot.
                commit_batch(self.env)
        else:
            return []
        self.browse([row.id for row in rows])._set_state(
            "process",
            attempts="+1",
            dispatch_lock=key or False,
            handed_over=False,
            # The database's clock: compared with its start (see _recover).
            process_started_at=self.env.cr.now(),
        )
        return rows

    def _rows(self):
        """These messages as a claim returns them."""
        return [
            dispatch.Claimed(
                s.id, s.uuid, s.number, s.body, s.parts, s.sms_mailing_id.id
            )
            for s in self
        ]

    @api.model
    def _hand_over(self, rows, commit):
        """Mark ``rows`` as handed to the provider, just before their request
        leaves: after a crash, they are in doubt; the claimed ones not marked
        go back to the queue. ``commit``: make it survive a crash (a lane).

        A crash between this commit and the write of the request would leave
        in doubt messages that never left, so the commit is kept alone (what
        was written before is committed first) and does not wait for the
        disk: committed, the mark survives the worker, and is visible to the
        recovery at once. A PostgreSQL restart could lose it: the recovery
        then takes every message claimed before the restart as in doubt
        (:meth:`_recover`), never as not sent.
        """
        if commit:
            self._commit_results()
        ids = [row.id for row in rows]
        self.env.cr.execute(
            SQL("UPDATE sms_sms SET handed_over = TRUE WHERE id = ANY(%s)", ids)
        )
        self.browse(ids).invalidate_recordset(["handed_over"])
        if commit:
            self._commit_results()

    @api.model
    def _hand_over_of(self, by_key, commit):
        """A :class:`~..tools.dispatch.HandOver` for the clients sending the
        claimed rows of ``by_key`` (``{uuid: row}``): their messages are marked
        in this thread (:meth:`_hand_over`) just before a client writes them."""
        return dispatch.HandOver(
            lambda keys: self._hand_over([by_key[key] for key in keys], commit),
            lang=self.env.lang,
        )

    @api.model
    def _commit_results(self):
        """Commit this transaction (results, hand-overs) without waiting for
        the disk.

        Losing it in a PostgreSQL crash leaves its messages ``process`` with a
        lock nobody holds, claimed before the restart: in doubt. A claim is
        always committed synchronously: lost, it would let a message be sent
        again.
        """
        self.env.cr.execute("SET LOCAL synchronous_commit TO OFF")
        commit_batch(self.env)

    # ------------------------------------------------------------------
    # Serving a lane
    # ------------------------------------------------------------------
    @api.model
    def _serve_lane(self, provider, key, deadline, batch_size, route_cache):
        """Send ``provider``'s due messages until none is left, the deadline
        passes or the provider fails a whole request; returns ``(ids taken,
        the error of that whole request or None)``.

        Up to ``provider.inflight_requests`` requests wait on the network at
        once, each in its own thread with its own client; results are written
        here, in this worker's transaction, as each request returns.
        """
        # sudo: a lane (a cron) sends every company's queued messages.
        self = self.sudo().with_context(sms_skip_msg_notification=True)
        chunk_size = provider._request_size()
        inflight = provider._inflight()
        claim_size = dispatch.claim_size(batch_size, chunk_size, inflight)
        pacer = dispatch.Pacer(provider.rate_limit)
        args = (provider, key, deadline, claim_size, pacer, route_cache)
        if inflight == 1:
            served = self._serve_serially(*args)
        else:
            served = self._serve_in_flight(inflight, *args)
        pacer.finish()
        return served

    @api.model
    def _serve_serially(self, provider, key, deadline, claim_size, pacer, route_cache):
        taken = set()
        while True:
            rows = self._claim_batch(provider, key, claim_size)
            if not rows:
                return taken, None
            taken.update(row.id for row in rows)
            down = self._send_claimed(provider, rows, pacer, route_cache, commit=True)
            if down is not None or time.monotonic() >= deadline:
                return taken, down

    @api.model
    def _send_claimed(self, provider, rows, pacer, route_cache, commit=False):
        """Send claimed ``rows`` one request after the other, each through a
        client opened for it (a modem's line is held per request), and write
        the results; returns the shared outcome of a whole request that
        failed (``None``: none did). ``commit``: a lane's (see
        :meth:`_hand_over`)."""
        down = None
        for chunk in split_every(provider._request_size(), rows, list):
            if down is not None:
                # The provider failed a whole request (line down, service
                # unavailable, port busy, bad key): the next ones would fail
                # the same way, each after its own timeout, and hold the
                # worker past its time budget. They share the outcome
                # (retried later, or failed over), never handed over.
                answers = ({}, down)
            else:
                pacer.wait(len(chunk))
                answers = dispatch.request_with_new_client(
                    provider._open_client,
                    dispatch.outgoing_messages(chunk),
                    self._hand_over_of({row.uuid: row for row in chunk}, commit),
                )
                if isinstance(answers[1], provider_api.ProviderError):
                    down = provider_api.shared_outcome(answers[1])
            results = dispatch.results_by_id(chunk, *answers, self.env._)
            self._write_send_results(provider, chunk, results, route_cache)
        if commit:
            self._commit_results()
        return down

    @api.model
    def _serve_in_flight(
        self, inflight, provider, key, deadline, claim_size, pacer, route_cache
    ):
        # Only the network waits in the threads: each takes a client of the
        # pool and calls its send(); claims, hand-overs and results stay in
        # this thread. Slow start: one request alone until the provider
        # answers one, so that a provider that is down costs one request per
        # run, not ``inflight``. A whole request failed (service unavailable,
        # bad key, no funds) stops the lane as in _send_claimed: chunks
        # claimed but not sent share its outcome, nothing more is claimed.
        taken = set()
        down = None
        chunk_size = provider._request_size()
        by_key = {}  # uuid -> claimed row, of the chunks in flight
        hand_over = self._hand_over_of(by_key, True)
        with dispatch.client_pool(provider._open_client, inflight) as (clients, pool):
            waiting = collections.deque()  # chunks claimed, not yet sent
            flying = {}  # future -> chunk
            exhausted = False
            probing = True
            try:
                while True:
                    while down is None and len(flying) < (1 if probing else inflight):
                        if not waiting and not exhausted:
                            rows = []
                            if time.monotonic() < deadline or not taken:
                                rows = self._claim_batch(provider, key, claim_size)
                            exhausted = not rows
                            taken.update(row.id for row in rows)
                            waiting.extend(split_every(chunk_size, rows, list))
                        if not waiting:
                            break
                        chunk = waiting.popleft()
                        pacer.wait(len(chunk), sleep=hand_over.sleep)
                        by_key.update((row.uuid, row) for row in chunk)
                        future = pool.submit(
                            dispatch.request_with_pooled_client,
                            clients,
                            dispatch.outgoing_messages(chunk),
                            hand_over,
                        )
                        flying[hand_over.watch(future)] = chunk
                    if not flying:
                        break
                    # Each request's thread asks for its hand-over just before
                    # its bytes leave; they are marked (and committed) here.
                    finished = hand_over.wait(flying)
                    for future in finished:
                        chunk = flying.pop(future)
                        answers = future.result()
                        if isinstance(answers[1], provider_api.ProviderError):
                            if down is None:
                                down = provider_api.shared_outcome(answers[1])
                        elif answers[1] is None:
                            probing = False
                        results = dispatch.results_by_id(chunk, *answers, self.env._)
                        self._write_send_results(provider, chunk, results, route_cache)
                        for row in chunk:
                            del by_key[row.uuid]
                    self._commit_results()
            finally:
                hand_over.close()
        for chunk in waiting:
            results = dispatch.results_by_id(chunk, {}, down, self.env._)
            self._write_send_results(provider, chunk, results, route_cache)
        self._commit_results()
        return taken, down
