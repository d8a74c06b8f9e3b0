"""Campaign tools, part two (issue 23): smart encoding, every phone of a
contact, A/B tests and a template through the API, as a sales manager."""

from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from . import test_ui_tours
from .common import SmsProviderCase
from .test_smart_encoding import FRENCH, FRENCH_SENT, RUSSIAN

NBSP = "\N{NO-BREAK SPACE}"


class CampaignToolsCase(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.provider = cls.env["sms.provider"].create(
            {
                "name": "Main",
                "provider_type": "demo",
                "price_per_part": 0.05,
                "currency_id": cls.eur.id,
            }
        )
        cls.manager = new_test_user(
            cls.env,
            "campaign_manager",
            groups="base.group_user,base.group_partner_manager,"
            "sms_mailing.group_sms_manager",
        )

    def _partner(self, name, mobile=None, phone=None, **vals):
        return self.env["res.partner"].create(
            dict(
                {
                    "name": name,
                    "mobile": mobile,
                    "phone": phone,
                    "country_id": self.country_fr.id,
                },
                **vals,
            )
        )

    def _mailing(self, partners, as_user=None, **vals):
        values = {
            "name": "Soldes",
            "body": "Bonjour",
            "optout_link": False,
            "provider_id": self.provider.id,
            "partner_ids": [(6, 0, partners.ids)],
        }
        values.update(vals)
        return self.env["sms.mailing"].with_user(as_user or self.manager).create(values)

    def _queue(self, mailing):
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        return mailing.sms_ids


@tagged("post_install", "-at_install")
class TestTemplateThroughApi(CampaignToolsCase):
    def test_create_with_template_fills_the_text(self):
        template = self.env["sms.template"].create(
            {
                "name": "Promo",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "body": "Dear {{ object.name }}, -20% today",
            }
        )
        ann = self._partner("Ann", "+33612345601")
        # what XML-RPC's create does: no onchange, no text
        mailing = (
            self.env["sms.mailing"]
            .with_user(self.manager)
            .create(
                {
                    "name": "By API",
                    "template_id": template.id,
                    "partner_ids": [(6, 0, ann.ids)],
                    "optout_link": False,
                }
            )
        )
        self.assertEqual(mailing.body, "Dear {{ object.name }}, -20% today")
        self.assertEqual(mailing.recipient_estimate, 1)
        self.assertEqual(self._queue(mailing).body, "Dear Ann, -20% today")
        # a text given with the template wins; the text stays editable
        own = self._mailing(ann, template_id=template.id, body="Mine")
        self.assertEqual(own.body, "Mine")
        own.body = "Edited"
        self.assertEqual(own.body, "Edited")
        # choosing another template copies its text, as the form did
        other = template.copy({"body": "Other {{ object.name }}"})
        own.template_id = other
        self.assertEqual(own.body, "Other {{ object.name }}")
        # launched: the template is locked with the text
        with self.assertRaisesRegex(UserError, "no longer a draft"):
            mailing.template_id = other


@tagged("post_install", "-at_install")
class TestSmartEncodingMailing(CampaignToolsCase):
    def test_estimate_says_what_it_saves_and_texts_are_replaced(self):
        partners = self._partner("Lucie", "+33612345601") | self._partner(
            "Marc", "+33612345602"
        )
        mailing = self._mailing(partners, body=FRENCH)
        self.assertEqual((mailing.body_parts, mailing.body_encoding), (3, "UCS-2"))
        self.assertFalse(mailing.smart_saving)
        mailing.smart_encoding = True
        self.assertEqual((mailing.body_parts, mailing.body_encoding), (2, "GSM-7"))
        self.assertEqual(mailing.parts_estimate, 4)
        self.assertAlmostEqual(mailing.cost_estimate, 0.2)
        self.assertEqual(
            mailing.smart_saving,
            f"3 parts → 2 parts per message; cost 0.30{NBSP}€ → 0.20{NBSP}€",
        )
        self.assertEqual(mailing.final_body_sample, FRENCH_SENT)
        sms = self._queue(mailing)
        self.assertEqual(set(sms.mapped("body")), {FRENCH_SENT})
        self.assertEqual(set(sms.mapped("parts")), {2})
        with self.mock_gateway():
            self._run_dispatch()
        self.assertEqual(
            [body for _n, batch in self.gateway_calls for _num, body in batch],
            [FRENCH_SENT, FRENCH_SENT],
        )

    def test_with_opt_out_line_and_macros(self):
        # A name with a letter outside GSM-7 keeps that recipient's text UCS-2:
        # only the others are replaced.
        zoe = self._partner("Zoë", "+33612345603")
        ann = self._partner("Ann", "+33612345604")
        mailing = self._mailing(
            zoe | ann,
            body="Bonjour {{ object.name }}, l’offre “été” – 10 €…",
            optout_link=True,
            smart_encoding=True,
        )
        # Text as sent: the first recipient's text, smart-encoded as it is sent.
        sample, sample_partner = (
            mailing.final_body_sample,
            mailing.final_body_sample_partner_id,
        )
        self.assertIn(sample_partner, zoe | ann)
        self.assertIn("\nSTOP: ", sample)
        sms = {s.partner_id: s for s in self._queue(mailing)}
        self.assertEqual(
            sample.split("\nSTOP: ")[0],
            sms[sample_partner].body.split("\nSTOP: ")[0],
        )
        self.assertTrue(
            sms[ann].body.startswith('Bonjour Ann, l\'offre "été" - 10 €...\nSTOP: ')
        )
        self.assertTrue(sms[zoe].body.startswith("Bonjour Zoë, l’offre “été” – 10 €…"))
        self.assertEqual((sms[ann].encoding, sms[zoe].encoding), ("gsm7", "ucs2"))

    def test_russian_text_stays_russian(self):
        ivan = self._partner("Иван", "+79251234567", country_id=self.country_ru.id)
        mailing = self._mailing(ivan, body=RUSSIAN, smart_encoding=True)
        self.assertEqual(
            mailing.smart_saving,
            "Smart encoding saves nothing on this text: it is sent as written.",
        )
        self.assertEqual(self._queue(mailing).body, RUSSIAN)


@tagged("post_install", "-at_install")
class TestAllPhones(CampaignToolsCase):
    def test_each_valid_number_gets_one_sms(self):
        both = self._partner("Both", "06 12 34 56 01", "01 23 45 67 01")
        same = self._partner("Same twice", "+33612345602", "06 12 34 56 02")
        bad_phone = self._partner("Bad phone", "+33612345603", "12")
        landline_only = self._partner("Landline", None, "01 23 45 67 04")
        # Blacklisted landline: the mobile still gets it; the landline is
        # excluded on its own.
        blocked = self._partner("Blocked landline", "+33612345605", "01 23 45 67 05")
        self.env["phone.blacklist"]._add(["+33123456705"])
        # Another contact's landline is Both's: a duplicate across contacts.
        dup = self._partner("Shares Both's landline", "+33612345606", "01 23 45 67 01")
        opted = self._partner(
            "Opted out", "+33612345607", "01 23 45 67 07", sms_opt_out=True
        )
        audience = both | same | bad_phone | landline_only | blocked | dup | opted
        mailing = self._mailing(audience, all_phones=True)
        # Both 2, Same twice 1, Bad phone 1, Landline 1, Blocked 1, the
        # duplicate's mobile 1, the opted-out contact 0
        self.assertEqual(mailing.recipient_estimate, 7)
        self.assertEqual(mailing.parts_estimate, 7)
        self.assertAlmostEqual(mailing.cost_estimate, 0.35)
        sms = self._queue(mailing)
        sent = sms.filtered(lambda s: s.state == "outgoing")
        self.assertEqual(
            sorted(sent.mapped("number")),
            sorted(
                [
                    "+33612345601",
                    "+33123456701",
                    "+33612345602",
                    "+33612345603",
                    "+33123456704",
                    "+33612345605",
                    "+33612345606",
                ]
            ),
        )
        excluded = {
            (s.partner_id.name, s.number, s.failure_type)
            for s in sms.filtered(lambda s: s.state == "canceled")
        }
        self.assertEqual(
            excluded,
            {
                ("Blocked landline", "+33123456705", "sms_blacklist"),
                ("Shares Both's landline", "+33123456701", "sms_duplicate"),
                ("Opted out", "+33612345607", "sms_optout"),
                ("Opted out", "+33123456707", "sms_optout"),
            },
        )
        self.assertEqual(
            (mailing.recipient_count, mailing.excluded_count, mailing.total_count),
            (7, 4, 11),
        )
        with self.mock_gateway():
            self._run_dispatch()
        self.assertEqual(len(self.sent_numbers), 7)
        self.assertEqual(len(set(self.sent_numbers)), 7, "no number twice")

    def test_without_the_option_one_sms_per_contact(self):
        both = self._partner("Both", "06 12 34 56 01", "01 23 45 67 01")
        mailing = self._mailing(both)
        self.assertEqual(mailing.recipient_estimate, 1)
        self.assertEqual(self._queue(mailing).number, "+33612345601")


@tagged("post_install", "-at_install")
class TestAbTest(CampaignToolsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partners = cls.env["res.partner"].create(
            [
                {
                    "name": f"Client {index:02d}",
                    "mobile": f"+336123456{index:02d}",
                    "country_id": cls.country_fr.id,
                }
                for index in range(20)
            ]
        )

    def _ab_mailing(self, as_user=None, **vals):
        values = {
            "body": False,
            "ab_testing_enabled": True,
            "ab_testing_pc": 50,
            "ab_testing_schedule_datetime": fields.Datetime.now() + timedelta(hours=2),
            "link_tracking": True,
            "variant_ids": [
                (0, 0, {"body": "Spring sale: https://shop.example/a"}),
                (
                    0,
                    0,
                    {
                        "body": "Our spring sale starts today, up to 50% off "
                        "everything in the shop and online, and it is the "
                        "longest text of the three so it takes two parts when "
                        "tracked: https://shop.example/b"
                    },
                ),
            ],
        }
        values.update(vals)
        return self._mailing(self.partners, as_user=as_user, **values)

    def _click(self, sms):
        code = sms.body.rsplit("/r/", 1)[1].split("/")[0]
        self.env["link.tracker.click"].sudo().add_click(code, sms_sms_id=sms.id)

    def test_estimate_counts_each_variant(self):
        mailing = self._ab_mailing()
        variant_a, variant_b = mailing.variant_ids
        self.assertEqual((variant_a.name, variant_b.name), ("Variant A", "Variant B"))
        self.assertEqual((variant_a.body_parts, variant_b.body_parts), (1, 2))
        # 10 get a variant (5 each: 5 x 1 + 5 x 2 parts), the other 10 are
        # counted with the longest one (2 parts)
        self.assertEqual(mailing.recipient_estimate, 20)
        self.assertEqual(mailing.body_parts, 2)
        self.assertEqual(mailing.parts_estimate, 35)
        self.assertAlmostEqual(mailing.cost_estimate, 1.75)
        self.assertIn(
            "A/B test: variants to 10 recipients, the winner to the other 10",
            mailing.estimate_note,
        )
        self.assertIn(
            "50% of the audience gets one of the 2 variants (25.0% each)",
            mailing.ab_testing_description,
        )

    def test_estimate_cost_unknown_when_no_provider_prices_it(self):
        # No provider to ask: the test's cost is Unknown, not 0; parts stay.
        self.env["sms.provider"].search([]).write({"active": False})
        mailing = self._ab_mailing(provider_id=False)
        self.assertEqual(mailing.parts_estimate, 35)
        self.assertTrue(mailing.cost_unknown)
        self.assertIn("No provider available.", mailing.estimate_note)

    def test_bad_setups_are_refused_at_launch(self):
        mailing = self._ab_mailing(variant_ids=[(0, 0, {"body": "Only one"})])
        with self.assertRaisesRegex(UserError, "2 or 3 variants"):
            mailing.action_launch()
        mailing = self._ab_mailing(ab_testing_schedule_datetime=False)
        with self.assertRaisesRegex(UserError, "Send the winner on"):
            mailing.action_launch()
        mailing = self._ab_mailing(ab_testing_pc=5)
        with self.assertRaisesRegex(UserError, "1 recipients for 2 variants"):
            mailing.action_launch()
        # (an unknown field is code to Odoo: only a template editor writes it)
        mailing = self._ab_mailing(
            variant_ids=[
                (0, 0, {"body": "A"}),
                (0, 0, {"body": "{{ object.nope.name }}"}),
            ],
            as_user=self.env.ref("base.user_admin"),
        )
        with self.assertRaisesRegex(UserError, "nope"):
            mailing.action_launch()
        # a variant's text follows Odoo's rendering restriction like the text
        with self.assertRaisesRegex(AccessError, "Mail Template Editor"):
            self._ab_mailing(variant_ids=[(0, 0, {"body": "{{ 7 * 6 }}"})])
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self._ab_mailing(ab_testing_pc=0)
        self.assertEqual(self.env["sms.sms"].search_count([]), 0)

    def test_most_clicks_wins_and_the_rest_gets_it(self):
        mailing = self._ab_mailing()
        variant_a, variant_b = mailing.variant_ids
        sms = self._queue(mailing)
        # the test: 10 of 20, 5 per variant, nobody twice
        self.assertEqual(len(sms), 10)
        self.assertEqual(
            len(sms.filtered(lambda s: s.sms_mailing_variant_id == variant_a)), 5
        )
        self.assertEqual(
            len(sms.filtered(lambda s: s.sms_mailing_variant_id == variant_b)), 5
        )
        self.assertTrue(all("/r/" in s.body for s in sms))
        self.assertEqual(mailing.state, "sending")
        with self.mock_gateway():
            self._run_dispatch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertEqual(mailing.state, "sending", "waits for the winner")
        for message in sms.filtered(lambda s: s.sms_mailing_variant_id == variant_b)[
            :2
        ]:
            self._click(message)
        self._click(sms.filtered(lambda s: s.sms_mailing_variant_id == variant_a)[:1])
        variant_a.invalidate_recordset()
        variant_b.invalidate_recordset()
        self.assertEqual((variant_a.sent_count, variant_b.sent_count), (5, 5))
        self.assertEqual((variant_a.clicked_count, variant_b.clicked_count), (1, 2))
        self.assertEqual(variant_b.clicked_ratio, 40.0)
        # the chosen time: the cron sends the winner
        mailing.ab_testing_schedule_datetime = fields.Datetime.now() - timedelta(
            minutes=1
        )
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertTrue(mailing.ab_testing_completed)
        self.assertEqual(mailing.ab_testing_winner_id, variant_b)
        self.assertTrue(variant_b.is_winner)
        rest = mailing.sms_ids.filtered(lambda s: not s.sms_mailing_variant_id)
        self.assertEqual(len(rest), 10)
        self.assertEqual(
            sorted((mailing.sms_ids.partner_id).ids), sorted(self.partners.ids)
        )
        self.assertTrue(
            all(s.body.startswith("Our spring sale starts today") for s in rest)
        )
        with self.mock_gateway():
            self._run_dispatch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertEqual(mailing.state, "done")
        self.assertEqual(mailing.sent_count, 20)
        self.assertEqual(len(set(self.sent_numbers)), 20)
        with self.assertRaisesRegex(UserError, "already sent"):
            variant_a.action_select_as_winner()

    def test_fewest_optouts_wins(self):
        mailing = self._ab_mailing(
            ab_testing_winner_selection="optouts", optout_link=True
        )
        variant_a, variant_b = mailing.variant_ids
        sms = self._queue(mailing)
        with self.mock_gateway():
            self._run_dispatch()
        sms.filtered(lambda s: s.sms_mailing_variant_id == variant_b)[
            :1
        ]._optout_by_link()
        mailing.action_send_winner()
        self.assertEqual(mailing.ab_testing_winner_id, variant_a)

    def test_chosen_by_hand(self):
        mailing = self._ab_mailing(
            ab_testing_winner_selection="manual", ab_testing_schedule_datetime=False
        )
        variant_a, variant_b = mailing.variant_ids
        self._queue(mailing)
        with self.assertRaisesRegex(UserError, "no longer a draft"):
            variant_a.write({"body": "changed"})
        with self.assertRaisesRegex(UserError, "Choose the winning variant"):
            mailing.action_send_winner()
        variant_a.with_user(self.manager).action_select_as_winner()
        self.assertEqual(mailing.ab_testing_winner_id, variant_a)
        self.env["sms.mailing"]._cron_process()
        rest = mailing.sms_ids.filtered(lambda s: not s.sms_mailing_variant_id)
        self.assertEqual(len(rest), 10)
        self.assertTrue(all(s.body.startswith("Spring sale: ") for s in rest))

    def test_sms_user_reads_but_does_not_decide(self):
        mailing = self._ab_mailing(
            ab_testing_winner_selection="manual", ab_testing_schedule_datetime=False
        )
        self._queue(mailing)
        with self.mock_gateway():
            self._run_dispatch()
        user = new_test_user(
            self.env, "ab_sms_user", groups="base.group_user,sms_mailing.group_sms_user"
        )
        variants = mailing.variant_ids.with_user(user)
        self.assertEqual(variants.mapped("sent_count"), [5, 5])  # counters readable
        with self.assertRaises(AccessError):
            variants[0].action_select_as_winner()
        draft = self._ab_mailing()
        with self.assertRaises(AccessError):
            self.env["sms.mailing.variant"].with_user(user).create(
                {"mailing_id": draft.id, "body": "Mine"}
            )
        with self.assertRaises(AccessError):
            draft.variant_ids[0].with_user(user).body = "Mine"
        self.assertFalse(mailing.ab_testing_completed)
        self.assertEqual(len(mailing.sms_ids), 10, "nothing more was queued")

    def test_copy_keeps_the_variants(self):
        mailing = self._ab_mailing()
        copy = mailing.copy()
        self.assertEqual(
            copy.variant_ids.mapped("body"), mailing.variant_ids.mapped("body")
        )
        self.assertTrue(copy.ab_testing_enabled)
        self.assertFalse(copy.ab_testing_winner_id)


@tagged("post_install", "-at_install")
class TestCampaignToolsTours(HttpCase):
    """Smart encoding and an A/B test in the browser, as a sales manager."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["sms.provider"].search([]).write({"active": False})
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.provider = cls.env["sms.provider"].create(
            {
                "name": "Tour provider",
                "provider_type": "demo",
                "price_per_part": 0.05,
                "currency_id": cls.eur.id,
                "company_id": False,
            }
        )
        cls.user = new_test_user(
            cls.env,
            login="tour_campaign",
            groups="base.group_user,sms_mailing.group_sms_manager",
            name="Sam Sales",
            lang="en_US",
        )
        fr = cls.env.ref("base.fr")
        cls.partners = cls.env["res.partner"].create(
            [
                {
                    "name": f"Client {index:02d}",
                    "mobile": f"+336123456{index:02d}",
                    "country_id": fr.id,
                }
                for index in range(20)
            ]
        )

    def _mailing(self, **vals):
        return (
            self.env["sms.mailing"]
            .with_user(self.user)
            .create(
                dict(
                    {
                        "name": "Soldes d'été",
                        "body": FRENCH,
                        "optout_link": False,
                        "provider_id": self.provider.id,
                        "partner_ids": [(6, 0, self.partners[:2].ids)],
                    },
                    **vals,
                )
            )
        )

    def test_smart_encoding_tour(self):
        mailing = self._mailing()
        self.start_tour(
            f"/odoo/action-sms_mailing.sms_mailing_action/{mailing.id}",
            "sms_mailing_smart_encoding",
            login=self.user.login,
        )
        self.assertTrue(mailing.smart_encoding)
        self.assertEqual(mailing.final_body_sample, FRENCH_SENT)

    def test_smart_encoding_tour_in_russian(self):
        self.env["res.lang"]._activate_lang("ru_RU")
        self.env["ir.module.module"]._load_module_terms(["sms_mailing"], ["ru_RU"])
        self.user.lang = "ru_RU"
        mailing = self._mailing()
        self.start_tour(
            f"/odoo/action-sms_mailing.sms_mailing_action/{mailing.id}",
            "sms_mailing_ru_smart_encoding",
            login=self.user.login,
        )
        self.assertTrue(mailing.smart_encoding)
        self.assertEqual(mailing.body, RUSSIAN)
        self.assertEqual(mailing.final_body_sample, RUSSIAN)

    def test_ab_test_tour(self):
        mailing = self._mailing(
            name="Spring A/B",
            body=False,
            partner_ids=[(6, 0, self.partners.ids)],
            ab_testing_schedule_datetime=fields.Datetime.now() + timedelta(days=1),
        )
        with test_ui_tours.TestUiTours._crons_run_when_triggered(self):
            self.start_tour(
                f"/odoo/action-sms_mailing.sms_mailing_action/{mailing.id}",
                "sms_mailing_ab_test",
                login=self.user.login,
            )
        mailing.invalidate_recordset()
        variant_a, variant_b = mailing.variant_ids
        self.assertEqual(mailing.state, "done")
        self.assertEqual(mailing.ab_testing_winner_id, variant_b)
        self.assertEqual((variant_a.sent_count, variant_b.sent_count), (5, 5))
        rest = mailing.sms_ids.filtered(lambda s: not s.sms_mailing_variant_id)
        self.assertEqual(len(rest), 10)
        self.assertEqual(set(rest.mapped("body")), {variant_b.body})
        self.assertEqual(
            sorted(mailing.sms_ids.partner_id.ids), sorted(self.partners.ids)
        )
