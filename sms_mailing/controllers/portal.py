"""The customer's own SMS marketing consent on the portal's *My account* page."""

from werkzeug.exceptions import BadRequest

from odoo.http import request, route

from odoo.addons.portal.controllers.portal import CustomerPortal

CONSENT_ACTIONS = {"optout": False, "optin": True}


class SmsConsentPortal(CustomerPortal):
    @route(["/my/account"], type="http", auth="user", website=True)
    def account(self, redirect=None, **post):
        # sms_done: the message after a change, never an argument of the
        # address form (Odoo's page would take it for a field).
        request.update_context(sms_consent_done=post.pop("sms_done", None))
        return super().account(redirect=redirect, **post)

    def _prepare_portal_layout_values(self):
        values = super()._prepare_portal_layout_values()
        partner = request.env.user.partner_id
        values["sms_consent"] = partner._sms_marketing_consent()
        values["sms_consent_numbers"] = partner._sms_numbers()
        values["sms_consent_done"] = request.env.context.get("sms_consent_done")
        return values

    @route(
        "/my/account/sms",
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def sms_consent(self, action=None, **kwargs):
        """Opt out of marketing SMS, or back in (the undo of an opt-out)."""
        if action not in CONSENT_ACTIONS:
            raise BadRequest()
        partner = request.env.user.partner_id
        partner._sms_portal_set_consent(CONSENT_ACTIONS[action])
        # Post/redirect/get: reloading the page does not post again.
        return request.redirect(f"/my/account?sms_done={action}", code=303)
