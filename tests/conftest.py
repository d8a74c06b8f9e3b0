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


# -- Hypothesis (property tests: tests/test_fuzz_*.py and others) ------------
# "ci", the default (make test, .ci/run), is reproducible: derandomized (the
# examples are drawn from a fixed seed derived from each test's source, so the
# same code gives the same examples on every run and machine), no example
# database carried between runs, no per-example deadline (a loaded 2-core
# machine must not turn a slow example into a failure; speed is measured by
# bench/, never by tests). Examples found so far are pinned with @example.
# "deep" (HYPOTHESIS_PROFILE=deep make test-pytest) explores: ten times more
# examples, randomly drawn on each run; see README "Property tests" for what to
# do with a failure it finds.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=3000,
    derandomize=False,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
