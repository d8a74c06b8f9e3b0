"""The opt-out link of a mailing message."""

import logging

from odoo import api, fields, models

from ..tools import (
    campaign,
)

_logger = logging.getLogger(__name__)


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsSms(models.Model):
    _inherit = "sms.sms"

    # ------------------------------------------------------------------
    # Opt-out link
    # ------------------------------------------------------------------
    @api.model
    def _from_optout_token(self, token):
        """The mailing message an opt-out token names, or an empty recordset
        for a malformed, forged or expired (message deleted) token."""
        # sudo: the token is signed with the database secret; only its holder,
        # the recipient of that message, reaches the message through it.
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        sms_id = campaign.verify(secret, token)
        if not sms_id or sms_id >= 2**31:  # ids are PostgreSQL integers
            return self.browse()
        sms = self.sudo().browse(sms_id).exists()
        if not sms.sms_mailing_id or not sms.number:
            return self.browse()
        return sms

    def _optout_partners(self):
        self.ensure_one()
        # sudo: the contacts with the number that received this message.
        return (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("phone_sanitized", "=", self.number)])
        )

    def _is_opted_out(self):
        self.ensure_one()
        # sudo: whether this message's own number is blacklisted (a yes/no).
        Blacklist = self.env["phone.blacklist"].sudo()
        return bool(Blacklist.search_count([("number", "=", self.number)], limit=1))

    def _optout_by_link(self):
        """The recipient confirmed the opt-out link: no more SMS mailings to
        this number (Do not use SMS, phone blacklist), logged on the contacts
        and counted on the mailing."""
        self.ensure_one()
        if self.optout_at and self._is_opted_out():
            return  # the page was posted twice: nothing more to do
        mailing = self.sms_mailing_id
        note_env = self.env(context=dict(self.env.context, lang=mailing.user_id.lang))
        reason = note_env._(
            "Opted out from mailing %(mailing)s by link.", mailing=mailing.name
        )
        # sudo: the visitor holds this message's signed token (see
        # _from_optout_token); only that number is opted out.
        self.env["phone.blacklist"].sudo()._add([self.number], message=reason)
        partners = self._optout_partners()
        partners.write({"sms_opt_out": True})
        for partner in partners:
            partner.message_post(body=reason, subtype_xmlid="mail.mt_note")
        if not self.optout_at:
            self.sudo().optout_at = fields.Datetime.now()

    def _undo_optout_by_link(self):
        """The recipient changed their mind on the opt-out page."""
        self.ensure_one()
        mailing = self.sms_mailing_id
        note_env = self.env(context=dict(self.env.context, lang=mailing.user_id.lang))
        reason = note_env._(
            "Opt-out from mailing %(mailing)s undone by link.", mailing=mailing.name
        )
        # sudo: as in _optout_by_link, the signed token names this number only.
        self.env["phone.blacklist"].sudo()._remove([self.number], message=reason)
        partners = self._optout_partners().filtered("sms_opt_out")
        partners.write({"sms_opt_out": False})
        for partner in partners:
            partner.message_post(body=reason, subtype_xmlid="mail.mt_note")
        self.sudo().optout_at = False
