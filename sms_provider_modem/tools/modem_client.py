"""The GSM modem as an SMS provider client (``SmsProviderClient``).

Pure Python, no ORM (only the provider interface of ``sms_mailing``).
Configuration keys that ``sms.provider._get_client_config()`` builds: ``port``,
``baudrate``, ``pin``, ``smsc``, ``delivery_reports``, ``report_mode``
(``"direct"``: ``+CDS``, or ``"stored"``: kept on the modem, see
:class:`~.modem.ModemDriver`), ``ussd_balance``, ``timeout``, ``max_parts``.
Optional keys with a default here (tests and scripts set them):
``validity_minutes`` (none), ``ussd_timeout`` (the driver's), ``urc_wait``
(0.2 s), ``stale_hours`` (24).

Message ids: a message of several parts gets one TP-MR per part from the modem;
its ``provider_message_id`` lists them in part order, comma separated (``"17"``
for one part, ``"17,18,19"`` for three). Status reports carry one TP-MR: see
:func:`match_reports` for how they map back to messages.

Inbound: :meth:`ModemClient.fetch_inbound` (or :meth:`ModemClient.poll`, which
also returns the status reports) reads the SIM but deletes nothing; each
message carries the storage keys of its parts and the caller deletes them with
:meth:`ModemClient.delete_stored` once the messages are safely stored.
"""

import dataclasses
import datetime
import functools
import hashlib
import logging
import random
import re

from odoo.addons.sms_mailing.tools import provider as api
from odoo.addons.sms_mailing.tools.i18n import lazy_translate, translate

from . import pdu as pdu_codec
from .modem import SIGNAL_QUALITY, ModemDriver, ModemError, ModemTimeout

_logger = logging.getLogger(__name__)
_lt = lazy_translate(__name__)


@dataclasses.dataclass
class ModemInboundMessage(api.InboundMessage):
    """An inbound message and where its parts are stored on the modem."""

    storage_keys: list = dataclasses.field(default_factory=list)  # (mem, index)
    complete: bool = True
    parts: int = 1


@dataclasses.dataclass
class ModemStatusUpdate(api.StatusUpdate):
    """A status report: ``provider_message_id`` is the TP-MR of one part."""

    reference: int | None = None
    recipient: str | None = None
    storage_key: tuple | None = None  # (mem, index) when stored on the modem
    status: int | None = None  # TP-ST


@dataclasses.dataclass
class PollResult:
    inbound: list
    reports: list
    undecodable: list  # storage keys of PDUs that could not be decoded


