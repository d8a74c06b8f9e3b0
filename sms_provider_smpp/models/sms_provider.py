import contextlib
import logging
import threading
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.sms_mailing.tools.provider import StatusUpdate

from ..tools import smpp as codec
from ..tools.smpp_client import DEFAULT_PORT, DEFAULT_TIMEOUT, SmppClient

_logger = logging.getLogger(__name__)

# The bind each provider's lane shares between its threads, per thread that
# opened the clients (a lane's worker thread).
_LANES = threading.local()

# Receipts whose message is still unknown are kept this long.
KEEP_DAYS = 3

TON_SELECTION = [
    ("auto", "From the sender"),
    ("0", "0: Unknown"),
    ("1", "1: International"),
    ("2", "2: National"),
    ("3", "3: Network specific (short code)"),
    ("4", "4: Subscriber number"),
    ("5", "5: Alphanumeric"),
    ("6", "6: Abbreviated"),
]
NPI_SELECTION = [
    ("auto", "From the sender"),
    ("0", "0: Unknown"),
    ("1", "1: ISDN (E.164)"),
    ("8", "8: National"),
    ("9", "9: Private"),
]


class SmsProvider(models.Model):
    _inherit = "sms.provider"

    provider_type = fields.Selection(
        selection_add=[("smpp", "SMPP (SMSC or SMS gateway)")],
        ondelete={"smpp": "cascade"},
    )
    smpp_host = fields.Char(
        "SMPP host", help="Address of the SMSC or gateway, e.g. smpp.example.com."
    )
    smpp_port = fields.Integer("SMPP port", default=DEFAULT_PORT)
    smpp_system_id = fields.Char(
        "System ID", help="The SMPP account name (system_id) given by the provider."
    )
    smpp_password = fields.Char(
        "SMPP password",
        groups="base.group_system",
        copy=False,
        help="The SMPP account password (8 characters at most in SMPP 3.4).",
    )
    smpp_system_type = fields.Char(
        "System type", help="Only when the provider asks for one; usually empty."
    )
    smpp_tls = fields.Boolean(
        "TLS", help="Connect with SMPP over TLS (the port is usually 3550 or 8775)."
    )
    smpp_timeout = fields.Float(
        "Answer timeout (seconds)",
        default=DEFAULT_TIMEOUT,
        help="How long to wait for the SMSC's answer to a bind or a message. A "
        "message without an answer may have been sent: it fails as Maybe sent "
        "and is never sent again automatically.",
    )
    smpp_source_ton = fields.Selection(
        TON_SELECTION,
        "Sender type of number (TON)",
        default="auto",
        required=True,
        help="From the sender: 5 for a name, 3 for a short code, 1 for an "
        "international number.",
    )
    smpp_source_npi = fields.Selection(
        NPI_SELECTION,
        "Sender numbering plan (NPI)",
        default="auto",
        required=True,
    )
    smpp_source_summary = fields.Char(
        "Sender as sent", compute="_compute_smpp_source_summary"
    )

    @api.depends("sender", "smpp_source_ton", "smpp_source_npi")
    def _compute_smpp_source_summary(self):
        for provider in self:
            ton, npi, address = provider._smpp_source()
            if address:
                provider.smpp_source_summary = _(
                    "%(address)s (TON %(ton)s, NPI %(npi)s)",
                    address=address,
                    ton=ton,
                    npi=npi,
                )
            else:
                provider.smpp_source_summary = _(
                    "The account's default sender (TON %(ton)s, NPI %(npi)s)",
                    ton=ton,
                    npi=npi,
                )

    @api.constrains("provider_type", "smpp_host", "smpp_port", "smpp_timeout", "sender")
    def _check_smpp_settings(self):
        for provider in self.filtered(lambda p: p.provider_type == "smpp"):
            if not (provider.smpp_host or "").strip():
                raise ValidationError(_("An SMPP provider needs the SMSC's host."))
            if not 0 < provider.smpp_port < 65536:
                raise ValidationError(_("The SMPP port must be between 1 and 65535."))
            if provider.smpp_timeout <= 0:
                raise ValidationError(_("The answer timeout must be positive."))
            error = codec.sender_error(provider.sender)
            if error:
                raise ValidationError(codec.text(error, self.env.lang))

    def _smpp_source(self):
        return codec.source_address(
            self.sender or "",
            None if self.smpp_source_ton == "auto" else int(self.smpp_source_ton),
            None if self.smpp_source_npi == "auto" else int(self.smpp_source_npi),
        )

    # ------------------------------------------------------------------
    # Client hooks
    # ------------------------------------------------------------------
    def _get_client_config(self):
        config = super()._get_client_config()
        if self.provider_type == "smpp":
            # sudo: the password goes to the client only, never to the caller.
            provider = self.sudo()
            ton, npi, _address = self._smpp_source()
            config.update(
                host=(provider.smpp_host or "").strip(),
                port=provider.smpp_port or DEFAULT_PORT,
                system_id=provider.smpp_system_id or "",
                password=provider.smpp_password or "",
                system_type=provider.smpp_system_type or "",
                tls=provider.smpp_tls,
                timeout=provider.smpp_timeout or DEFAULT_TIMEOUT,
                source_ton=ton,
                source_npi=npi,
                window=provider.inflight_requests,
                rate_limit=provider.rate_limit,
                lang=self.env.lang or "en_US",
            )
        return config

    def _get_client(self):
        if self.provider_type == "smpp":
            self.ensure_one()
            return SmppClient(self._get_client_config())
        return super()._get_client()

    @contextlib.contextmanager
    def _open_client(self):
        """SMPP: the clients a lane opens at once (one per thread of the
        dispatcher) share one bind, opened at the first send and unbound when
        the last of them is closed; then what the bind brought is stored."""
        if self.provider_type != "smpp":
            with super()._open_client() as client:
                yield client
            return
        shared = _LANES.__dict__.setdefault("by_provider", {})
        key = (self.env.cr.dbname, self.id)
        entry = shared.get(key)
        client = self._get_client()
        client.receipt_sink = self._smpp_receipt_sink()
        if entry is None:
            client.share_lane()
            entry = shared[key] = {"owner": client, "count": 0}
        else:
            client.lane = entry["owner"].lane
        entry["count"] += 1
        try:
            yield client
        finally:
            entry["count"] -= 1
            if not entry["count"]:
                del shared[key]
                owner = entry["owner"]
                owner.lane.close()
                self._smpp_after_session(owner)

    def _smpp_after_session(self, client):
        """Store what a session brought besides its results: part ids,
        receipts (applied by the scheduled read of received messages, in a
        worker of its own: the lanes keep sending), MO messages, and a refused
        bind on the provider form."""
        cr = self.env.cr
        if client.part_ids:
            cr.execute(
                SQL(
                    "INSERT INTO sms_smpp_part (provider_id, part_message_id,"
                    " message_id, received_at) SELECT %s, p, f, %s"
                    " FROM unnest(%s::varchar[], %s::varchar[]) AS t(p, f)",
                    self.id,
                    fields.Datetime.now(),
                    list(client.part_ids),
                    list(client.part_ids.values()),
                )
            )
            client.part_ids = {}
        updates = client.status_updates()
        if updates:
            self._smpp_store_receipts(updates)
        if updates or client.stored_receipts:
            self.env.ref("sms_mailing.ir_cron_sms_fetch_inbound")._trigger()
        if client.inbound:
            inbound, client.inbound = client.inbound, []
            self._receive_inbound(inbound)
        if client.bind_error:
            self._smpp_mark_unavailable(client.bind_error)

    def _smpp_mark_unavailable(self, message):
        """Show a refused bind on the provider form (a lane may run while
        another one writes the provider: never fail the lane for it)."""
        try:
            with self.env.cr.savepoint():
                # sudo: a lane (cron) reports its provider's state.
                self.sudo().write(
                    {
                        "state": "unavailable",
                        "last_check_message": message,
                        "last_check_date": fields.Datetime.now(),
                    }
                )
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            _logger.info("SMPP: provider %s state not updated (busy)", self.id)

    # ------------------------------------------------------------------
    # Receipts
    # ------------------------------------------------------------------
    def _smpp_receipt_sink(self):
        """A callable storing receipts in a transaction of its own, committed
        at once (called from a bind's thread, before the SMSC is answered)."""
        registry = self.env.registry
        provider_id = self.id

        def sink(updates):
            if not updates:
                return
            with registry.cursor() as cr:
                cr.execute(_receipts_insert(provider_id, updates))

        return sink

    def _smpp_store_receipts(self, updates):
        """Keep receipts until their message is found (one statement: a lane
        stores those of every session)."""
        self.env.cr.execute(_receipts_insert(self.id, updates))

    def _smpp_apply_receipts(self):
        """Apply the waiting receipts whose message is known (the id as given,
        in its hex/decimal form, or the id of another part); returns the
        number applied. Receipts another transaction holds are skipped."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                return self._smpp_apply_receipts_now()
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            # A lane's snapshot predates a result another one committed: the
            # scheduled read of received messages applies them soon.
            self.env.ref("sms_mailing.ir_cron_sms_fetch_inbound")._trigger(
                fields.Datetime.now() + timedelta(seconds=5)
            )
            return 0

    def _smpp_apply_receipts_now(self):
        rows = self._smpp_lock_receipts()
        if not rows:
            return 0
        resolved = self._smpp_resolve([row[1] for row in rows])
        done, updates, part_failures = self._smpp_receipt_updates(rows, resolved)
        if updates:
            updates = self._smpp_apply_delivered_in_bulk(updates)
        if updates:
            self._apply_status_updates(updates)
        if part_failures:
            self._smpp_fail_parts(part_failures)
        self._smpp_delete_receipts(done)
        recent = fields.Datetime.now() - timedelta(minutes=10)
        applied = set(done)
        if any(row[0] not in applied and row[5] >= recent for row in rows):
            # Receipts of messages whose result is not stored yet: the
            # scheduled read of received messages applies them soon.
            self.env.ref("sms_mailing.ir_cron_sms_fetch_inbound")._trigger(
                fields.Datetime.now() + timedelta(seconds=10)
            )
        return len(done)

    def _smpp_lock_receipts(self):
        """The stored receipts of this provider no other transaction is
        applying, locked: ``(id, message_id, state, failure_type, error,
        received_at)`` rows."""
        # sudo: only writes pending changes to the table read below.
        self.env["sms.smpp.receipt"].sudo().flush_model()
        self.env["sms.smpp.part"].flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT id, message_id, state, failure_type, error, received_at"
                " FROM sms_smpp_receipt WHERE provider_id = %s"
                " ORDER BY id FOR UPDATE SKIP LOCKED",
                self.id,
            )
        )
        return self.env.cr.fetchall()

    def _smpp_receipt_updates(self, rows, resolved):
        """``(applied receipt ids, StatusUpdate list, {reference: (failure
        type, error)} of failed later parts)`` for the receipt ``rows`` whose
        message is known (``resolved``, see :meth:`_smpp_resolve`)."""
        updates = []
        done = []
        part_failures = {}
        for receipt_id, message_id, state, failure_type, error, _at in rows:
            found = resolved.get(message_id)
            if not found:
                continue
            reference, is_part = found
            done.append(receipt_id)
            if is_part:
                if state == codec.STATE_ERROR:
                    # The recipient lacks part of the text, even if the first
                    # part was reported delivered.
                    part_failures[reference] = (failure_type, error)
                continue  # a later part delivered: the first part's receipt counts
            updates.append(
                StatusUpdate(
                    reference,
                    state,
                    final=True,
                    failure_type=failure_type or None,
                    error=error or None,
                )
            )
        return done, updates, part_failures

    def _smpp_delete_receipts(self, done):
        """Delete the applied receipts, and the receipts and part ids too old
        to ever find their message."""
        cr = self.env.cr
        stale = fields.Datetime.now() - timedelta(days=KEEP_DAYS)
        cr.execute(
            SQL(
                "DELETE FROM sms_smpp_receipt WHERE id = ANY(%s)"
                " OR (provider_id = %s AND received_at < %s)",
                done,
                self.id,
                stale,
            )
        )
        cr.execute(
            SQL(
                "DELETE FROM sms_smpp_part WHERE provider_id = %s AND received_at < %s",
                self.id,
                fields.Datetime.now() - timedelta(days=30),
            )
        )
        # sudo: only to invalidate the cache of the rows deleted above.
        self.env["sms.smpp.receipt"].sudo().invalidate_model()

    def _smpp_apply_delivered_in_bulk(self, updates):
        """Mark delivered, in one statement, the campaign messages a receipt
        says were delivered (they have no chatter notification to follow);
        returns the updates left for the core's ``_apply_status_updates``."""
        references = [
            u.provider_message_id for u in updates if u.state == codec.STATE_DELIVERED
        ]
        if not references:
            return updates
        now = fields.Datetime.now()
        self.env["sms.sms"].flush_model()
        self.env.cr.execute(
            SQL(
                "UPDATE sms_sms SET state = 'sent', delivered_at = %s,"
                " failure_type = NULL, error_message = NULL, write_date = %s,"
                " write_uid = %s"
                " WHERE id IN (SELECT DISTINCT ON (provider_message_id) id"
                " FROM sms_sms WHERE provider_id = %s"
                " AND provider_message_id = ANY(%s)"
                " ORDER BY provider_message_id, (state = 'pending') DESC, id DESC)"
                " AND state = 'pending' AND sms_mailing_id IS NOT NULL"
                " RETURNING id, provider_message_id",
                now,
                now,
                self.env.uid,
                self.id,
                references,
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            return updates
        self.env["sms.sms"].browse([row[0] for row in rows]).invalidate_recordset(
            [
                "state",
                "delivered_at",
                "failure_type",
                "error_message",
                "write_date",
                "write_uid",
            ]
        )
        done = {row[1] for row in rows}
        return [
            u
            for u in updates
            if not (u.state == codec.STATE_DELIVERED and u.provider_message_id in done)
        ]

    def _smpp_fail_parts(self, part_failures):
        updates = [
            StatusUpdate(
                reference,
                codec.STATE_ERROR,
                final=True,
                failure_type=failure_type or None,
                error=error or None,
            )
            for reference, (failure_type, error) in part_failures.items()
        ]
        self._apply_status_updates(updates)  # still pending: failed as usual
        # sudo: messages of this provider matched by its own references.
        delivered = (
            self.env["sms.sms"]
            .sudo()
            .search(
                [
                    ("provider_id", "=", self.id),
                    ("provider_message_id", "in", list(part_failures)),
                    ("state", "=", "sent"),
                ]
            )
        )
        for sms in delivered:
            failure_type, error = part_failures[sms.provider_message_id]
            sms.write(
                {
                    "state": "error",
                    "failure_type": failure_type or "sms_not_delivered",
                    "error_message": error or False,
                    "delivered_at": False,
                }
            )
            sms._update_trackers("error", sms.failure_type)

    def _smpp_resolve(self, message_ids):
        """``{receipt id: (stored provider_message_id, is a later part)}`` for
        messages whose sending result is stored (not ``process``: a result
        written after the receipt would overwrite it)."""
        self.env["sms.sms"].flush_model(["provider_id", "provider_message_id", "state"])
        targets = self._smpp_part_targets(list(set(message_ids)))
        return self._smpp_stored_targets(targets)

    def _smpp_part_targets(self, wanted):
        """``{receipt id: (first part's id, is a later part)}``: a later
        part's id leads to the first part's id (in any form of the id)."""
        cr = self.env.cr
        targets = {mid: (mid, False) for mid in wanted}
        cr.execute(
            SQL(
                "SELECT part_message_id, message_id FROM sms_smpp_part"
                " WHERE provider_id = %s AND part_message_id = ANY(%s)",
                self.id,
                wanted,
            )
        )
        for part, first in cr.fetchall():
            targets[part] = (first, True)
        left = [mid for mid, (_ref, is_part) in targets.items() if not is_part]
        if left:
            # The same id in another form (hexadecimal in submit_sm_resp,
            # decimal in the receipt, leading zeros...): normalised forms.
            forms = {}
            for message_id in left:
                for form in codec.id_forms(message_id):
                    forms.setdefault(form, message_id)
            cr.execute(
                SQL(
                    "SELECT lower(ltrim(part_message_id, '0')), message_id"
                    " FROM sms_smpp_part WHERE provider_id = %s"
                    " AND lower(ltrim(part_message_id, '0')) = ANY(%s)",
                    self.id,
                    list(forms),
                )
            )
            for form, first in cr.fetchall():
                targets[forms[form]] = (first, True)
        return targets

    def _smpp_stored_targets(self, targets):
        """The ``targets`` (see :meth:`_smpp_part_targets`) whose message's
        sending result is stored, by its stored provider_message_id."""
        cr = self.env.cr
        references = list({ref for ref, _is_part in targets.values()})
        cr.execute(
            SQL(
                "SELECT provider_message_id FROM sms_sms WHERE provider_id = %s"
                " AND provider_message_id = ANY(%s) AND state != 'process'",
                self.id,
                references,
            )
        )
        stored = {row[0] for row in cr.fetchall()}
        result = {}
        unknown = {}
        for mid, (reference, is_part) in targets.items():
            if reference in stored:
                result[mid] = (reference, is_part)
            else:
                for form in codec.id_forms(reference):
                    unknown.setdefault(form, (mid, is_part))
        if unknown:
            since = fields.Datetime.now() - timedelta(days=KEEP_DAYS + 7)
            cr.execute(
                SQL(
                    "SELECT lower(ltrim(provider_message_id, '0')), provider_message_id"
                    " FROM sms_sms WHERE provider_id = %s AND sent_at >= %s"
                    " AND state != 'process'"
                    " AND lower(ltrim(provider_message_id, '0')) = ANY(%s)",
                    self.id,
                    since,
                    list(unknown),
                )
            )
            for form, reference in cr.fetchall():
                mid, is_part = unknown[form]
                result.setdefault(mid, (reference, is_part))
        return result

    def _fetch_inbound(self):
        if self.provider_type != "smpp":
            return super()._fetch_inbound()
        self.ensure_one()
        # What the SMSC kept for us, then every receipt the lanes and this
        # session stored.
        inbound = self.env["sms.inbound"]
        try:
            with self._open_client() as client:
                messages = client.fetch_inbound()
                if messages:
                    inbound = self._receive_inbound(messages)
        finally:
            self._smpp_apply_receipts()
        return inbound


def _receipts_insert(provider_id, updates):
    return SQL(
        "INSERT INTO sms_smpp_receipt (provider_id, message_id, state,"
        " failure_type, error, received_at)"
        " SELECT %s, m, s, f, e, %s FROM unnest(%s::varchar[],"
        " %s::varchar[], %s::varchar[], %s::varchar[]) AS t(m, s, f, e)",
        provider_id,
        fields.Datetime.now(),
        [u.provider_message_id for u in updates],
        [u.state for u in updates],
        [u.failure_type for u in updates],
        [u.error for u in updates],
    )
