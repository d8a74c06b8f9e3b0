"""Opt-out tokens, URLs, robots and masking (sms_mailing/tools/campaign.py)."""

import doctest

from hypothesis import given
from hypothesis import strategies as st

from odoo.addons.sms_mailing.tools import campaign


def test_doctests():
    failures, tried = doctest.testmod(campaign)
    assert tried > 0
    assert failures == 0


@given(st.integers(min_value=1, max_value=2**62), st.text(min_size=1))
def test_token_round_trip(sms_id, secret):
    token = campaign.sign(secret, sms_id)
    assert campaign.verify(secret, token) == sms_id
    assert len(token) <= 13 + campaign.SIGNATURE_LENGTH
    # URL-safe: it goes in a path segment as it is
    assert all(c.isalnum() or c in "-_" for c in token)


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1))
def test_token_of_another_message_is_refused(sms_id, other_id):
    token = campaign.sign("secret", sms_id)
    forged = campaign.to_base36(other_id) + token[-campaign.SIGNATURE_LENGTH :]
    if other_id != sms_id:
        assert campaign.verify("secret", forged) is None


def test_token_of_another_database_is_refused():
    assert campaign.verify("db2", campaign.sign("db1", 7)) is None


def test_hostile_tokens():
    for token in ("", "0" + "A" * 12, "x" * 200, "12345", "é" * 14, None, 12):
        assert campaign.verify("secret", token) is None


def test_optout_line_is_short():
    token = campaign.sign("secret", 123_456_789)
    line = campaign.optout_line(campaign.optout_url("https://crm.example.com", token))
    assert line == f"STOP: https://crm.example.com/sms/stop/{token}"
    assert len(line) < 60


def test_urls_with_punctuation_and_repeats():
    text = "Go https://a.io/x, https://a.io/x! (https://b.io/y) https://c.io/z?q=1#f"
    assert campaign.find_urls(text) == [
        "https://a.io/x",
        "https://b.io/y",
        "https://c.io/z?q=1#f",
    ]
    mapping = {"https://a.io/x": "S1", "https://b.io/y": "S2"}
    assert (
        campaign.replace_urls(text, mapping) == "Go S1, S1! (S2) https://c.io/z?q=1#f"
    )


def test_robots_of_messaging_apps_and_real_phones():
    robots = [
        "WhatsApp/2.2407.3 i",
        "facebookexternalhit/1.1;line-poker/1.0",
        "TelegramBot (like TwitterBot)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Twitterbot/1.0",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Viber/20.3",
        "python-requests/2.31",
        None,
    ]
    for agent in robots:
        assert campaign.is_robot(agent), agent
    phones = [
        "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/119.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 "
        "Firefox/121.0",
    ]
    for agent in phones:
        assert not campaign.is_robot(agent), agent


def test_masked_number_hides_the_middle():
    masked = campaign.mask_number("+33612345678")
    assert "12345" not in masked.replace(" ", "")
    assert masked.endswith("78")
