"""Quiet hours: when a message may be delivered in the recipient's time zone."""

import datetime

import phonenumbers
import pytz
from phonenumbers import timezone as phone_timezone


def timezone_of(tz_name=None, e164=None):
    """The recipient's time zone: the contact's ``tz``, else the number's.

    >>> timezone_of(None, "+33612345678").zone
    'Europe/Paris'
    >>> timezone_of("Asia/Tokyo").zone
    'Asia/Tokyo'
    """
    if tz_name and tz_name in pytz.all_timezones_set:
        return pytz.timezone(tz_name)
    if e164:
        try:
            zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
        except phonenumbers.NumberParseException:
            zones = ()
        zones = [z for z in zones if z != "Etc/Unknown"]
        if zones:
            return pytz.timezone(zones[0])
    return pytz.utc


def _hm(hours):
    hours = float(hours) % 24
    return int(hours), int(round((hours - int(hours)) * 60))


def next_allowed(now_utc, tz, start, end):
    """``None`` if sending is allowed at ``now_utc``, else when it becomes so.

    Quiet hours run from ``start`` to ``end`` (hours as floats, local time); they
    may wrap midnight (21.0 -> 9.0). ``now_utc`` and the result are naive UTC.

    >>> paris = pytz.timezone("Europe/Paris")
    >>> next_allowed(datetime.datetime(2026, 1, 10, 22, 0), paris, 21, 9)
    datetime.datetime(2026, 1, 11, 8, 0)
    >>> next_allowed(datetime.datetime(2026, 1, 10, 12, 0), paris, 21, 9) is None
    True
    """
    if float(start) % 24 == float(end) % 24:
        return None
    local = pytz.utc.localize(now_utc).astimezone(tz)
    minutes = local.hour * 60 + local.minute
    sh, sm = _hm(start)
    eh, em = _hm(end)
    start_m, end_m = sh * 60 + sm, eh * 60 + em
    if start_m < end_m:
        quiet = start_m <= minutes < end_m
    else:
        quiet = minutes >= start_m or minutes < end_m
    if not quiet:
        return None
    opening = local.replace(hour=eh, minute=em, second=0, microsecond=0, tzinfo=None)
    if opening <= local.replace(tzinfo=None):
        opening += datetime.timedelta(days=1)
    opening = tz.localize(opening)
    return opening.astimezone(pytz.utc).replace(tzinfo=None)
