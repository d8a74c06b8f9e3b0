"""System parameters of the SMS addons and their defaults, in one place.

Read one with :func:`get`: the stored text is typed like the default, and an
empty or malformed value gives the default. README.md lists them for users.
"""

DEFAULTS = {
    # dispatch (sms.sms)
    "sms_mailing.dispatch_batch_size": 200,
    "sms_mailing.lane_time_budget": 15.0,
    "sms_mailing.dispatch_time_budget": 45.0,
    "sms_mailing.retry_base_seconds": 60,
    "sms_mailing.stuck_after_minutes": 60,
    # delivery statuses
    "sms_mailing.status_max_age_hours": 72,
    "sms_mailing.status_poll_limit": 5000,
    # launching mailings (sms.mailing)
    "sms_mailing.queue_batch_size": 2000,
    "sms_mailing.queue_time_budget": 50,
    # contact import
    "sms_mailing.import_sync_lines": 2000,
    "sms_mailing.import_batch_size": 500,
    "sms_mailing.import_time_budget": 50.0,
    # a provider that is one line (GSM modem): longest wait for it, in seconds
    "sms_provider_modem.lock_wait_seconds": 60.0,
}


def typed(value, default):
    """``value`` (a parameter's text) as the type of ``default``; ``default``
    when it is empty or malformed.

    >>> typed("20", 200)
    20
    >>> typed("0.5", 60.0)
    0.5
    >>> typed("", 200)
    200
    >>> typed("2.5", 200)
    200
    >>> typed(None, 15.0)
    15.0
    """
    try:
        return type(default)(value) if value else default
    except ValueError:
        return default


def get(env, key):
    """The typed value of the system parameter ``key`` (one of ``DEFAULTS``)."""
    # sudo: technical settings, only read
    value = env["ir.config_parameter"].sudo().get_param(key)
    return typed(value, DEFAULTS[key])
