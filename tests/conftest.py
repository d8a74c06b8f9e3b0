"""Database-free tests: make ``import odoo.addons.<our addon>...`` work in pytest.

The repository root joins ``odoo.addons.__path__`` (next to Odoo's own addons), as
``--addons-path`` does for odoo-bin. No database, no registry: tests here exercise
plain Python (tools/, API clients, encoders) and the local test servers.
"""

import os
from pathlib import Path

import odoo

import odoo.addons

REPO_ROOT = str(Path(__file__).resolve().parent.parent)


def _odoo_addons_dirs():
    """Odoo's addons directories, as setup/env.sh's addons_path() picks them."""
    src = Path(
        os.environ.get("ODOO_SRC") or Path(odoo.__file__).resolve().parent.parent
    )
    dirs = [src / "odoo" / "addons"]
    # A git checkout of odoo/odoo keeps most addons in the top-level addons/.
    if (
        not (src / "odoo" / "addons" / "mail").is_dir()
        and (src / "addons" / "mail").is_dir()
    ):
        dirs.insert(0, src / "addons")
    return [str(d) for d in dirs]


for _path in [*_odoo_addons_dirs(), REPO_ROOT]:
    if _path not in odoo.addons.__path__:
        odoo.addons.__path__.append(_path)


# -- Hypothesis (property tests: tests/test_fuzz_*.py) -------------------------
# "ci" (the default) keeps the whole pytest phase short on a loaded 2-core
# machine; HYPOTHESIS_PROFILE=deep runs ten times more examples per property.
# The deadline is per example: a parser that loops or backtracks badly fails it.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=500,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=3000,
    deadline=500,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