class ModemClient(api.SmsProviderClient):
    # Each message holds the line for a few seconds: keep the calls short so
    # that the dispatcher's time budget and the line lock are not held long.
    max_batch = 20
    max_inflight = 1  # one serial line: one message at a time
    max_lanes = 1
    one_line = True  # the core locks the line around each session
    hands_over_itself = True  # a message at its first PDU's prompt
    supports_status = False  # delivery reports come from the modem itself

    def __init__(self, config, driver_factory=ModemDriver):
        super().__init__(config)
        self._driver_factory = driver_factory
        self._driver = None
        self._reference = random.randrange(256)  # concatenation references
        self._seen_keys = set()  # storage keys already returned in this session
        self._pending_reports = []  # reports met while fetching inbound
        self._no_report_storage = False

    # -- connection -------------------------------------------------------
    @property
    def driver(self):
        """The initialised driver; raises :class:`ProviderError` when the modem
        cannot be reached or set up."""
        if self._driver is None:
            config = self.config
            driver = self._driver_factory(
                config.get("port"),
                baudrate=int(config.get("baudrate") or 115200),
                timeout=float(config.get("timeout") or 30),
                pin=config.get("pin") or None,
                smsc=config.get("smsc") or None,
                report_mode=config.get("report_mode") or "direct",
            )
            try:
                driver.initialize()
            except ModemError as exc:
                driver.close()
                raise self._provider_error(exc) from exc
            self._driver = driver
        return self._driver

    def close(self):
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def _next_reference(self):
        self._reference = (self._reference + 1) % 256
        return self._reference

    # -- sending ------------------------------------------------------------
    def send(self, messages):
        if not self.config.get("port"):
            raise self.error(_lt("No modem port is configured."), transient=True)
        driver = self.driver
        results = []
        line_down = None
        for message in messages:
            if line_down is not None:
                results.append(
                    api.SendResult(
                        message.key,
                        api.TRANSIENT,
                        failure_type="sms_server",
                        error=self.translate(
                            _lt(
                                "Not sent: the modem line failed on an earlier "
                                "message (%(error)s); it will be tried again.",
                                error=line_down,
                            )
                        ),
                    )
                )
                continue
            result, fault = self._send_one(driver, message)
            results.append(result)
            if fault:
                line_down = fault
        return results

    def _send_one(self, driver, message):
        """``(SendResult, line fault sentence or None)``."""
        try:
            pdus = pdu_codec.encode_submit(
                message.number,
                message.body,
                smsc=self.config.get("smsc") or None,
                status_report=bool(self.config.get("delivery_reports")),
                validity_minutes=self.config.get("validity_minutes") or None,
                reference=self._next_reference(),
            )
        except pdu_codec.PduError as exc:
            failure = "sms_number_format" if "number" in str(exc) else "unknown"
            error = self.translate(exc.sentence)
            return _result(message, api.PERMANENT, error, failure), None
        max_parts = self.config.get("max_parts")
        if max_parts and len(pdus) > max_parts:
            error = self.translate(
                _lt(
                    "The message takes %(parts)s parts, more than the %(limit)s "
                    "allowed.",
                    parts=len(pdus),
                    limit=max_parts,
                )
            )
            return _result(message, api.PERMANENT, error, "unknown"), None
        references = []
        for index, part in enumerate(pdus):
            # In doubt from the moment its first PDU may be written.
            hand_over = None
            if not index:
                hand_over = functools.partial(self.handing_over, [message.key])
            try:
                references.append(
                    driver.send_pdu(part.pdu, part.length, before_write=hand_over)
                )
            except ModemError as exc:
                return self._failed_part(message, exc, references, len(pdus))
        return (
            api.SendResult(
                message.key,
                api.ACCEPTED,
                provider_message_id=",".join(str(mr) for mr in references),
                parts=len(pdus),
            ),
            None,
        )

    def _failed_part(self, message, exc, references, total):
        sentence = self.translate(exc.sentence)
        fault = sentence if exc.line_fault else None
        maybe_sent = getattr(exc, "maybe_sent", False)
        if references or maybe_sent:
            # Part of it (maybe all) is on its way: sending it again would give
            # the recipient the beginning twice.
            error = self.translate(
                _lt(
                    "%(error)s %(confirmed)s of %(total)s parts were confirmed "
                    "before that; the message is not sent again so that nobody "
                    "gets it twice.",
                    error=sentence,
                    confirmed=len(references),
                    total=total,
                )
            )
            return _result(message, api.PERMANENT, error, api.FAILURE_IN_DOUBT), fault
        status = api.TRANSIENT if exc.transient else api.PERMANENT
        return _result(message, status, sentence, exc.failure_type), fault

    # -- provider state -------------------------------------------------------
    def check_availability(self):
        if not self.config.get("port"):
            return api.Availability(
                False, self.translate(_lt("No modem port is configured."))
            )
        try:
            driver = self.driver
            signal = driver.signal()
            stat, key, text = driver.registration()
        except api.ProviderError as exc:
            return api.Availability(False, exc.message)
        except ModemError as exc:
            return api.Availability(False, self.translate(exc.sentence))
        registered = stat in (1, 5)
        if signal.dbm is None:
            message = _lt(
                "SIM ready. Signal: unknown. Network: %(network)s.", network=text
            )
        else:
            message = _lt(
                "SIM ready. Signal: %(dbm)s dBm (%(quality)s). Network: %(network)s.",
                dbm=signal.dbm,
                quality=SIGNAL_QUALITY[signal.quality],
                network=text,
            )
        return api.Availability(
            registered and signal.dbm is not None,
            self.translate(message),
            details={
                "sim": "ready",
                "signal_dbm": signal.dbm,
                "signal_quality": signal.quality,
                "rssi": signal.rssi,
                "registration": key,
                "registration_stat": stat,
            },
        )

    def balance(self):
        code = (self.config.get("ussd_balance") or "").strip()
        if not code:
            raise api.NotSupported()
        try:
            text = self.driver.ussd(code, timeout=self.config.get("ussd_timeout"))
        except ModemError as exc:
            raise self._provider_error(exc) from exc
        return api.Balance(parse_amount(text), text=text)

    # cost(): not overridden, the base raises NotSupported and the core uses
    # price_per_part x parts.

    # -- inbound and status reports -----------------------------------------
    def poll(self):
        """Read everything the modem holds: inbound messages (joined), status
        reports (from ``+CDS``, ``+CDSI`` and the storage). Deletes nothing."""
        driver = self.driver
        try:
            return self._poll(driver)
        except ModemError as exc:
            raise self._provider_error(exc) from exc

    def _poll(self, driver):
        # notifications already on their way (a pty hands bytes over a little
        # later) are collected for a moment; later ones wait for the next poll
        driver.poll(float(self.config.get("urc_wait", 0.2)))
        reassembler = pdu_codec.Reassembler()
        reports = []
        undecodable = []
        # messages delivered directly (+CMT) are not stored: no key to delete
        for urc in driver.take_urcs("CMT", "CDS"):
            self._route(urc.pdu, None, reassembler, reports, undecodable)
        # received messages only (0 unread, 1 read): messages stored to be
        # sent (2, 3) are someone else's drafts
        stored = [
            (("SM", m.index), m.pdu)
            for m in driver.list_messages(4)
            if m.stat in (0, 1)
        ]
        if self.config.get("report_mode") == "stored":
            stored += self._list_report_storage(driver)
        listed = {key for key, _pdu in stored}
        for urc in driver.take_urcs("CDSI", "CMTI"):
            key = (urc.mem or "SM", urc.index)
            if urc.kind == "CDSI" and key not in listed and key[0] != "SM":
                stored.extend(self._read_other_storage(driver, key))
        for key, pdu in stored:
            if key in self._seen_keys:
                continue
            self._route(pdu, key, reassembler, reports, undecodable)
        inbound = reassembler.pop_complete()
        stale_hours = float(self.config.get("stale_hours") or 24)
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        limit = now - datetime.timedelta(hours=stale_hours)
        inbound += reassembler.pop_stale(limit)
        messages = [self._inbound(assembled) for assembled in inbound]
        for message in messages:
            self._seen_keys.update(message.storage_keys)
        self._seen_keys.update(r.storage_key for r in reports if r.storage_key)
        return PollResult(messages, reports, undecodable)

    def _list_report_storage(self, driver):
        """Status reports some modems keep in a memory of their own ("SR"),
        announced by +CDSI only while the port was open: list it too."""
        if self._no_report_storage:
            return []
        try:
            driver.select_storage("SR")
        except ModemError:
            self._no_report_storage = True  # reports are kept in "SM"
            return []
        try:
            return [
                (("SR", m.index), m.pdu)
                for m in driver.list_messages(4)
                if m.stat in (0, 1)
            ]
        finally:
            driver.select_storage("SM")

    def _read_other_storage(self, driver, key):
        mem, index = key
        try:
            driver.select_storage(mem)
            stored = driver.read_message(index)
        finally:
            driver.select_storage("SM")
        return [(key, stored.pdu)] if stored else []

    def _route(self, pdu, key, reassembler, reports, undecodable):
        try:
            decoded = pdu_codec.decode_pdu(pdu)
        except pdu_codec.PduError as exc:
            _logger.warning("Undecodable PDU %s at %s: %s", pdu, key, exc)
            if key:
                undecodable.append(key)
            return
        if isinstance(decoded, pdu_codec.StatusReport):
            reports.append(_status_update(decoded, key, self.lang))
        else:
            reassembler.add(decoded, key)

    def _inbound(self, assembled):
        keys = [key for key in assembled.keys if key is not None]
        return ModemInboundMessage(
            number=assembled.sender,
            body=assembled.text,
            received_at=assembled.timestamp,
            provider_message_id=inbound_id(assembled),
            storage_keys=keys,
            complete=assembled.complete,
            parts=assembled.total,
        )

    def queued_reports(self):
        """Status reports that came as ``+CDS`` while the line was used for
        something else (sending), and those :meth:`fetch_inbound` met: read
        what is waiting, no command sent. Call it before :meth:`close`, or
        they are lost."""
        pending, self._pending_reports = self._pending_reports, []
        if self._driver is None or not self._driver.is_open:
            return pending
        try:
            self._driver.poll(float(self.config.get("urc_wait", 0.2)))
        except ModemError as exc:
            _logger.warning("Reading the modem's notifications failed: %s", exc)
        reports = []
        for urc in self._driver.take_urcs("CDS"):
            try:
                decoded = pdu_codec.decode_pdu(urc.pdu)
            except pdu_codec.PduError as exc:
                _logger.warning("Undecodable status report %s: %s", urc.pdu, exc)
                continue
            if isinstance(decoded, pdu_codec.StatusReport):
                reports.append(_status_update(decoded, None, self.lang))
        return pending + reports

    def fetch_inbound(self):
        """Inbound messages; they stay on the SIM until :meth:`delete_stored`."""
        result = self.poll()
        self._pending_reports += result.reports
        return result.inbound

    def delete_stored(self, keys):
        """Delete stored messages by storage key (``(mem, index)`` or an index
        of ``SM``). Returns the keys deleted."""
        driver = self.driver
        deleted = []
        by_mem = {}
        for key in keys:
            mem, index = key if isinstance(key, tuple | list) else ("SM", key)
            by_mem.setdefault(mem, []).append(index)
        try:
            for mem, indexes in sorted(by_mem.items(), key=lambda i: i[0] != "SM"):
                if mem != "SM":
                    driver.select_storage(mem)
                try:
                    for index in sorted(set(indexes)):
                        driver.delete_message(index)
                        deleted.append((mem, index))
                        # the index is free: the SIM may store a new message there
                        self._seen_keys.discard((mem, index))
                finally:
                    if mem != "SM":
                        driver.select_storage("SM")
        except ModemError as exc:
            raise self._provider_error(exc) from exc
        return deleted

    def _provider_error(self, exc):
        """The :class:`ProviderError` of a modem error, in the client's language."""
        if isinstance(exc, api.ProviderError):
            return exc
        return self.error(
            exc.sentence,
            transient=exc.transient or exc.line_fault or isinstance(exc, ModemTimeout),
            failure_type="sms_server",
            code=exc.code,
        )


