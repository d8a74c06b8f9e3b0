"""setup/test.py never lets `make test` pass by skipping Odoo's browser tests."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def harness():
    env = {
        "ROOT": str(ROOT),
        "ODOO_SRC": "/nonexistent",
        "ODOO_CONF": "/nonexistent.conf",
        "DATA_DIR": "/tmp",
        "ADDONS": "sms_mailing",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    # setup/test.py imports its neighbour setup/i18n.py, as a script would.
    sys.path.insert(0, str(ROOT / "setup"))
    try:
        spec = importlib.util.spec_from_file_location(
            "setup_test_harness", ROOT / "setup" / "test.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(ROOT / "setup"))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


LINE = "2026-11-27 07:47:22,256 16503 INFO db {logger}: {msg}"


def _log(tmp_path, *lines):
    path = tmp_path / "odoo.log"
    path.write_text("\n".join(LINE.format(logger=lg, msg=msg) for lg, msg in lines))
    return path


@pytest.mark.parametrize(
    "reason",
    [
        "websocket-client module is not installed",
        "Chrome executable not found",
        "chromium not found",
        "Failed to detect chrome devtools port after 10.0s.",
        "Error during Chrome headless connection",
    ],
)
def test_a_skipped_tour_is_a_failure(harness, tmp_path, reason):
    logger = "odoo.addons.mass_mailing_sms.tests.test_mailing_ui"
    log = _log(tmp_path, (logger, f"skipped TestMailingUi.test_tour : {reason}"))
    scan = harness.scan_odoo_log(log, ["mass_mailing_sms"])
    assert scan["browser_skipped"] == 1
    assert scan["skipped"] == 0
    assert scan["failures"][0]["msg"].startswith("FAIL: browser test skipped")


def test_other_skips_stay_skips(harness, tmp_path):
    logger = "odoo.addons.sms.tests.test_sms"
    log = _log(tmp_path, (logger, "skipped TestSms.test_x : needs l10n_be"))
    scan = harness.scan_odoo_log(log, ["sms"])
    assert (scan["skipped"], scan["browser_skipped"], scan["failures"]) == (1, 0, [])


def test_missing_browser_is_said_clearly(harness, monkeypatch):
    monkeypatch.setattr(harness.shutil, "which", lambda name: None)
    monkeypatch.setattr(harness.os, "geteuid", lambda: 1000)
    error = harness.ensure_browser()
    assert error.startswith("Browser tests cannot run: Chromium")
    assert "apt-get install chromium" in error
