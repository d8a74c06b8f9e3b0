import hmac
import logging

from odoo import http
from odoo.http import request

from ..tools.smsru_client import MalformedCallback

_logger = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 1024 * 1024


class SmsRuCallbackController(http.Controller):
    @http.route(
        "/sms_provider_smsru/callback/<int:provider_id>/<string:token>",
        type="http",
        auth="public",
        csrf=False,
        methods=["GET", "POST"],
        save_session=False,
        # SMS.ru posts at most a few hundred short entries: a bigger body is
        # refused (413) before it is read
        max_content_length=MAX_CALLBACK_BYTES,
    )
    def smsru_callback(self, provider_id, token, **kwargs):
        """Delivery statuses pushed by SMS.ru (``data[]`` entries).

        The URL carries the provider's secret token; a wrong token or provider
        gets a 403 and changes nothing, a malformed ``sms_status`` entry a 400
        and changes nothing. SMS.ru wants the body ``100`` back, otherwise it
        keeps sending the same statuses.
        """
        provider = request.env["sms.provider"]
        if 0 < provider_id < 2**31:
            # sudo: a public route; the provider is only used after its secret
            # token matched, and only to apply statuses to its own messages.
            provider = provider.sudo().browse(provider_id).exists()
        expected = (
            provider.smsru_callback_token
            if provider and provider.provider_type == "smsru"
            else None
        )
        if not expected or not hmac.compare_digest(
            expected.encode(), (token or "").encode()
        ):
            _logger.warning("SMS.ru callback refused for provider %s", provider_id)
            return _text_response("Forbidden", 403)
        with provider._open_client() as client:
            try:
                # the query string's and the form's fields (a MultiDict)
                updates = client.parse_callback(request.httprequest.values)
            except MalformedCallback as err:
                _logger.warning(
                    "SMS.ru callback refused for provider %s: %s", provider_id, err
                )
                return _text_response("Bad Request", 400)
        if updates:
            provider._apply_status_updates(updates)
        return _text_response("100", 200)


def _text_response(text, status):
    return request.make_response(
        text, headers=[("Content-Type", "text/plain")], status=status
    )
