"""State transitions of a message: one writer (:meth:`_set_state`) for lanes,
direct sends, statuses, retries and recovery; provider results turned into
transitions (:meth:`_write_send_results`); the trackers that follow."""

import logging
from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools import dispatch, routing, settings
from ..tools import provider as provider_api
from .sms_sms import IN_DOUBT

_logger = logging.getLogger(__name__)

# How a transition changes a message's attempts.
ATTEMPTS_SQL = {
    "+1": SQL("COALESCE(attempts, 0) + 1"),  # claimed: one more attempt
    # Back in the queue without having been tried (quiet hours, a failover
    # hop, a claim that never reached the provider): not an attempt.
    "-1": SQL("GREATEST(COALESCE(attempts, 0) - 1, 0)"),
    0: SQL("0"),  # queued again by a person
}
# Per-message values a transition may write, with their SQL types.
PER_MESSAGE_TYPES = {
    "provider_message_id": "varchar",
    "cost": "numeric",
    "parts": "int4",
    "delivered_at": "timestamp",
}


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsSms(models.Model):
    _inherit = "sms.sms"

    def _set_state(
        self,
        state,
        failure_type=False,
        error=False,
        attempts=None,
        per_message=None,
        **columns,
    ):
        """The one writer of a message's state (as Odoo's
        ``_update_sms_state_and_trackers``): one UPDATE of ``self`` sets
        ``state``, ``failure_type``, ``error_message``, releases the lane's
        lock (unless ``dispatch_lock`` is given), stamps ``write_date``, and
        writes the other ``columns`` as given (``False``: empty).

        ``attempts``: ``"+1"`` (claimed), ``"-1"`` (back in the queue untried),
        ``0`` (queued again by a person) or ``None`` (unchanged).
        ``per_message``: ``{id: {column: value}}`` of :data:`PER_MESSAGE_TYPES`
        (a provider's reference, cost and parts, a delivery date).
        Then the cache is invalidated and the trackers of chatter messages
        follow (their notifications are pushed, unless the message is only
        being sent).
        """
        if not self:
            return
        self.flush_recordset()
        columns.setdefault("dispatch_lock", False)
        assignments = [
            SQL("state = %s", state),
            SQL("failure_type = %s", failure_type or None),
            SQL("error_message = %s", error or None),
            SQL("write_date = %s", fields.Datetime.now()),
            SQL("write_uid = %s", self.env.uid),
        ]
        for name, value in columns.items():
            if value is False and self._fields[name].type != "boolean":
                value = None
            assignments.append(SQL("%s = %s", SQL.identifier(name), value))
        if attempts is not None:
            assignments.append(SQL("attempts = %s", ATTEMPTS_SQL[attempts]))
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms SET %s WHERE id = ANY(%s)"
                " RETURNING id, uuid, mail_message_id, sms_mailing_id",
                SQL(", ").join(assignments),
                self.ids,
            )
        )
        written = self.env.cr.fetchall()
        if per_message:
            self._write_per_message(per_message)
        names = ["state", "failure_type", "error_message", "write_date", "write_uid"]
        names += list(columns) + (["attempts"] if attempts is not None else [])
        self.invalidate_recordset(names)
        self._follow_in_chatter(written, state, failure_type)

    @api.model
    def _follow_in_chatter(self, written, state, failure_type):
        """Chatter messages (not a mailing's) have trackers and notifications:
        they follow ``written`` rows ``(id, uuid, mail message id, mailing id)``."""
        loose = [row for row in written if not row[3]]
        if not loose:
            return
        self._update_trackers_of([row[1] for row in loose], state, failure_type)
        message_ids = {row[2] for row in loose if row[2]}
        if state != "process" and message_ids:
            messages = self.env["mail.message"].browse(sorted(message_ids))
            messages._notify_message_notification_update()

    @api.model
    def _write_per_message(self, per_message):
        """Write ``{id: {column: value}}``: one statement per set of columns."""
        groups = defaultdict(list)
        for sms_id, values in per_message.items():
            groups[tuple(sorted(values))].append((sms_id, values))
        for names, items in groups.items():
            rows = [
                SQL(
                    "(%s, %s)",
                    sms_id,
                    SQL(", ").join(
                        SQL(f"%s::{PER_MESSAGE_TYPES[name]}", values[name])
                        for name in names
                    ),
                )
                for sms_id, values in items
            ]
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_sms AS s SET %s FROM (VALUES %s) AS v(id, %s)"
                    " WHERE s.id = v.id",
                    SQL(", ").join(
                        SQL("%s = v.%s", SQL.identifier(n), SQL.identifier(n))
                        for n in names
                    ),
                    SQL(", ").join(rows),
                    SQL(", ").join(SQL.identifier(n) for n in names),
                )
            )
            self.browse([sms_id for sms_id, _v in items]).invalidate_recordset(
                list(names)
            )

    @api.model
    def _in_doubt_message(self):
        return _(
            "Sending was interrupted (server stopped or crashed) while the "
            "message was being handed to the provider: it may have been sent. "
            "It was not sent again automatically so that nobody receives it "
            "twice: check with the provider, then retry it if needed."
        )

    def _fail_as_in_doubt(self):
        """Fail messages that may have left: never resent automatically."""
        self._set_state("error", IN_DOUBT, self._in_doubt_message())

    def _requeue_untried(self):
        """Put messages claimed but never handed to a provider back in the
        queue (their lane or worker stopped): they are sent once, later."""
        self._set_state("outgoing", attempts="-1", next_attempt_at=False)

    # ------------------------------------------------------------------
    # Provider results
    # ------------------------------------------------------------------
    @api.model
    def _write_send_results(self, provider, rows, results, route_cache=None):
        """Store the results of sending claimed ``rows`` through ``provider``
        (``None``: no provider serves them).

        Accepted messages get the provider's reference, cost (parts x price
        per part when the provider gives none) and parts; a temporary failure
        with another matching provider moves the message to that provider's
        lane at once (a hop is not an attempt); a temporary failure is retried
        later from its first provider's lane, with a growing delay, until
        ``max_attempts``; the rest fails."""
        now = fields.Datetime.now()
        provider_id = provider.id if provider else False
        accepted = defaultdict(dict)
        for row in rows:
            result = results[row.id]
            if result.status in (provider_api.ACCEPTED, provider_api.DELIVERED):
                state = "sent" if result.status == provider_api.DELIVERED else "pending"
                parts = result.parts or row.parts
                cost = result.cost
                if cost is None:
                    cost = parts * provider.price_per_part
                accepted[state][row.id] = {
                    "provider_message_id": result.provider_message_id,
                    "cost": cost,
                    "parts": parts,
                }
        for state, answers in accepted.items():
            self.browse(list(answers))._set_state(
                state,
                per_message=answers,
                provider_id=provider_id,
                sent_at=now,
                next_attempt_at=False,
                **({"delivered_at": now} if state == "sent" else {}),
            )
        others = self.browse(
            [row.id for row in rows if not any(row.id in a for a in accepted.values())]
        )
        if others:
            others._write_failures(provider, results, route_cache)

    def _write_failures(self, provider, results, route_cache):
        """The failed side of :meth:`_write_send_results`."""
        transient = self.filtered(
            lambda s: results[s.id].status == provider_api.TRANSIENT
        )
        hops = defaultdict(list)
        if transient and provider:
            candidates = transient._candidates(route_cache)
            for sms in transient.filtered(lambda s: not s.is_test):
                target = dispatch.failover_target(candidates[sms.id], provider.id)
                if target:
                    hops[target].append(sms.id)
        for target, ids in hops.items():
            self.browse(ids)._set_state(
                "outgoing",
                attempts="-1",
                route_provider_id=target,
                next_attempt_at=False,
            )
        moved = {sms_id for ids in hops.values() for sms_id in ids}
        max_attempts = provider.max_attempts if provider else 1
        base = settings.get(self.env, "sms_mailing.retry_base_seconds")
        groups = defaultdict(list)
        for sms in self.filtered(lambda s: s.id not in moved):
            result = results[sms.id]
            if result.status == provider_api.TRANSIENT and (
                not sms.is_test and sms.attempts < max_attempts
            ):
                delay = routing.backoff_seconds(sms.attempts, base=base)
                at = fields.Datetime.now() + timedelta(seconds=delay)
                groups[("outgoing", False, result.error, at)].append(sms.id)
                continue
            error = result.error
            if result.status == provider_api.TRANSIENT:
                error = _(
                    "%(error)s (gave up after %(count)s attempts)",
                    error=error,
                    count=sms.attempts,
                )
            groups[("error", result.failure_type or "unknown", error, False)].append(
                sms.id
            )
        provider_id = provider.id if provider else False
        for (state, failure_type, error, at), ids in groups.items():
            records = self.browse(ids)
            records._set_state(
                state, failure_type, error, provider_id=provider_id, next_attempt_at=at
            )
            if state == "outgoing":
                # Retried later from its first provider's lane.
                firsts = records._candidates(route_cache)
                by_first = defaultdict(list)
                for sms_id, cands in firsts.items():
                    by_first[cands[0] if cands else None].append(sms_id)
                self._write_routes(by_first)

    # ------------------------------------------------------------------
    # Trackers
    # ------------------------------------------------------------------
    def _trackers(self):
        """``sms.tracker`` of these messages (one query; none for mailings)."""
        uuids = [sms.uuid for sms in self if sms.uuid and not sms.sms_mailing_id]
        return self._trackers_of(uuids)

    @api.model
    def _trackers_of(self, uuids):
        if not uuids:
            return self.env["sms.tracker"]
        # sudo: trackers follow their message's state; nothing is shown to the user.
        return self.env["sms.tracker"].sudo().search([("sms_uuid", "in", uuids)])

    def _update_trackers(self, state, failure_type):
        uuids = [sms.uuid for sms in self if sms.uuid and not sms.sms_mailing_id]
        self._update_trackers_of(uuids, state, failure_type)

    @api.model
    def _update_trackers_of(self, uuids, state, failure_type):
        """Make the trackers of the messages ``uuids`` follow their new state
        (the caller pushes the notifications once for all of them)."""
        trackers = self._trackers_of(uuids).with_context(sms_skip_msg_notification=True)
        if not trackers:
            return
        # Notifications and mailing traces know neither "in doubt" nor
        # "credentials rejected".
        failure_type = provider_api.TRACKER_FAILURE_TYPES.get(
            failure_type, failure_type
        )
        if state == "error" and failure_type in self.DELIVERY_ERRORS:
            # Odoo's tracker takes the delivery error without its "sms_" prefix.
            trackers._action_update_from_provider_error(
                failure_type.removeprefix("sms_")
            )
        else:
            trackers._action_update_from_sms_state(
                state, failure_type=failure_type or False
            )
