"""Campaign tools: opt-out link, tracked links, templates (issue 13)."""

import re

from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, tagged

from ..tools import campaign, segments
from .common import SmsProviderCase

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)


class CampaignCase(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env["sms.provider"].create(
            {"name": "Main", "provider_type": "demo", "price_per_part": 0.1}
        )
        cls.ann = cls._partner(cls, "Ann Martin", "+33612345601", cls.country_fr)
        cls.ann_office = cls._partner(
            cls, "Ann Martin (office)", "06 12 34 56 01", cls.country_fr
        )
        cls.bob = cls._partner(cls, "Bob", "+79251234502", cls.country_ru)

    @property
    def web_base(self):
        return self.env["sms.mailing"].get_base_url()

    def _partner(self, name, mobile, country):
        return self.env["res.partner"].create(
            {"name": name, "mobile": mobile, "country_id": country.id}
        )

    def _mailing(self, **vals):
        values = {
            "name": "Spring sale",
            "body": "Hello {{ object.name }}",
            "partner_ids": [(6, 0, (self.ann | self.bob).ids)],
        }
        values.update(vals)
        return self.env["sms.mailing"].create(values)

    def _launch(self, mailing):
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        return mailing.sms_ids.filtered(lambda s: s.state == "outgoing")

    def _token(self, sms):
        match = re.search(r"STOP: (\S+)/sms/stop/(\S+)$", sms.body)
        self.assertTrue(match, sms.body)
        self.assertEqual(match.group(1), self.web_base)
        return match.group(2)


@tagged("post_install", "-at_install")
class TestCampaignTexts(CampaignCase):
    def test_optout_line_ends_each_message_and_names_it(self):
        mailing = self._mailing()
        self.assertTrue(mailing.optout_link, "on by default for a new mailing")
        sms = self._launch(mailing)
        self.assertEqual(len(sms), 2)
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        tokens = set()
        for message in sms:
            first, second = message.body.split("\n")
            self.assertEqual(first, f"Hello {message.partner_id.name}")
            token = self._token(message)
            self.assertEqual(campaign.verify(secret, token), message.id)
            self.assertEqual(message.parts, segments.analyze(message.body).parts)
            tokens.add(token)
        self.assertEqual(len(tokens), 2, "one token per recipient")

    def test_no_optout_line_when_switched_off(self):
        mailing = self._mailing(optout_link=False)
        sms = self._launch(mailing)
        self.assertEqual(sorted(sms.mapped("body")), ["Hello Ann Martin", "Hello Bob"])

    def test_estimate_counts_the_optout_line(self):
        # 150 characters: one part alone, two with the opt-out line
        body = "x" * 150
        mailing = self._mailing(body=body, optout_link=False)
        self.assertEqual(mailing.body_parts, 1)
        self.assertEqual(mailing.parts_estimate, 2)
        mailing.optout_link = True
        self.assertEqual(mailing.body_parts, 2)
        self.assertEqual(mailing.parts_estimate, 4)
        self.assertIn("\nSTOP: ", mailing.final_body_sample)
        self.assertAlmostEqual(mailing.cost_estimate, 0.40)
        sms = self._launch(mailing)
        self.assertEqual(sum(sms.mapped("parts")), 4)
        self.assertEqual(
            len(mailing.final_body_sample), len(sms[0].body), "same length as sent"
        )

    def test_tracked_links_per_recipient(self):
        mailing = self._mailing(
            body="Hi {{ object.name }}, see https://shop.example/sale?x=1. "
            "Again: https://shop.example/sale?x=1",
            link_tracking=True,
        )
        estimate = mailing.final_body_sample
        sms = self._launch(mailing)
        trackers = self.env["link.tracker"].search(
            [("source_id", "=", mailing.utm_source_id.id)]
        )
        self.assertEqual(len(trackers), 1)
        self.assertEqual(trackers.url, "https://shop.example/sale?x=1")
        short = trackers.short_url
        self.assertTrue(short.startswith(f"{self.web_base}/r/"))
        for message in sms:
            link = f"{short}/s/{message.id}"
            self.assertEqual(message.body.count(link + "."), 1, message.body)
            self.assertTrue(message.body.split("\n")[0].endswith("Again: " + link))
            self.assertNotIn("shop.example", message.body)
        # Short links and opt-out line counted with their real length: the
        # sample names the next message id, the one the first recipient (Ann,
        # the lower partner id) got, with a code as long as link_tracker's.
        ann_sms = sms.filtered(lambda s: s.partner_id == self.ann)
        self.assertEqual(ann_sms, sms.sorted("id")[0])
        # The sample is Ann's own text (the first recipient's, as Check shows).
        self.assertTrue(estimate.startswith("Hi Ann Martin, see "), estimate)
        self.assertEqual(len(estimate), len(ann_sms.body))
        self.assertEqual(mailing.link_count, 1)
        # The sample's opt-out link has the real length but opts nobody out,
        # not even Ann, whose message took the id the sample named.
        sample_token = estimate.rsplit("/sms/stop/", 1)[1]
        ann_token = ann_sms.body.rsplit("/sms/stop/", 1)[1]
        self.assertEqual(len(sample_token), len(ann_token))
        self.assertNotEqual(sample_token, ann_token)
        self.assertFalse(self.env["sms.sms"]._from_optout_token(sample_token))
        self.assertEqual(self.env["sms.sms"]._from_optout_token(ann_token), ann_sms)

    def test_estimate_with_long_link_counts_short_link(self):
        long_url = "https://shop.example/" + "a" * 200
        mailing = self._mailing(
            body=f"Sale {long_url}", link_tracking=True, optout_link=False
        )
        self.assertEqual(mailing.body_parts, 1, mailing.final_body_sample)
        sms = self._launch(mailing)
        self.assertEqual(set(sms.mapped("parts")), {1})

    def test_test_send_carries_its_own_optout_link(self):
        mailing = self._mailing()
        with self.mock_gateway():
            self.env["sms.mailing.test"].create(
                {"mailing_id": mailing.id, "number": "+33699999999"}
            ).action_send()
        test_sms = mailing.sms_ids.filtered("is_test")
        secret = self.env["ir.config_parameter"].sudo().get_param("database.secret")
        self.assertEqual(campaign.verify(secret, self._token(test_sms)), test_sms.id)
        self.assertEqual(self.gateway_calls[0][1], [(test_sms.number, test_sms.body)])

    def test_preview_shows_final_text(self):
        mailing = self._mailing(
            body="Hello {{ object.name }} https://a.example/x", link_tracking=True
        )
        preview = self.env["sms.mailing.preview"].create(
            {"mailing_id": mailing.id, "partner_id": self.bob.id}
        )
        self.assertRegex(
            preview.body,
            r"^Hello Bob \S+/r/xxx/s/\d+\nSTOP: \S+/sms/stop/[\w-]+$",
        )
        self.assertEqual(preview.parts, segments.analyze(preview.body).parts)

    # -- templates ---------------------------------------------------------
    def test_template_in_mailing_and_save_as_template(self):
        template = self.env["sms.template"].create(
            {
                "name": "Promo",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Dear {{ object.name }}, -20% today",
            }
        )
        form = Form(self.env["sms.mailing"])
        form.name = "From a template"
        form.template_id = template
        self.assertEqual(form.body, "Dear {{ object.name }}, -20% today")
        form.partner_ids.add(self.bob)
        mailing = form.save()
        sms = self._launch(mailing)
        self.assertTrue(sms.body.startswith("Dear Bob, -20% today\nSTOP: "))

        other = self._mailing(name="Autumn", body="Autumn {{ object.sms_first_name }}")
        other.action_save_as_template()
        saved = other.template_id
        self.assertEqual(saved.name, "Autumn")
        self.assertEqual(saved.model, "res.partner")
        self.assertEqual(saved.body, "Autumn {{ object.sms_first_name }}")

    def test_template_with_unknown_macro_is_refused_like_a_text(self):
        template = self.env["sms.template"].create(
            {
                "name": "Broken",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Hi {{ object.no_such_field }}",
            }
        )
        mailing = self.env["sms.mailing"].create(
            {
                "name": "Broken",
                "template_id": template.id,
                "partner_ids": [(6, 0, (self.ann | self.bob).ids)],
            }
        )
        self.assertEqual(mailing.body, "Hi {{ object.no_such_field }}")
        with self.assertRaisesRegex(UserError, "no_such_field"):
            mailing.action_launch()
        with self.assertRaisesRegex(UserError, "no_such_field"):
            mailing.action_save_as_template()

    def test_template_in_card_dialog(self):
        template = self.env["sms.template"].create(
            {
                "name": "Card",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Hello {{ object.name }}, your order is ready",
            }
        )
        form = Form(
            self.env["sms.partner.send"].with_context(default_partner_id=self.bob.id)
        )
        form.template_id = template
        self.assertEqual(form.body, "Hello Bob, your order is ready")
        wizard = form.save()
        with self.mock_gateway():
            wizard.action_send()
        self.assertEqual(
            self.gateway_calls[0][1],
            [("+79251234502", "Hello Bob, your order is ready")],
        )


@tagged("post_install", "-at_install")
class TestCampaignPages(HttpCase, CampaignCase):
    def _page(self, url, **kwargs):
        return self.url_open(url, allow_redirects=False, **kwargs)

    def _csrf(self, html):
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def _optout_state(self):
        self.env.invalidate_all()
        blacklisted = self.env["phone.blacklist"].search_count(
            [("number", "=", "+33612345601")]
        )
        return (
            self.ann.sms_opt_out,
            self.ann_office.sms_opt_out,
            bool(blacklisted),
        )

    def test_optout_link_one_click_and_undo(self):
        mailing = self._mailing()
        sms = self._launch(mailing).filtered(lambda s: s.partner_id == self.ann)
        path = f"/sms/stop/{self._token(sms)}"
        self.assertEqual(self._optout_state(), (False, False, False))

        page = self._page(path)
        self.assertEqual(page.status_code, 200)
        self.assertIn("+336 •• •• •• 01", page.text)
        self.assertNotIn("612345601", page.text)
        self.assertIn("Stop SMS campaigns", page.text)
        self.assertIn('name="viewport"', page.text)  # phone screens
        self.assertEqual(
            self._optout_state(), (False, False, False), "GET changes nothing"
        )

        # one click: the form's POST
        answer = self._page(
            path, data={"csrf_token": self._csrf(page.text), "action": "optout"}
        )
        self.assertEqual(answer.status_code, 303)
        self.assertEqual(self._optout_state(), (True, True, True))
        notes = self.ann.message_ids.mapped("body")
        self.assertTrue(
            any("Opted out from mailing Spring sale by link." in n for n in notes)
        )
        mailing.invalidate_recordset()
        self.assertEqual(mailing.optout_count, 1)

        page = self._page(answer.headers["Location"])
        self.assertIn("will no longer receive", page.text)
        self.assertIn("Receive SMS campaigns again", page.text)

        # undo
        answer = self._page(
            path, data={"csrf_token": self._csrf(page.text), "action": "undo"}
        )
        self.assertEqual(answer.status_code, 303)
        self.assertEqual(self._optout_state(), (False, False, False))
        mailing.invalidate_recordset()
        self.assertEqual(mailing.optout_count, 0)
        page = self._page(answer.headers["Location"])
        self.assertIn("You will receive our SMS campaigns again", page.text)

        # the mailing's launch now skips nobody; a new launch after opting out
        # again excludes both of Ann's contacts
        self._page(path, data={"csrf_token": self._csrf(page.text), "action": "optout"})
        again = self._mailing(
            name="Next", partner_ids=[(6, 0, (self.ann | self.ann_office).ids)]
        )
        with self.assertRaisesRegex(UserError, "excluded"):
            again.action_launch()

    def test_optout_page_tour(self):
        mailing = self._mailing()
        sms = self._launch(mailing).filtered(lambda s: s.partner_id == self.ann)
        self.start_tour(f"/sms/stop/{self._token(sms)}", "sms_mailing_stop_page")
        # stopped then undone, both by the browser: the notes and the end state
        self.assertEqual(self._optout_state(), (False, False, False))
        notes = " ".join(self.ann.message_ids.mapped("body"))
        self.assertIn("Opted out from mailing Spring sale by link.", notes)
        self.assertIn("Opt-out from mailing Spring sale undone by link.", notes)

    def test_card_template_tour(self):
        self.env["sms.template"].create(
            {
                "name": "Pickup notice",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Hello {{ object.name }}, your order is ready.",
            }
        )
        contact = self._partner("Tour Contact", "+33612345699", self.country_fr)
        self.start_tour(
            f"/odoo/contacts/{contact.id}", "sms_mailing_card_template", login="admin"
        )
        sent = self.env["sms.sms"].search([("partner_id", "=", contact.id)])
        self.assertEqual(sent.body, "Hello Tour Contact, your order is ready.")
        self.assertEqual(sent.provider_id, self.provider)

    def test_mailing_template_and_links_tour(self):
        self.env["sms.template"].create(
            {
                "name": "Spring template",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Hi {{ object.name }}: https://shop.example/tour",
            }
        )
        self.start_tour(
            "/odoo/action-sms_mailing.sms_mailing_action/new",
            "sms_mailing_template_links",
            login="admin",
        )
        mailing = self.env["sms.mailing"].search([("name", "=", "Tour mailing")])
        self.assertEqual(
            mailing.body, "Hi {{ object.name }}: https://shop.example/tour"
        )
        self.assertTrue(mailing.link_tracking)
        self.assertTrue(mailing.optout_link)
        self.assertEqual(mailing.template_id.name, "Spring template")

    def test_bad_tokens_get_a_polite_404_and_change_nothing(self):
        mailing = self._mailing()
        sms = self._launch(mailing).filtered(lambda s: s.partner_id == self.ann)
        token = self._token(sms)
        other = str(int(token[:-12], 36) + 1)
        forged = [
            token[:-1] + ("A" if token[-1] != "A" else "B"),
            campaign.to_base36(int(token[:-12], 36) + 1) + token[-12:],
            "abc",
            "x" * 300,
            other,
        ]
        page = self._page(f"/sms/stop/{token}")
        csrf = self._csrf(page.text)
        for bad in forged:
            page = self._page(f"/sms/stop/{bad}")
            self.assertEqual(page.status_code, 404, bad)
            self.assertIn("This link is not valid", page.text)
            self.assertNotIn("Traceback", page.text)
            answer = self._page(
                f"/sms/stop/{bad}", data={"csrf_token": csrf, "action": "optout"}
            )
            self.assertEqual(answer.status_code, 404)
        # a POST without the CSRF token of the page is refused
        answer = self._page(f"/sms/stop/{token}", data={"action": "optout"})
        self.assertEqual(answer.status_code, 400)
        # an unknown action
        answer = self._page(
            f"/sms/stop/{token}", data={"csrf_token": csrf, "action": "drop"}
        )
        self.assertEqual(answer.status_code, 404)
        # expired: the message was deleted
        sms.unlink()
        self.assertEqual(self._page(f"/sms/stop/{token}").status_code, 404)
        self.assertEqual(self._optout_state(), (False, False, False))
        mailing.invalidate_recordset()
        self.assertEqual(mailing.optout_count, 0)

    def test_page_in_the_recipients_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.ann.lang = "fr_FR"
        view = self.env.ref("sms_mailing.sms_stop_page")
        view.update_field_translations(
            "arch_db", {"fr_FR": {"Stop SMS campaigns": "Ne plus recevoir de SMS"}}
        )
        sms = self._launch(self._mailing()).filtered(lambda s: s.partner_id == self.ann)
        page = self._page(f"/sms/stop/{self._token(sms)}")
        self.assertIn("Ne plus recevoir de SMS", page.text)
        bob_sms = self.env["sms.sms"].search(
            [("partner_id", "=", self.bob.id), ("sms_mailing_id", "!=", False)]
        )
        page = self._page(f"/sms/stop/{self._token(bob_sms)}")
        self.assertIn("Stop SMS campaigns", page.text)

    def test_click_tracking_excludes_robots(self):
        mailing = self._mailing(
            body="Sale: https://shop.example/spring", link_tracking=True
        )
        sms = self._launch(mailing)
        ann_sms = sms.filtered(lambda s: s.partner_id == self.ann)
        link = re.search(r"(/r/\w+/s/\d+)", ann_sms.body).group(1)
        for robot in (
            "WhatsApp/2.23.20.0 A",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "TelegramBot (like TwitterBot)",
        ):
            answer = self._page(link, headers={"User-Agent": robot})
            self.assertEqual(answer.status_code, 301)
            self.assertEqual(
                answer.headers["Location"],
                "https://shop.example/spring?utm_source=Spring+sale&utm_medium=sms",
            )
        mailing.invalidate_recordset()
        self.assertEqual(mailing.clicked_count, 0)
        self.assertEqual(
            self.env["link.tracker.click"].search_count(
                [("sms_sms_id", "in", sms.ids)]
            ),
            0,
        )

        answer = self._page(link, headers={"User-Agent": PHONE_UA})
        self.assertEqual(answer.status_code, 301)
        answer = self._page(link, headers={"User-Agent": PHONE_UA})  # twice
        self.env.invalidate_all()
        clicks = self.env["link.tracker.click"].search([("sms_sms_id", "in", sms.ids)])
        self.assertEqual(len(clicks), 2)
        self.assertEqual(clicks.sms_sms_id, ann_sms)
        # sent and delivered, then the statistics
        with self.mock_gateway():
            self._run_dispatch()
        mailing.invalidate_recordset()
        self.assertEqual(mailing.clicked_count, 1, "unique recipients")
        self.assertEqual(mailing.clicked_ratio, 50.0)
        clicked = self.env["sms.sms"].search(mailing.action_view_clicked()["domain"])
        self.assertEqual(clicked.partner_id, self.ann)
        links = self.env["link.tracker"].search(mailing.action_view_links()["domain"])
        self.assertEqual(links.mapped("count"), [2])

        # a code of another mailing or an unknown message is not attributed
        other = self._mailing(
            name="Other", body="x https://o.example", link_tracking=True
        )
        other_sms = self._launch(other)[:1]
        code = re.search(r"/r/(\w+)/s/", other_sms.body).group(1)
        self._page(f"/r/{code}/s/{ann_sms.id}", headers={"User-Agent": PHONE_UA})
        self.assertEqual(self._page("/r/zzzzzz/s/1").status_code, 404)
        self.assertEqual(
            self._page(f"/r/{code}/s/99999999999999999999").status_code, 404
        )
        self.env.invalidate_all()
        self.assertEqual(len(ann_sms.link_click_ids), 2)
