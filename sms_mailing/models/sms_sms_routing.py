"""Routing: which provider lane sends each queued message, failover lists,
quiet hours."""

import logging
from collections import defaultdict

from psycopg2 import errors as pg_errors

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import provider as provider_api
from ..tools import (
    quiet_hours,
    routing,
    transaction,
)

_logger = logging.getLogger(__name__)


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsSms(models.Model):
    _inherit = "sms.sms"

    # -- routing ----------------------------------------------------------
    @api.model
    def _route_queue(self, company_ids, route_cache, limit=5000):
        """Give unrouted outgoing messages their provider lane (the first
        matching provider); fail those no active provider serves."""
        self.flush_model()
        query = SQL(
            "SELECT id, number, company_id, requested_provider_id FROM sms_sms"
            " WHERE state = 'outgoing'"
            " AND route_provider_id IS NULL AND to_delete IS NOT TRUE"
            " AND is_test IS NOT TRUE %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            SQL("AND company_id = ANY(%s)", list(company_ids))
            if False not in company_ids
            else SQL(""),
            limit,
        )
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, log_exceptions=False)
                rows = self.env.cr.fetchall()
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            return  # another lane is routing them
        self._assign_routes(rows, route_cache)

    def _route_messages(self, route_cache):
        """Route these messages (a direct send): those outgoing without a lane."""
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                "SELECT id, number, company_id, requested_provider_id FROM sms_sms"
                " WHERE id = ANY(%s) AND state = 'outgoing'"
                " AND route_provider_id IS NULL ORDER BY id",
                self.ids,
            )
        )
        self._assign_routes(self.env.cr.fetchall(), route_cache)

    @api.model
    def _assign_routes(self, rows, route_cache):
        """Give messages ``(id, number, company id, requested provider id)``
        their provider lane (the first matching provider); fail those no
        active provider serves."""
        by_provider = defaultdict(list)
        for sms_id, number, company_id, requested_id in rows:
            cands = self._candidates_for(number, company_id, requested_id, route_cache)
            by_provider[cands[0] if cands else None].append(sms_id)
        unserved_ids = by_provider.pop(None, [])
        self._write_routes(by_provider)
        if unserved_ids:
            # sudo: failing unroutable messages is the dispatcher's job.
            unserved = self.browse(unserved_ids).sudo()
            results = {sms.id: sms._no_provider_result() for sms in unserved}
            unserved._write_send_results(None, unserved._rows(), results)

    @api.model
    def _routing_elsewhere(self, company_ids):
        """Whether due messages wait for a routing another transaction holds."""
        if transaction.testing():
            return False
        self.env.cr.execute(
            SQL(
                "SELECT EXISTS(SELECT 1 FROM sms_sms WHERE %s"
                " AND route_provider_id IS NULL)",
                self._due_where(company_ids),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _reset_routes(self):
        """Route queued messages again (providers changed)."""
        self.flush_model(["route_provider_id", "state"])
        self.env.cr.execute(
            "UPDATE sms_sms SET route_provider_id = NULL"
            " WHERE state = 'outgoing' AND route_provider_id IS NOT NULL"
        )
        self.invalidate_model(["route_provider_id"])

    def _candidates(self, route_cache=None):
        """Provider failover list (ids, best first) for each message of ``self``.

        ``route_cache`` (a dict kept by the caller) holds each company's
        providers with their parsed prefixes, so routing is pure Python.
        """
        cache = {} if route_cache is None else route_cache
        return {
            sms.id: self._candidates_for(
                sms.number, sms.company_id.id, sms.requested_provider_id.id, cache
            )
            for sms in self
        }

    @api.model
    def _candidates_for(self, number, company_id, requested_id, cache):
        """Failover list of one message: its requested provider when it is
        active, else the company's providers that match ``number``."""
        if requested_id:
            key = ("requested", requested_id)
            if key not in cache:
                # sudo: only reads whether the requested provider is active.
                provider = self.env["sms.provider"].sudo().browse(requested_id)
                cache[key] = provider.active
            return [requested_id] if cache[key] else []
        return routing.order_candidates(
            number or "", self._route_table(company_id, cache)
        )

    @api.model
    def _route_table(self, company_id, cache):
        """``[(provider id, prefixes, sequence)]`` of a company, kept in ``cache``."""
        company_id = company_id or self.env.company.id
        table = cache.get(company_id)
        if table is None:
            # sudo: routing reads providers, which only administrators may.
            providers = (
                self.env["sms.provider"]
                .sudo()
                ._get_active_providers(self.env["res.company"].browse(company_id))
            )
            table = cache[company_id] = [
                (p.id, routing.parse_prefixes(p.number_prefixes), p.sequence)
                for p in providers
            ]
        return table

    def _defer_until(self):
        """``{sms_id: datetime}`` of mailing messages held by quiet hours."""
        result = {}
        now = fields.Datetime.now()
        for sms in self.filtered(
            lambda s: s.sms_mailing_id.quiet_hours and not s.is_test
        ):
            mailing = sms.sms_mailing_id
            tz = quiet_hours.timezone_of(sms.partner_id.tz, sms.number)
            when = quiet_hours.next_allowed(
                now, tz, mailing.quiet_start, mailing.quiet_end
            )
            if when:
                result[sms.id] = when
        return result

    def _write_deferred(self, deferred):
        """Put messages held by quiet hours back to wait: ``{sms_id: datetime}``
        (waiting is not an attempt)."""
        by_date = defaultdict(list)
        for sms_id, when in deferred.items():
            by_date[when].append(sms_id)
        for when, ids in by_date.items():
            self.browse(ids)._set_state("outgoing", attempts="-1", next_attempt_at=when)

    @api.model
    def _write_routes(self, ids_by_provider):
        """Store the lane of messages: ``{provider id (None: no lane): [sms ids]}``,
        one statement per provider."""
        for provider_id, sms_ids in ids_by_provider.items():
            self.env.cr.execute(
                SQL(
                    "UPDATE sms_sms SET route_provider_id = %s WHERE id = ANY(%s)",
                    provider_id,
                    sms_ids,
                )
            )
        self.invalidate_model(["route_provider_id"])

    def _no_provider_result(self):
        """The result of a message no active provider serves."""
        self.ensure_one()
        return provider_api.SendResult(
            self.uuid,
            provider_api.PERMANENT,
            failure_type="sms_country_not_supported",
            error=self.env._(
                "No active SMS provider can send to %(number)s.",
                number=self.number or self.env._("an empty number"),
            ),
        )
