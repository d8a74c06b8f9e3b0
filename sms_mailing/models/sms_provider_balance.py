"""What sending costs through a provider, and its balance (read, stored,
and a low-balance alert)."""

import logging

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError

from ..tools.provider import NotSupported, ProviderError

_logger = logging.getLogger(__name__)


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsProvider(models.Model):
    _inherit = "sms.provider"

    def action_check_balance(self):
        self.ensure_one()
        balance = self._fetch_balance()
        if balance is None:
            return self._notify(
                _("Balance of %(name)s", name=self.name),
                _("Not available for this provider."),
                "warning",
            )
        return self._notify(
            _("Balance of %(name)s", name=self.name), self.balance_text, "info"
        )

    def _estimate_cost(self, numbers, text):
        """Estimate what sending ``text`` to ``numbers`` costs.

        The provider's cost API when it has one, else parts x price per part.
        """
        self.ensure_one()
        numbers = list(numbers)
        parts = self._analyze_text(text).parts
        result = {
            "available": False,
            "total_cost": 0.0,
            "total_parts": parts * len(numbers),
            "currency": self.currency_id.name,
            "message": "",
        }
        if not numbers or not parts:
            result["available"] = True
            return result
        try:
            with self._open_client() as client:
                estimate = client.cost(numbers, text)
            result.update(
                available=True,
                total_cost=estimate.total_cost,
                total_parts=estimate.total_parts,
                currency=estimate.currency or self.currency_id.name,
                message=_("Cost from %(name)s.", name=self.name),
            )
        except NotSupported:
            if self.price_per_part:
                result.update(
                    available=True,
                    total_cost=self.price_per_part * parts * len(numbers),
                    message=_("Estimated with the price per part."),
                )
            else:
                result["message"] = _("Not available for this provider.")
        except ProviderError as err:
            result["message"] = err.message
        return result

    def _currency_named(self, code):
        """The ``res.currency`` a provider's answer names by ``code`` (ISO),
        active or not; this provider's own when ``code`` is empty or its own,
        empty when unknown."""
        if not code or code == self.currency_id.name:
            return self.currency_id
        Currency = self.env["res.currency"].with_context(active_test=False)
        return Currency.search([("name", "=", code)], limit=1)

    def _estimate_cost_amount(self, numbers, text, times=1):
        """``(amount, currency, note)``: what sending ``text`` to ``numbers``
        costs, ``times`` over, in a ``res.currency`` (the provider's unless its
        cost API names another one); ``amount`` is ``None`` with ``note`` saying
        why when there is no estimate."""
        estimate = self._estimate_cost(numbers, text)
        currency = self._currency_named(estimate.get("currency")) or self.currency_id
        if not estimate["available"]:
            return None, currency, estimate["message"]
        return estimate["total_cost"] * times, currency, estimate["message"]

    def _estimate_cost_text(self, numbers, text, times=1):
        """The estimate as a user reads it, in their language's format
        (``"0,20 €"``), or why there is none."""
        amount, currency, note = self._estimate_cost_amount(numbers, text, times)
        if amount is None:
            return note
        return tools.format_amount(self.env, amount, currency)

    def _fetch_balance(self):
        """Ask the provider for its balance; store it and warn when low."""
        self.ensure_one()
        try:
            with self._open_client() as client:
                balance = client.balance()
        except NotSupported:
            return None
        except ProviderError as err:
            raise UserError(
                _(
                    "Could not read the balance of %(name)s: %(error)s",
                    name=self.name,
                    error=err.message,
                )
            ) from err
        text = balance.text or ""
        if balance.amount is not None:
            currency = self._currency_named(balance.currency)
            text = (
                tools.format_amount(self.env, balance.amount, currency)
                if currency
                else f"{balance.amount:.2f} {balance.currency}"
            )
        self.write(
            {
                "balance": balance.amount or 0.0,
                "balance_text": text,
                "balance_date": fields.Datetime.now(),
            }
        )
        self._check_balance_alert()
        return balance

    def _check_balance_alert(self):
        for provider in self.filtered("balance_alert_threshold"):
            low = provider.balance < provider.balance_alert_threshold
            if low and not provider.balance_alert_sent:
                body = _(
                    "The balance of %(name)s is %(balance)s, under the alert "
                    "threshold of %(threshold)s.",
                    name=provider.name,
                    balance=provider.balance_text,
                    threshold=provider.balance_alert_threshold,
                )
                for user in provider.balance_alert_user_ids:
                    provider.activity_schedule(
                        "mail.mail_activity_data_todo",
                        summary=_("Low SMS balance"),
                        note=body,
                        user_id=user.id,
                    )
                # A log note (the activities notify): no sender email needed.
                provider._message_log(body=body)
                provider.balance_alert_sent = True
            elif not low and provider.balance_alert_sent:
                provider.balance_alert_sent = False

    @api.model
    def _cron_check_balances(self):
        for provider in self.search([("active", "=", True)]):
            try:
                provider._fetch_balance()
            except UserError as err:
                _logger.warning("SMS balance check failed: %s", err)