# -- helpers ------------------------------------------------------------------
def _result(message, status, error, failure_type):
    return api.SendResult(
        message.key, status, failure_type=failure_type or "unknown", error=error
    )


def _status_update(report, key, lang=None):
    if report.outcome == pdu_codec.REPORT_DELIVERED:
        state, final = api.STATE_DELIVERED, True
    elif report.outcome == pdu_codec.REPORT_PENDING:
        state, final = api.STATE_PENDING, False
    else:
        state, final = api.STATE_ERROR, True
    return ModemStatusUpdate(
        provider_message_id=str(report.reference),
        state=state,
        final=final,
        failure_type=report.failure_type,
        error=None
        if state == api.STATE_DELIVERED
        else translate(report.message, lang or "en_US"),
        at=report.discharged_at,
        reference=report.reference,
        recipient=report.recipient,
        storage_key=key,
        status=report.status,
    )


def inbound_id(assembled):
    """A stable id of an inbound message (sender, time stamp, reference, text),
    so that a message read twice (deleted late, two readers) is stored once."""
    stamp = assembled.timestamp.isoformat() if assembled.timestamp else ""
    raw = "\x1f".join(
        [assembled.sender, stamp, str(assembled.reference), assembled.text]
    )
    return "modem:" + hashlib.sha1(raw.encode("utf-8")).hexdigest()[:20]


