import contextlib
import functools
import logging
import re

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.sms_mailing.tools import settings, transaction
from odoo.addons.sms_mailing.tools.exceptions import ProviderError
from odoo.addons.sms_mailing.tools.keywords import DEFAULT_STOP_KEYWORDS

from ..tools.modem_client import ModemClient, match_reports

_logger = logging.getLogger(__name__)


def _delete_from_modem(dbname, provider_id, config, keys, wait):
    """Delete stored messages once they are committed (a post-commit hook).

    Only plain values here: the transaction that stored them is over. On
    failure they stay on the SIM; the next poll finds them already stored and
    deletes them then.
    """
    try:
        with transaction.line_lock(dbname, provider_id, wait):
            client = ModemClient(config)
            try:
                client.delete_stored(keys)
            finally:
                client.close()
    except ProviderError as err:
        _logger.warning(
            "SMS modem %s: messages %s stay on the SIM for now: %s",
            provider_id,
            keys,
            err.message,
        )


class SmsProvider(models.Model):
    _inherit = "sms.provider"

    provider_type = fields.Selection(
        selection_add=[("modem", "GSM modem")], ondelete={"modem": "cascade"}
    )
    modem_port = fields.Char(
        "Port",
        tracking=True,
        help="The modem's serial device, e.g. /dev/ttyUSB0, or a pyserial URL "
        "for a modem on the network: socket://host:port (raw TCP, ser2net) or "
        "rfc2217://host:port.",
    )
    modem_baudrate = fields.Integer("Baud rate", default=115200)
    modem_pin = fields.Char(
        "SIM PIN",
        groups="base.group_system",
        copy=False,
        help="Entered when the SIM card asks for it. Three wrong PINs block "
        "the SIM: check it first.",
    )
    modem_smsc = fields.Char(
        "Service centre (SMSC)",
        help="International number of the SMS service centre; empty: the one "
        "stored on the SIM card.",
    )
    modem_delivery_reports = fields.Boolean(
        "Delivery reports",
        default=True,
        help="Ask the network to report delivery: messages then turn Delivered "
        "or Failed.",
    )
    modem_report_mode = fields.Selection(
        [
            ("stored", "Stored on the SIM (+CDSI)"),
            ("direct", "Direct to the line (+CDS)"),
        ],
        "Reports arrive",
        default="stored",
        required=True,
        help="Stored: the modem keeps each report until Odoo reads it (Odoo opens "
        "the port only from time to time). Direct: reports are written on the "
        "line and only those arriving while Odoo has the port open are seen; "
        "for modems that cannot store them.",
    )
    modem_stop_keywords = fields.Char(
        "Stop keywords",
        default=DEFAULT_STOP_KEYWORDS,
        help="A received SMS equal to one of these words (case and spaces do "
        "not matter) opts its sender out of SMS.",
    )
    modem_ussd_balance = fields.Char(
        "Balance USSD code",
        help="e.g. *100#: its answer is shown as the balance. Empty: no balance.",
    )
    modem_timeout = fields.Float(
        "Timeout (seconds)",
        default=30.0,
        help="Longest wait for an answer of the modem (sending included).",
    )
    modem_signal_dbm = fields.Integer("Signal (dBm)", readonly=True, copy=False)
    modem_signal_quality = fields.Char("Signal", readonly=True, copy=False)
    modem_registration = fields.Selection(
        [
            ("home", "Home network"),
            ("roaming", "Roaming"),
            ("searching", "Searching"),
            ("denied", "Denied"),
            ("not_registered", "Not registered"),
            ("unknown", "Unknown"),
        ],
        "Network",
        readonly=True,
        copy=False,
    )

    @api.constrains(
        "provider_type",
        "modem_port",
        "modem_baudrate",
        "modem_timeout",
        "modem_pin",
        "modem_smsc",
        "modem_ussd_balance",
    )
    def _check_modem_settings(self):
        for provider in self.filtered(lambda p: p.provider_type == "modem"):
            if not (provider.modem_port or "").strip():
                raise ValidationError(_("A GSM modem needs its port."))
            if provider.modem_baudrate <= 0 or provider.modem_timeout <= 0:
                raise ValidationError(
                    _("The baud rate and the timeout of the modem must be positive.")
                )
            # sudo: the PIN is checked, not returned.
            pin = provider.sudo().modem_pin
            if pin and not re.fullmatch(r"\d{4,8}", pin):
                raise ValidationError(_("The SIM PIN is 4 to 8 digits."))
            if provider.modem_smsc and not re.fullmatch(
                r"\+\d{4,20}", provider.modem_smsc
            ):
                raise ValidationError(
                    _("The service centre number is international, e.g. +33609001390.")
                )
            code = provider.modem_ussd_balance
            if code and not re.fullmatch(r"[0-9*#+]{1,40}", code):
                raise ValidationError(
                    _("A USSD code has only digits, * and #, e.g. *100#.")
                )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_modem_poll(self):
        """Read the modem now (received messages and delivery reports)."""
        self.ensure_one()
        try:
            inbound, updated = self._modem_poll()
        except ProviderError as err:
            return self._notify(
                _("%(name)s could not be read", name=self.name), err.message, "danger"
            )
        return self._notify(
            _("%(name)s read", name=self.name),
            _(
                "%(inbound)s new received messages, %(updated)s messages updated "
                "by delivery reports.",
                inbound=len(inbound),
                updated=len(updated),
            ),
            "success",
        )

    # ------------------------------------------------------------------
    # Client hooks
    # ------------------------------------------------------------------
    def _get_client_config(self):
        config = super()._get_client_config()
        if self.provider_type == "modem":
            config.update(
                port=(self.modem_port or "").strip(),
                baudrate=self.modem_baudrate,
                # sudo: the PIN goes to the modem client only
                pin=self.sudo().modem_pin or None,
                smsc=self.modem_smsc or None,
                delivery_reports=self.modem_delivery_reports,
                report_mode=self.modem_report_mode,
                ussd_balance=self.modem_ussd_balance or None,
                timeout=self.modem_timeout,
            )
        return config

    def _uses_sender(self):
        # A SIM card sends from its own number: there is no sender to choose.
        return self.provider_type != "modem" and super()._uses_sender()

    def _get_client(self):
        if self.provider_type == "modem":
            return ModemClient(self._get_client_config())
        return super()._get_client()

    @contextlib.contextmanager
    def _open_client(self):
        """Status reports that arrive while the line is used (``+CDS``) are
        applied when the transaction is about to commit: the session may have
        been a send whose message references are written after it."""
        with super()._open_client() as client:
            yield client
            if self.provider_type == "modem":
                reports = client.queued_reports()
                if reports:
                    self.env.cr.precommit.add(
                        functools.partial(self._modem_apply_reports_on_commit, reports)
                    )

    def _store_availability(self, availability):
        if self.provider_type == "modem":
            details = availability.details
            self.write(
                {
                    "modem_signal_dbm": details.get("signal_dbm") or 0,
                    "modem_signal_quality": details.get("signal_quality") or False,
                    "modem_registration": details.get("registration") or False,
                }
            )
        return super()._store_availability(availability)

    # ------------------------------------------------------------------
    # Inbound messages and status reports
    # ------------------------------------------------------------------
    def _stop_keywords(self):
        if self.provider_type == "modem":
            return self.modem_stop_keywords
        return super()._stop_keywords()

    def _receive_inbound(self, messages, stop_keywords=None):
        """Also delete the modem's messages from the SIM once the transaction
        that stored them is committed."""
        created = super()._receive_inbound(messages, stop_keywords=stop_keywords)
        keys = [key for m in messages for key in getattr(m, "storage_keys", ())]
        self._modem_delete_after_commit(keys)
        return created

    def _modem_delete_after_commit(self, keys):
        if not keys:
            return
        self.env.cr.postcommit.add(
            functools.partial(
                _delete_from_modem,
                self.env.cr.dbname,
                self.id,
                self._get_client_config(),
                list(keys),
                settings.get(self.env, "sms_provider_modem.lock_wait_seconds"),
            )
        )

    def _modem_apply_reports(self, reports):
        """Apply status reports (one per part, by TP-MR) to whole messages."""
        self.ensure_one()
        references = sorted({r.provider_message_id for r in reports})
        if not references:
            return self.env["sms.sms"]
        found = self._find_messages_by_reference(
            references,
            by_part=True,
            max_age_hours=settings.get(self.env, "sms_mailing.status_max_age_hours"),
        )
        candidates = {}
        for sms in found:
            candidates.setdefault(sms.provider_message_id, sms.state)
        return self._apply_status_updates(match_reports(reports, candidates))

    def _modem_apply_reports_on_commit(self, reports):
        self._modem_apply_reports(reports)
        self._modem_delete_after_commit(
            [r.storage_key for r in reports if r.storage_key]
        )
        self.env.flush_all()  # pre-commit hooks run after the flush

    def _fetch_inbound(self):
        """The core's inbound cron reads the modem: messages and reports."""
        if self.provider_type != "modem":
            return super()._fetch_inbound()
        return self._modem_poll()[0]

    def _modem_poll(self):
        """Read the modem: store inbound messages (then delete them from the
        SIM), apply status reports. Returns ``(inbound, updated sms)``."""
        self.ensure_one()
        with self._open_client() as client:
            polled = client.poll()
        inbound = self._receive_inbound(polled.inbound)
        updated = self._modem_apply_reports(polled.reports)
        stored_reports = [r.storage_key for r in polled.reports if r.storage_key]
        for key in polled.undecodable:
            _logger.warning(
                "SMS modem %s: deleting an undecodable message at %s", self.name, key
            )
        self._modem_delete_after_commit(stored_reports + polled.undecodable)
        return inbound, updated
