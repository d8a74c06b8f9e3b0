"""A contact's SMS marketing consent: the history, the portal's switch."""

from odoo import _, api, fields, models

from ..tools import phone
from .sms_consent import OPTIN, OPTOUT


# One concern per file (see models/__init__.py).
# pylint: disable=consider-merging-classes-inherited
class ResPartner(models.Model):
    _inherit = "res.partner"

    sms_consent_ids = fields.One2many(
        "sms.consent", "partner_id", "SMS consent history", readonly=True
    )

    def write(self, vals):
        # A user's change of "Do not use SMS" (the form, an import of Odoo's,
        # an automated action) joins the history; our own opt-out paths log
        # theirs with their source and say so in the context.
        changed = self.browse()
        if "sms_opt_out" in vals and not self.env.context.get("sms_consent_logged"):
            changed = self.filtered(
                lambda p: p.sms_opt_out != bool(vals["sms_opt_out"])
            )
        result = super().write(vals)
        if changed:
            self.env["sms.consent"]._log(
                changed, OPTOUT if vals["sms_opt_out"] else OPTIN, "user"
            )
        return result

    def _sms_numbers(self):
        """Every distinct valid number of the contact, mobile first (E.164)."""
        self.ensure_one()
        numbers = []
        for raw in (self.mobile, self.phone):
            e164, _error = phone.normalize(raw, self.country_id.code)
            if e164 and e164 not in numbers:
                numbers.append(e164)
        if self.phone_sanitized and self.phone_sanitized not in numbers:
            numbers.insert(0, self.phone_sanitized)
        return numbers

    def _sms_marketing_consent(self):
        """Whether the contact receives marketing SMS: not *Do not use SMS*
        and none of its numbers blacklisted."""
        self.ensure_one()
        if self.sms_opt_out:
            return False
        numbers = self._sms_numbers()
        # sudo: a yes/no on the contact's own numbers.
        return not (
            numbers
            and self.env["phone.blacklist"]
            .sudo()
            .search_count([("number", "in", numbers)], limit=1)
        )

    @api.model
    def _sms_set_consent(self, partners, consent, source, note, detail=None):
        """Opt ``partners`` in (``consent``) or out of marketing SMS, as the
        opt-out page does: *Do not use SMS*, the phone blacklist of their
        numbers, ``note`` on each contact and a line of the consent history."""
        numbers = list({n for partner in partners for n in partner._sms_numbers()})
        # sudo: the callers decide who may change whose consent (the portal:
        # the logged-in customer, their own contact only).
        Blacklist = self.env["phone.blacklist"].sudo()
        partners = partners.sudo().with_context(sms_consent_logged=True)
        if consent:
            if numbers:
                Blacklist._remove(numbers, message=note)
            partners.filtered("sms_opt_out").write({"sms_opt_out": False})
        else:
            if numbers:
                Blacklist._add(numbers, message=note)
            partners.filtered(lambda p: not p.sms_opt_out).write({"sms_opt_out": True})
        for partner in partners:
            partner.message_post(body=note, subtype_xmlid="mail.mt_note")
            self.env["sms.consent"]._log(
                partner,
                OPTIN if consent else OPTOUT,
                source,
                number=", ".join(partner._sms_numbers()) or False,
                detail=detail,
            )

    def _sms_portal_set_consent(self, consent):
        """The logged-in customer's own choice on the portal's *My account*."""
        self.ensure_one()
        note = (
            _("Opted in to marketing SMS again on the customer portal.")
            if consent
            else _("Opted out of marketing SMS on the customer portal.")
        )
        self._sms_set_consent(self, consent, "portal", note)
