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
        if not rows:
            return
        by_provider = defaultdict(list)
        requested = {}
        for sms_id, number, company_id, requested_id in rows:
            if requested_id:
                if requested_id not in requested:
                    # sudo: only reads whether the requested provider is active.
                    provider = self.env["sms.provider"].sudo().browse(requested_id)
                    requested[requested_id] = provider.active
                by_provider[requested_id if requested[requested_id] else None].append(
                    sms_id
                )
                continue
            cands = routing.order_candidates(
                number or "", self._route_table(company_id, route_cache)
            )
            by_provider[cands[0] if cands else None].append(sms_id)
        unserved_ids = by_provider.pop(None, [])
        self._write_routes(by_provider)
        if unserved_ids:
            # sudo: failing unroutable messages is the dispatcher's job.
            unserved = self.browse(unserved_ids).sudo()
            unserved._write_results_of(
                None, {sms.id: sms._no_provider_result() for sms in unserved}
            )
            unserved.mail_message_id._notify_message_notification_update()

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
        result = {}
        for sms in self:
            requested = sms.requested_provider_id
            if requested:
                # sudo: only whether the requested provider is active.
                result[sms.id] = [requested.id] if requested.sudo().active else []
                continue
            table = self._route_table(sms.company_id.id, cache)
            result[sms.id] = routing.order_candidates(sms.number or "", table)
        return result

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
