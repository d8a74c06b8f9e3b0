from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from odoo import http
from odoo.http import request

from ..tools import campaign

STOP_LANGS = ("fr_FR", "ru_RU", "pt_BR", "en_US")


class SmsIdConverter(IntegerConverter):
    """A message id in ``/r/<code>/s/<sms_id>``.

    Odoo's ``mass_mailing_sms`` declares the same URL with ``int``; a lower
    weight makes this rule match first when both addons are installed, and the
    handler below keeps that app's behaviour for its own messages.
    """

    weight = 49

    def __init__(self, map, *args, **kwargs):  # pylint: disable=redefined-builtin
        # ids of sms.sms are PostgreSQL integers: larger numbers match nothing
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class SmsMailingController(http.Controller):
    # ------------------------------------------------------------------
    # Opt-out page
    # ------------------------------------------------------------------
    @http.route(
        "/sms/stop/<string:token>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        sitemap=False,
    )
    def sms_stop(self, token, action=None, **kwargs):
        sms = request.env["sms.sms"]._from_optout_token(token)
        self._set_lang(sms)
        if not sms:
            return request.render(
                "sms_mailing.sms_stop_invalid", {"title": "SMS"}, status=404
            )
        if request.httprequest.method == "POST":
            if action == "optout":
                sms._optout_by_link()
            elif action == "undo":
                sms._undo_optout_by_link()
            else:
                raise NotFound()
            # Post/redirect/get: reloading the page does not post again.
            return request.redirect(f"/sms/stop/{token}?done={action}", code=303)
        return request.render(
            "sms_mailing.sms_stop_page",
            {
                "title": "SMS",
                "token": token,
                "masked_number": campaign.mask_number(sms.number),
                "company_name": sms.sms_mailing_id.company_id.name,
                "opted_out": sms._is_opted_out(),
                "done": request.params.get("done"),
            },
        )

    def _set_lang(self, sms):
        """The recipient's language, else the browser's among ours."""
        langs = {
            code
            for code, _name in request.env["res.lang"].get_installed()
            if code in STOP_LANGS
        }
        lang = sms.partner_id.lang if sms else None
        if lang not in langs:
            lang = request.best_lang if request.best_lang in langs else None
        if lang:
            request.update_context(lang=lang)

    # ------------------------------------------------------------------
    # Tracked links
    # ------------------------------------------------------------------
    @http.route(
        "/r/<string:code>/s/<sms_id:sms_id>",
        type="http",
        auth="public",
        sitemap=False,
    )
    def sms_short_link_redirect(self, code, sms_id, **kwargs):
        """A click on a tracked link of an SMS, attributed to the message.

        Visits of link-preview robots (messaging apps, crawlers) are not
        clicks. Messages of ``mass_mailing_sms`` mailings keep that app's own
        handling (attributed to their mailing trace, robots counted).
        """
        httprequest = request.httprequest
        values = {
            "ip": httprequest.remote_addr,
            "country_code": request.geoip.country_code,
        }
        # sudo: a public visitor's click is recorded on the message of the
        # link; only its id is read.
        sms = request.env["sms.sms"].sudo().browse(sms_id).exists()
        Click = request.env["link.tracker.click"].sudo()
        if sms.sms_mailing_id:
            # sudo: the public visitor reads which tracker the code names, to
            # check it belongs to this message's mailing; nothing is returned.
            tracker = (
                request.env["link.tracker.code"]
                .sudo()
                .search([("code", "=", code)], limit=1)
            )
            if (
                tracker
                and tracker.link_id.source_id == sms.sms_mailing_id.utm_source_id
                and not campaign.is_robot(
                    httprequest.user_agent.string, httprequest.method
                )
            ):
                Click.add_click(code, sms_sms_id=sms.id, **values)
        elif "mailing.trace" in request.env:
            # sudo: Odoo's own SMS Marketing route does the same for its traces.
            trace = (
                request.env["mailing.trace"]
                .sudo()
                .search([("sms_id_int", "=", sms_id)], limit=1)
            )
            Click.add_click(code, mailing_trace_id=trace.id, **values)
        else:
            Click.add_click(code, **values)
        redirect_url = request.env["link.tracker"].get_url_from_code(code)
        if not redirect_url:
            raise NotFound()
        return request.redirect(redirect_url, code=301, local=False)
