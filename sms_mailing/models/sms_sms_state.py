"""State transitions of a message: processing, provider results, retries,
in doubt, and the trackers that follow them."""

import logging
from collections import defaultdict
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools import (
    dispatch,
    routing,
    settings,
)
from ..tools import provider as provider_api
from .sms_sms import IN_DOUBT

_logger = logging.getLogger(__name__)


class SmsSms(models.Model):
    _inherit = "sms.sms"

    @api.model
    def _in_doubt_message(self):
        return _(
            "Sending was interrupted (server stopped or crashed) while the "
            "message was being handed to the provider: it may have been sent. "
            "It was not sent again automatically so that nobody receives it "
            "twice: check with the provider, then retry it if needed."
        )

    def _fail_as_in_doubt(self):
        self.write(
            {
                "state": "error",
                "failure_type": IN_DOUBT,
                "error_message": self._in_doubt_message(),
                "dispatch_lock": False,
            }
        )
        self._update_trackers("error", IN_DOUBT)
        self.mail_message_id._notify_message_notification_update()

    def _mark_processing(self):
        """Mark as being sent (one more attempt) before a provider is called."""
        if not self:
            return
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms SET state = 'process',"
                " attempts = COALESCE(attempts, 0) + 1,"
                " process_started_at = %s WHERE id = ANY(%s)",
                fields.Datetime.now(),
                self.ids,
            )
        )
        self.invalidate_recordset(["state", "attempts", "process_started_at"])
        self.sms_tracker_id._action_update_from_sms_state("process")

    def _outgoing(self):
        """Plain messages for a client."""
        return [
            provider_api.OutgoingMessage(sms.uuid, sms.number or "", sms.body or "")
            for sms in self
        ]

    @api.model
    def _write_results_of_rows(self, provider, rows, results):
        self.browse([row.id for row in rows])._write_results_of(provider, results)

    @api.model
    def _write_lane_results(self, provider, rows, results, route_cache):
        """Store a lane's results for its claimed ``rows``.

        Accepted messages (the hot path) are written with one statement;
        a temporary failure with another matching provider moves the message
        to that provider's lane at once (a hop is not an attempt); the rest
        goes through :meth:`_write_results_of`."""
        accepted = [
            row
            for row in rows
            if results[row.id].status in (provider_api.ACCEPTED, provider_api.DELIVERED)
        ]
        if accepted:
            self._write_accepted(provider, accepted, results)
        accepted_ids = {row.id for row in accepted}
        others = [row for row in rows if row.id not in accepted_ids]
        if not others:
            return
        records = self.browse([row.id for row in others])
        transient = records.filtered(
            lambda s: results[s.id].status == provider_api.TRANSIENT
        )
        hops = defaultdict(list)
        if transient:
            candidates = transient._candidates(route_cache)
            for sms in transient:
                target = dispatch.failover_target(
                    candidates.get(sms.id) or [], provider.id
                )
                if target and not sms.is_test:
                    hops[target].append(sms.id)
        moved = {sms_id for ids in hops.values() for sms_id in ids}
        final = {row.id: results[row.id] for row in others if row.id not in moved}
        if final:
            self.browse(list(final))._write_results_of(
                provider, final, route_cache=route_cache
            )
        for next_provider, ids in hops.items():
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_sms SET state = 'outgoing', route_provider_id = %s,"
                    " dispatch_lock = NULL, next_attempt_at = NULL,"
                    " attempts = GREATEST(COALESCE(attempts, 0) - 1, 0)"
                    " WHERE id = ANY(%s)",
                    next_provider,
                    ids,
                )
            )
            hopped = self.browse(ids)
            hopped.invalidate_recordset(
                ["state", "route_provider_id", "dispatch_lock", "attempts"]
            )
            hopped._update_trackers("outgoing", False)
        messages = self.browse(
            [row.id for row in others if not row.mailing_id and row.id in final]
        ).mail_message_id
        if messages:
            messages._notify_message_notification_update()

    @api.model
    def _write_accepted(self, provider, rows, results):
        """One UPDATE for messages the provider took (no ORM read or write
        per message: this is the path every campaign message takes)."""
        now = fields.Datetime.now()
        price = provider.price_per_part
        ids, states, references, costs, parts = [], [], [], [], []
        for row in rows:
            result = results[row.id]
            count = result.parts or row.parts
            ids.append(row.id)
            delivered = result.status == provider_api.DELIVERED
            states.append("sent" if delivered else "pending")
            references.append(result.provider_message_id)
            costs.append(result.cost if result.cost is not None else count * price)
            parts.append(count)
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms AS s SET state = v.state,"
                " provider_message_id = v.reference,"
                " cost = v.cost, parts = v.parts, provider_id = %s, sent_at = %s,"
                " delivered_at = CASE WHEN v.state = 'sent' THEN %s"
                " ELSE s.delivered_at END, failure_type = NULL, error_message = NULL,"
                " next_attempt_at = NULL, dispatch_lock = NULL, write_date = %s,"
                " write_uid = %s"
                " FROM unnest(%s::int[], %s::varchar[], %s::varchar[], %s::numeric[],"
                " %s::int[]) AS v(id, state, reference, cost, parts) WHERE s.id = v.id",
                provider.id,
                now,
                now,
                now,
                self.env.uid,
                ids,
                states,
                references,
                costs,
                parts,
            )
        )
        records = self.browse(ids)
        records.invalidate_recordset(
            [
                "state",
                "provider_message_id",
                "cost",
                "parts",
                "provider_id",
                "sent_at",
                "delivered_at",
                "failure_type",
                "error_message",
                "next_attempt_at",
                "dispatch_lock",
                "write_date",
                "write_uid",
            ]
        )
        loose = {row.id for row in rows if not row.mailing_id}
        if loose:
            # Chatter SMS: their notifications follow (mailings have none).
            loose_records = self.browse(sorted(loose))
            by_state = defaultdict(list)
            for sms_id, state in zip(ids, states, strict=True):
                if sms_id in loose:
                    by_state[state].append(sms_id)
            for state, state_ids in by_state.items():
                self.browse(state_ids)._update_trackers(state, False)
            loose_records.mail_message_id._notify_message_notification_update()

    def _rows(self):
        return [
            dispatch.Claimed(
                s.id, s.uuid, s.number, s.body, s.parts, s.sms_mailing_id.id
            )
            for s in self
        ]

    def _results_of(self, answers, error):
        """``{sms_id: SendResult}`` from what :func:`_send_with` returned."""
        return dispatch.results_by_id(self._rows(), answers, error, self.env._)

    def _write_results_of(self, provider, results, route_cache=None):
        """Store the providers' answers, one write per resulting state.

        A message retried later goes back to its first provider's lane."""
        now = fields.Datetime.now()
        groups = defaultdict(list)
        per_record = []
        retry_ids = []
        for sms in self:
            result = results[sms.id]
            status = result.status
            if status in (provider_api.ACCEPTED, provider_api.DELIVERED):
                state = "sent" if status == provider_api.DELIVERED else "pending"
                parts = result.parts or sms.parts
                cost = result.cost
                if cost is None and provider:
                    cost = parts * provider.price_per_part
                per_record.append((sms.id, result.provider_message_id, cost, parts))
                key = (state, False, False, None)
            elif (
                status == provider_api.TRANSIENT
                and not sms.is_test
                and sms.attempts < (provider.max_attempts if provider else 1)
            ):
                delay = routing.backoff_seconds(
                    sms.attempts,
                    base=settings.get(self.env, "sms_mailing.retry_base_seconds"),
                )
                key = ("outgoing", False, result.error, now + timedelta(seconds=delay))
                retry_ids.append(sms.id)
            else:
                error = result.error
                if status == provider_api.TRANSIENT:
                    error = _(
                        "%(error)s (gave up after %(count)s attempts)",
                        error=error,
                        count=sms.attempts,
                    )
                key = ("error", result.failure_type or "unknown", error, None)
            groups[key].append(sms.id)
        provider_id = provider.id if provider else False
        for (state, failure_type, error, next_at), ids in groups.items():
            records = self.browse(ids)
            values = {
                "state": state,
                "failure_type": failure_type,
                "error_message": error or False,
                "next_attempt_at": next_at or False,
                "provider_id": provider_id,
                "dispatch_lock": False,
            }
            if state in ("pending", "sent"):
                values["sent_at"] = now
            if state == "sent":
                values["delivered_at"] = now
            records.write(values)
            records._update_trackers(state, failure_type)
        if per_record:
            self._write_provider_answers(per_record)
        if retry_ids:
            retry = self.browse(retry_ids)
            firsts = retry._candidates(route_cache)
            by_first = defaultdict(list)
            for sms_id, cands in firsts.items():
                by_first[cands[0] if cands else None].append(sms_id)
            self._write_routes(by_first)

    def _write_provider_answers(self, rows):
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms AS s SET provider_message_id = v.reference,"
                " cost = v.cost, parts = v.parts"
                " FROM (VALUES %s) AS v(id, reference, cost, parts) WHERE s.id = v.id",
                SQL(", ").join(
                    SQL("(%s, %s::varchar, %s::numeric, %s)", *row) for row in rows
                ),
            )
        )
        self.browse([row[0] for row in rows]).invalidate_recordset(
            ["provider_message_id", "cost", "parts"]
        )

    def _write_deferred(self, deferred):
        by_date = defaultdict(list)
        for sms_id, when in deferred.items():
            by_date[when].append(sms_id)
        for when, ids in by_date.items():
            records = self.browse(ids)
            records.flush_recordset()
            # Waiting is not an attempt.
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_sms SET state = 'outgoing', next_attempt_at = %s,"
                    " dispatch_lock = NULL,"
                    " attempts = GREATEST(COALESCE(attempts, 0) - 1, 0)"
                    " WHERE id = ANY(%s)",
                    when,
                    ids,
                )
            )
            records.invalidate_recordset(
                ["state", "next_attempt_at", "attempts", "dispatch_lock"]
            )
            records._update_trackers("outgoing", False)

    def _trackers(self):
        """``sms.tracker`` of these messages (one query; none for mailings)."""
        uuids = [sms.uuid for sms in self if sms.uuid and not sms.sms_mailing_id]
        if not uuids:
            return self.env["sms.tracker"]
        # sudo: trackers follow their message's state; nothing is shown to the user.
        return self.env["sms.tracker"].sudo().search([("sms_uuid", "in", uuids)])

    def _update_trackers(self, state, failure_type):
        trackers = self._trackers()
        if not trackers:
            return
        if failure_type == IN_DOUBT:
            # Notifications and mailing traces know no such failure type.
            failure_type = "unknown"
        if state == "error" and failure_type in self.DELIVERY_ERRORS:
            # Odoo's tracker takes the delivery error without its "sms_" prefix.
            trackers._action_update_from_provider_error(
                failure_type.removeprefix("sms_")
            )
        else:
            trackers._action_update_from_sms_state(
                state, failure_type=failure_type or False
            )
