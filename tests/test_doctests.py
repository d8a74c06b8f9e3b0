"""The doctests of every pure module of the three addons (``<addon>/tools/*.py``).

A module added to ``tools/`` is picked up here by itself: its examples are part of
the test suite as soon as it has any.
"""

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    f"odoo.addons.{path.parent.parent.name}.tools.{path.stem}"
    for path in ROOT.glob("*/tools/*.py")
    if path.stem != "__init__"
)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_tools_module_is_collected():
    assert "odoo.addons.sms_mailing.tools.macros" in MODULES
    assert "odoo.addons.sms_mailing.tools.quiet_hours" in MODULES
