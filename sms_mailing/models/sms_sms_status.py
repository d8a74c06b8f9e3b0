"""Delivery statuses: polling providers and applying their updates."""

import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import split_every

from ..tools import provider as provider_api
from ..tools import (
    settings,
)
from ..tools.transaction import commit_batch

_logger = logging.getLogger(__name__)


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsSms(models.Model):
    _inherit = "sms.sms"

    # ------------------------------------------------------------------
    # Delivery statuses
    # ------------------------------------------------------------------
    @api.model
    def _poll_statuses(self, limit=None):
        """Ask providers with a status API about messages still ``pending``."""
        limit = limit or settings.get(self.env, "sms_mailing.status_poll_limit")
        max_age = settings.get(self.env, "sms_mailing.status_max_age_hours")
        since = fields.Datetime.now() - timedelta(hours=max_age)
        updated = self.browse()
        # sudo: the status cron asks every provider about its own messages.
        for provider in self.env["sms.provider"].sudo().search([("active", "=", True)]):
            messages = self.sudo().search(
                [
                    ("provider_id", "=", provider.id),
                    ("state", "=", "pending"),
                    ("provider_message_id", "!=", False),
                    ("sent_at", ">=", since),
                ],
                order="status_checked_at ASC NULLS FIRST, id",
                limit=limit,
            )
            if not messages:
                continue
            try:
                with provider._open_client() as client:
                    if not client.supports_status:
                        continue
                    for chunk in split_every(
                        client.status_batch, messages.ids, self.browse
                    ):
                        updates = client.statuses(chunk.mapped("provider_message_id"))
                        chunk.write({"status_checked_at": fields.Datetime.now()})
                        updated |= self._update_from_statuses(provider, updates)
                        commit_batch(self.env)
            except (provider_api.ProviderError, provider_api.NotSupported) as err:
                _logger.warning("Status poll of %s failed: %s", provider.name, err)
        return updated

    @api.model
    def _update_from_statuses(self, provider, updates):
        """Apply ``provider``'s ``StatusUpdate``s to the messages it sent (see
        ``sms.provider._apply_status_updates``), in their order; returns the
        changed ones."""
        updates = [u for u in updates if u.provider_message_id and not u.transient]
        if not updates:
            return self.browse()
        by_reference = {}
        found = provider._find_messages_by_reference(
            [u.provider_message_id for u in updates]
        )
        for sms in found:
            by_reference.setdefault(sms.provider_message_id, sms)
        now = fields.Datetime.now()
        states = {sms.id: sms.state for sms in by_reference.values()}
        transitions = {}  # id -> (state, failure_type, error)
        values = defaultdict(dict)  # id -> per-message values
        for update in updates:
            sms = by_reference.get(update.provider_message_id)
            if not sms:
                continue
            if update.cost is not None:
                values[sms.id]["cost"] = update.cost
            if (
                update.state == provider_api.STATE_DELIVERED
                and states[sms.id] != "sent"
            ):
                transitions[sms.id] = ("sent", False, False)
                values[sms.id]["delivered_at"] = update.at or now
            elif update.state == provider_api.STATE_ERROR and states[sms.id] in (
                "pending",
                "process",
            ):
                failure_type = update.failure_type or "sms_not_delivered"
                transitions[sms.id] = ("error", failure_type, update.error or False)
            else:
                continue
            states[sms.id] = transitions[sms.id][0]
        touched = self.browse(sorted(set(transitions) | set(values)))
        groups = defaultdict(list)
        for sms_id, transition in transitions.items():
            groups[transition].append(sms_id)
        for (state, failure_type, error), ids in groups.items():
            self.browse(ids)._set_state(
                state,
                failure_type,
                error,
                per_message={i: values.pop(i) for i in ids if values.get(i)},
            )
        if values:
            self._write_per_message(values)  # costs of unchanged states
        return touched