_AMOUNT = re.compile(r"-?\d+(?:[.,]\d+)?")


def parse_amount(text):
    """The first number of a USSD balance answer (``"Balance: 12,50 r."`` ->
    12.5), None when there is none."""
    match = _AMOUNT.search(text or "")
    if not match:
        return None
    return float(match.group(0).replace(",", "."))


def match_reports(updates, candidates):
    """Map status reports (by TP-MR) to message ids of several parts.

    ``candidates``: ``{provider_message_id: state}`` of the messages that may
    be concerned, and the order of preference (the caller lists the most
    likely first: pending before others, then the most recent). Returns
    :class:`StatusUpdate` for whole messages:

    - a failed part fails its message;
    - the delivery of the last part delivers the message (unless it failed);
    - reports of other parts, and "still trying", change nothing.
    """
    by_reference = {}
    for message_id in candidates:
        for position, value in enumerate(message_id.split(",")):
            if value.isdigit():
                by_reference.setdefault(int(value), (message_id, position))
    results = []
    for update in updates:
        try:
            reference = int(update.provider_message_id)
        except (TypeError, ValueError):
            continue
        found = by_reference.get(reference)
        if not found:
            continue
        message_id, position = found
        last = position == message_id.count(",")
        if update.state == api.STATE_ERROR:
            results.append(dataclasses.replace(update, provider_message_id=message_id))
        elif (
            update.state == api.STATE_DELIVERED
            and last
            and candidates[message_id] != "error"
        ):
            results.append(dataclasses.replace(update, provider_message_id=message_id))
    return results
