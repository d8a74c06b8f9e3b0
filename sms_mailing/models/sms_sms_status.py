"""Delivery statuses: polling providers and applying their updates."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from ..tools import provider as provider_api
from ..tools import (
    settings,
)
from ..tools.transaction import commit_batch

_logger = logging.getLogger(__name__)


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
                        updated |= provider._apply_status_updates(updates)
                        commit_batch(self.env)
            except (provider_api.ProviderError, provider_api.NotSupported) as err:
                _logger.warning("Status poll of %s failed: %s", provider.name, err)
        return updated

    @api.model
    def _apply_status_updates(self, provider, updates):
        updates = [u for u in updates if u.provider_message_id and not u.transient]
        if not updates:
            return self.browse()
        references = list({u.provider_message_id for u in updates})
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT ON (provider_message_id) provider_message_id, id"
                " FROM sms_sms WHERE provider_id = %s AND provider_message_id = ANY(%s)"
                " ORDER BY provider_message_id, (state = 'pending') DESC, id DESC",
                provider.id,
                references,
            )
        )
        sms_id_by_reference = dict(self.env.cr.fetchall())
        now = fields.Datetime.now()
        touched = self.browse()
        for update in updates:
            sms = self.browse(sms_id_by_reference.get(update.provider_message_id))
            if not sms:
                continue
            values = {}
            if update.cost is not None:
                values["cost"] = update.cost
            if update.state == provider_api.STATE_DELIVERED and sms.state != "sent":
                values.update(
                    state="sent",
                    delivered_at=update.at or now,
                    failure_type=False,
                    error_message=False,
                )
            elif update.state == provider_api.STATE_ERROR and sms.state in (
                "pending",
                "process",
            ):
                values.update(
                    state="error",
                    failure_type=update.failure_type or "sms_not_delivered",
                    error_message=update.error or False,
                )
            if values:
                sms.write(values)
                if "state" in values:
                    sms._update_trackers(values["state"], values.get("failure_type"))
                touched |= sms
        touched.mail_message_id._notify_message_notification_update()
        return touched
