"""Commits and locks of background jobs, on Odoo's database layer (no ORM).

``commit_batch`` is the one place a cron commits a finished batch (never under
tests); ``line_lock`` holds a provider that is one line (a GSM modem) for one
user at a time across Odoo workers and servers.
"""

import contextlib
import threading
import time

from odoo import sql_db
from odoo.tools import SQL

from .exceptions import ProviderError
from .i18n import lazy_translate

_lt = lazy_translate(__name__)

# First key of the advisory lock of a provider line ("SMSG"); the second key is
# the provider id.
LINE_LOCK_NAMESPACE = 0x534D5347


def testing():
    """Whether the current thread runs a test (Odoo marks it)."""
    return getattr(threading.current_thread(), "testing", False)


def commit_batch(env):
    """Commit a finished batch so that it survives a crash; never under tests."""
    if not testing():
        env.cr.commit()  # pylint: disable=invalid-commit


@contextlib.contextmanager
def line_lock(dbname, provider_id, wait, busy_message=None, lang=None):
    """Hold the line of ``provider_id`` across Odoo workers and servers.

    A transaction-level PostgreSQL advisory lock on a connection of its own:
    it does not depend on the caller's transaction, and it is released when
    that connection's transaction ends, even if the worker dies. Raises a
    transient :class:`ProviderError` after ``wait`` seconds (``busy_message``,
    or a sentence in ``lang``).
    """
    cr = sql_db.db_connect(dbname).cursor()
    try:
        deadline = time.monotonic() + wait
        while True:
            cr.execute(
                SQL(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)",
                    LINE_LOCK_NAMESPACE,
                    provider_id,
                )
            )
            if cr.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                raise ProviderError(
                    busy_message
                    or _lt(
                        "The provider's line is busy (another worker is using "
                        "it); trying again later."
                    ),
                    transient=True,
                    lang=lang,
                )
            time.sleep(0.2)
        yield
    finally:
        cr.close()  # rolls back: releases the lock
