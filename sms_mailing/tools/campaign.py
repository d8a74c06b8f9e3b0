"""Campaign helpers without the ORM: opt-out tokens, URLs in a text, link-preview
robots, masked numbers.

The opt-out token names one ``sms.sms`` and is signed with a key derived from the
database secret, so a recipient's link is short enough for an SMS, cannot be
guessed and cannot be changed into another recipient's.
"""

import base64
import hashlib
import hmac
import re

# -- opt-out tokens ------------------------------------------------------------

SIGNATURE_LENGTH = 12  # base64url characters: 72 bits of HMAC-SHA256
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
TOKEN_RE = re.compile(rf"^([0-9a-z]{{1,13}})([A-Za-z0-9_-]{{{SIGNATURE_LENGTH}}})$")
OPTOUT_PATH = "/sms/stop/"


def to_base36(number):
    """``to_base36(1295)`` -> ``'zz'``.

    >>> to_base36(0), to_base36(35), to_base36(36), to_base36(123456)
    ('0', 'z', '10', '2n9c')
    """
    if number < 0:
        raise ValueError("negative number")
    digits = []
    while True:
        number, rest = divmod(number, 36)
        digits.append(_B36[rest])
        if not number:
            return "".join(reversed(digits))


def _signature(secret, sms_id):
    key = hashlib.sha256(b"sms_mailing.optout:" + str(secret).encode()).digest()
    digest = hmac.new(key, b"sms:%d" % sms_id, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def sign(secret, sms_id):
    """The opt-out token of message ``sms_id``: its id in base 36 and a signature.

    >>> token = sign("s3cret", 42)
    >>> token[:2], len(token)
    ('16', 14)
    >>> verify("s3cret", token)
    42
    >>> sign("s3cret", 42) == sign("other secret", 42)
    False
    """
    if not secret:
        raise ValueError("an opt-out token needs the database secret")
    return to_base36(sms_id) + _signature(secret, sms_id)


def verify(secret, token):
    """The message id a token names, or ``None`` when it is malformed or forged.

    >>> token = sign("s3cret", 42)
    >>> verify("s3cret", "17" + token[2:]) is None  # another id, same signature
    True
    >>> verify("s3cret", token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    True
    >>> verify("s3cret", "../../etc") is None, verify("s3cret", None) is None
    (True, True)
    """
    if not secret or not isinstance(token, str):
        return None
    match = TOKEN_RE.match(token)
    if not match:
        return None
    sms_id = int(match.group(1), 36)
    if not sms_id or not hmac.compare_digest(
        _signature(secret, sms_id), match.group(2)
    ):
        return None
    return sms_id


def optout_url(base_url, token):
    """The opt-out page of ``token``.

    >>> optout_url("https://example.com/", "abc")
    'https://example.com/sms/stop/abc'
    """
    return base_url.rstrip("/") + OPTOUT_PATH + token


def optout_line(url):
    """The line ending a marketing SMS.

    >>> optout_line("https://ex.com/sms/stop/abc")
    'STOP: https://ex.com/sms/stop/abc'
    """
    return f"STOP: {url}"


def append_line(text, line):
    """``text`` then ``line`` on a line of its own.

    >>> append_line("Hello ", "STOP: x")
    'Hello\\nSTOP: x'
    >>> append_line("", "STOP: x")
    'STOP: x'
    """
    text = (text or "").rstrip()
    return f"{text}\n{line}" if text else line


# -- URLs -----------------------------------------------------------------------

# http(s) URLs up to a blank; closing punctuation that ends a sentence is not part
# of the URL ("See https://ex.com/a." -> "https://ex.com/a").
URL_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»"


def find_urls(text):
    """The distinct URLs of ``text``, in order of appearance.

    >>> find_urls("Sale! https://shop.example/a?x=1. Or http://b.example/(c), bye")
    ['https://shop.example/a?x=1', 'http://b.example/(c)']
    >>> find_urls("no link, www.example.com is not one") == []
    True
    """
    found = []
    for match in URL_RE.finditer(text or ""):
        url = _strip_trailing(match.group(0))
        if url not in found and len(url) > len("https://"):
            found.append(url)
    return found


def _strip_trailing(url):
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def replace_urls(text, mapping):
    """``text`` with each URL found in ``mapping`` replaced by its value.

    Only whole URLs are replaced, so one URL that starts another is safe.

    >>> replace_urls(
    ...     "A https://x.io/a and https://x.io/ab.",
    ...     {"https://x.io/a": "S1", "https://x.io/ab": "S2"},
    ... )
    'A S1 and S2.'
    """

    def substitute(match):
        raw = match.group(0)
        url = _strip_trailing(raw)
        if url in mapping:
            return mapping[url] + raw[len(url) :]
        return raw

    return URL_RE.sub(substitute, text or "")


# -- robots ---------------------------------------------------------------------

# Link previews of messaging apps and crawlers (lower case, found anywhere in the
# User-Agent). Their visits are not clicks of the recipient.
ROBOT_MARKERS = (
    "bot",  # Googlebot, TelegramBot, Slackbot, Twitterbot, Discordbot, bingbot...
    "crawler",
    "spider",
    "preview",  # SkypeUriPreview, Slack link expanding, many others
    "whatsapp",
    "facebookexternalhit",
    "facebookcatalog",
    "meta-externalagent",
    "viber",
    "linkedinapp",
    "embedly",
    "vkshare",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "headless",
    "lighthouse",
)


def is_robot(user_agent, method="GET"):
    """Whether a visit of a tracked link is a robot's rather than a click.

    >>> is_robot("WhatsApp/2.23.20.0 A")
    True
    >>> is_robot("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit)")
    True
    >>> is_robot("TelegramBot (like TwitterBot)")
    True
    >>> is_robot("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
    True
    >>> is_robot("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)")
    True
    >>> is_robot("Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5")
    True
    >>> is_robot("")  # a phone's browser always says who it is
    True
    >>> is_robot("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
    ...          "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 "
    ...          "Safari/604.1")
    False
    >>> is_robot("Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537.36",
    ...          method="HEAD")
    True
    """
    if method and method.upper() not in ("GET", "POST"):
        return True
    agent = (user_agent or "").strip().lower()
    if not agent:
        return True
    return any(marker in agent for marker in ROBOT_MARKERS)


# -- numbers --------------------------------------------------------------------


def mask_number(number):
    """A phone number shown to whoever holds the link: prefix and last two digits.

    >>> mask_number("+33612345678")
    '+336 •• •• •• 78'
    >>> mask_number("+79251234567")
    '+792 •• •• •• 67'
    >>> mask_number("123")
    '•••'
    """
    number = (number or "").strip()
    if len(number) < 8:
        return "•" * len(number)
    return f"{number[:4]} •• •• •• {number[-2:]}"
