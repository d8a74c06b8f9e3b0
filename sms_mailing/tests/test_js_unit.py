"""The JavaScript unit tests of sms_mailing (Hoot, ``static/tests/*.test.js``),
run in a headless Chromium the way Odoo runs its own (web's ``test_js.py``)."""

from odoo.tests import HttpCase, tagged


def hoot_hash(name):
    """The id Hoot gives a suite or a test (web/tests/test_js.py's hash)."""
    value = 0
    for char in name:
        value = ((value << 5) - value + ord(char)) & 0xFFFFFFFF
    return f"{value:08x}"


def hoot_error(message):
    return "[HOOT]" not in message


@tagged("post_install", "-at_install")
class TestJsUnit(HttpCase):
    def test_hoot_suite_of_sms_mailing(self):
        """segments.js (the widget's counter) agrees with the shared table of
        segment cases, as tools/segments.py does in pytest."""
        suite = hoot_hash("@sms_mailing")
        self.browser_js(
            f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000"
            f"&suite={suite}",
            "",
            "",
            login="admin",
            timeout=900,
            success_signal="[HOOT] test suite succeeded",
            error_checker=hoot_error,
        )
