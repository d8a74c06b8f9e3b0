from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from ..tools import provider as api
from .common import SmsProviderCase


@tagged("post_install", "-at_install")
class TestMailing(SmsProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env["sms.provider"].create(
            {"name": "Main", "provider_type": "demo", "price_per_part": 0.1}
        )
        cls.tag = cls.env["res.partner.category"].create({"name": "SMS test audience"})
        Partner = cls.env["res.partner"]
        cls.acme = Partner.create({"name": "Acme Corp", "is_company": True})
        cls.ann = Partner.create(
            {
                "name": "Ann Smith",
                "mobile": "+33612345601",
                "country_id": cls.country_fr.id,
                "parent_id": cls.acme.id,
                "category_id": [(4, cls.tag.id)],
            }
        )
        cls.bob = Partner.create(
            {
                "name": "Bob",
                "mobile": "06 12 34 56 02",
                "country_id": cls.country_fr.id,
                "category_id": [(4, cls.tag.id)],
            }
        )
        cls.group = cls.env["sms.mailing.group"].create(
            {"name": "Tagged", "domain": f"[('category_id', 'in', [{cls.tag.id}])]"}
        )

    def _mailing(self, **vals):
        values = {
            "name": "Test mailing",
            "body": "Hello {{ object.name }}",
            "group_ids": [(6, 0, self.group.ids)],
            # texts compared as written: the opt-out line is test_campaign's
            "optout_link": False,
        }
        values.update(vals)
        return self.env["sms.mailing"].create(values)

    def _launch_and_queue(self, mailing):
        mailing.action_launch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        return mailing.sms_ids

    def _by_partner(self, mailing):
        return {sms.partner_id: sms for sms in mailing.sms_ids}

    # -- launch types ------------------------------------------------------
    def test_immediate_launch_to_done(self):
        mailing = self._mailing()
        self.assertEqual(mailing.recipient_estimate, 2)
        self.assertEqual(mailing.parts_estimate, 2)
        self.assertEqual(
            mailing.cost_estimate,
            "0.20 USD"
            if self.provider.currency_id.name == "USD"
            else mailing.cost_estimate,
        )
        mailing.action_launch()
        self.assertEqual(mailing.state, "sending")
        self.env["sms.mailing"]._cron_process()
        sms = mailing.sms_ids
        self.assertEqual(sorted(sms.mapped("body")), ["Hello Ann Smith", "Hello Bob"])
        self.assertEqual(sorted(sms.mapped("number")), ["+33612345601", "+33612345602"])
        self.assertEqual(set(sms.mapped("state")), {"outgoing"})
        self.assertEqual(mailing.state, "sending", "not done while messages are queued")
        with self.mock_gateway():
            self._run_dispatch()
            self.env["sms.sms"]._poll_statuses()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertEqual(mailing.state, "done")
        self.assertEqual(
            (mailing.total_count, mailing.sent_count, mailing.delivered_count),
            (2, 2, 2),
        )
        self.assertEqual(mailing.parts_total, 2)
        self.assertAlmostEqual(mailing.cost_total, 0.2)
        self.assertEqual(mailing.progress, 100.0)
        self.assertEqual(sorted(self.sent_numbers), ["+33612345601", "+33612345602"])

    def test_deferred_needs_future_start_date(self):
        with self.assertRaises(ValidationError):
            self._mailing(launch_type="deferred")
        past = self._mailing(
            launch_type="deferred",
            start_date=fields.Datetime.now() - timedelta(hours=1),
        )
        with self.assertRaisesRegex(UserError, "start date in the future"):
            past.action_launch()
        self.assertEqual(past.state, "draft")

    def test_deferred_is_queued_when_start_date_is_reached(self):
        start = datetime(2030, 5, 1, 8, 0)
        mailing = self._mailing(launch_type="deferred", start_date=start)
        with freeze_time(start - timedelta(days=1)):
            mailing.action_launch()
            self.assertEqual(mailing.state, "scheduled")
            self.env["sms.mailing"]._cron_process()
            self.assertEqual(mailing.state, "scheduled")
            self.assertFalse(mailing.sms_ids)
        with freeze_time(start + timedelta(minutes=1)):
            self.env["sms.mailing"]._cron_process()
            self.assertEqual(mailing.state, "sending")
            self.assertEqual(len(mailing.sms_ids), 2)

    def test_immediate_mailing_start_date_is_cleared(self):
        form = Form(self.env["sms.mailing"])
        form.name = "x"
        form.launch_type = "deferred"
        form.start_date = datetime(2030, 1, 1)
        form.launch_type = "immediate"
        self.assertFalse(form.start_date)

    # -- macros ------------------------------------------------------------
    def test_macros_plain_related_first_last_name(self):
        mailing = self._mailing(
            body="{{ object.sms_first_name }}/{{ object.sms_last_name }}/"
            "{{ object.parent_id.name }}/{{ object.country_id.name }}/{{object.name}}",
        )
        self._launch_and_queue(mailing)
        by_partner = self._by_partner(mailing)
        self.assertEqual(
            by_partner[self.ann].body, "Ann/Smith/Acme Corp/France/Ann Smith"
        )
        self.assertEqual(by_partner[self.bob].body, "Bob///France/Bob")

    def test_unknown_macro_is_reported_at_preview_and_launch(self):
        mailing = self._mailing(body="Hi {{ object.nickname }}")
        with self.assertRaisesRegex(UserError, r"\{\{ object.nickname \}\}"):
            mailing.action_preview()
        with self.assertRaisesRegex(UserError, r"\{\{ object.nickname \}\}"):
            mailing.action_launch()
        self.assertEqual(mailing.state, "draft")
        self.assertFalse(mailing.sms_ids)
        broken = self._mailing(body="Hi {{ object.name")
        with self.assertRaisesRegex(UserError, "not closed"):
            broken.action_launch()

    def test_preview_renders_for_chosen_contact(self):
        mailing = self._mailing(body="Привет, {{ object.name }}")
        preview = self.env["sms.mailing.preview"].create(
            {"mailing_id": mailing.id, "partner_id": self.bob.id}
        )
        self.assertEqual(preview.body, "Привет, Bob")
        self.assertEqual((preview.parts, preview.encoding), (1, "UCS-2"))
        self.assertEqual(preview.cost, f"0.10 {self.provider.currency_id.name}")

    # -- audience ----------------------------------------------------------
    def test_group_is_evaluated_at_launch(self):
        mailing = self._mailing()
        late = self.env["res.partner"].create(
            {
                "name": "Late",
                "mobile": "+33612345603",
                "category_id": [(4, self.tag.id)],
            }
        )
        self._launch_and_queue(mailing)
        self.assertIn(late, mailing.sms_ids.partner_id)

    def test_exclusions_are_recorded_with_reasons(self):
        Partner = self.env["res.partner"]
        dup = Partner.create({"name": "Dup", "mobile": "+33612345601"})
        optout = Partner.create(
            {"name": "Out", "mobile": "+33612345604", "sms_opt_out": True}
        )
        black = Partner.create({"name": "Black", "mobile": "+33612345605"})
        self.env["phone.blacklist"]._add(["+33612345605"])
        missing = Partner.create({"name": "Nobody"})
        invalid = Partner.create({"name": "Wrong", "mobile": "12"})
        mailing = self._mailing(
            partner_ids=[(6, 0, (dup | optout | black | missing | invalid).ids)]
        )
        self.assertEqual(mailing.recipient_estimate, 2)
        self._launch_and_queue(mailing)
        reasons = {
            partner: (sms.state, sms.failure_type)
            for partner, sms in self._by_partner(mailing).items()
        }
        self.assertEqual(reasons[optout], ("canceled", "sms_optout"))
        self.assertEqual(reasons[black], ("canceled", "sms_blacklist"))
        self.assertEqual(reasons[missing], ("canceled", "sms_number_missing"))
        self.assertEqual(reasons[invalid], ("canceled", "sms_number_format"))
        # Ann comes first (lower id) and gets the number; Dup is the duplicate.
        self.assertEqual(reasons[self.ann], ("outgoing", False))
        self.assertEqual(reasons[dup], ("canceled", "sms_duplicate"))
        self.assertEqual((mailing.total_count, mailing.excluded_count), (7, 5))
        self.assertEqual(mailing.queued_count, 2)
        self.assertIn("Opted Out: 1", mailing.exclusion_summary)
        with self.mock_gateway():
            self._run_dispatch()
        self.assertEqual(sorted(self.sent_numbers), ["+33612345601", "+33612345602"])

    def test_dedupe_across_batches(self):
        Partner = self.env["res.partner"]
        twins = Partner.create(
            [{"name": f"Twin {i}", "mobile": "+33612345699"} for i in range(5)]
        )
        mailing = self._mailing(group_ids=False, partner_ids=[(6, 0, twins.ids)])
        mailing.action_launch()
        while not mailing.audience_done:
            mailing._queue_batch(batch_size=2)
        states = sorted(mailing.sms_ids.mapped(lambda s: (s.state, s.failure_type)))
        self.assertEqual(states.count(("outgoing", False)), 1)
        self.assertEqual(states.count(("canceled", "sms_duplicate")), 4)

    # -- cancel, copy, retry, test -------------------------------------------
    def test_cancel_stops_sending(self):
        mailing = self._mailing()
        self._launch_and_queue(mailing)
        mailing.action_cancel()
        self.assertEqual(mailing.state, "canceled")
        self.assertEqual(set(mailing.sms_ids.mapped("state")), {"canceled"})
        with self.mock_gateway():
            self._run_dispatch()
        self.assertEqual(self.gateway_calls, [])

    def test_cancel_before_queuing_sends_nothing(self):
        mailing = self._mailing()
        mailing.action_launch()
        mailing.action_cancel()
        self.env["sms.mailing"]._cron_process()
        self.assertFalse(mailing.sms_ids)

    def test_copy_is_a_draft(self):
        mailing = self._mailing()
        self._launch_and_queue(mailing)
        copy = mailing.copy()
        self.assertEqual(copy.state, "draft")
        self.assertEqual(copy.name, "Test mailing (copy)")
        self.assertFalse(copy.sms_ids)
        self.assertEqual(copy.body, mailing.body)
        self.assertEqual(copy.group_ids, mailing.group_ids)
        self.assertEqual(copy.user_id, self.env.user)

    def test_retry_failed(self):
        mailing = self._mailing()
        self._launch_and_queue(mailing)
        with self.mock_gateway(
            outcome=lambda name, m: (
                (api.PERMANENT, "sms_credit") if m.number == "+33612345602" else None
            )
        ):
            self._run_dispatch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertEqual((mailing.failed_count, mailing.sent_count), (1, 1))
        self.assertEqual(mailing.state, "done")
        mailing.action_retry_failed()
        self.assertEqual(mailing.state, "sending")
        self.gateway_calls.clear()
        with self.mock_gateway():
            self._run_dispatch()
        mailing.invalidate_recordset()
        self.assertEqual((mailing.failed_count, mailing.sent_count), (0, 2))
        self.assertEqual(self.sent_numbers, ["+33612345602"])

    def test_test_send_is_not_sent_again(self):
        mailing = self._mailing()
        wizard = self.env["sms.mailing.test"].create(
            {
                "mailing_id": mailing.id,
                "number": "+33612345698",
                "partner_id": self.ann.id,
            }
        )
        with self.mock_gateway():
            wizard.action_send()
        test_sms = self.env["sms.sms"].search([("sms_mailing_id", "=", mailing.id)])
        self.assertTrue(test_sms.is_test)
        self.assertEqual(test_sms.body, "Hello Ann Smith")
        self.assertEqual(self.sent_numbers, ["+33612345698"])
        test_sms.write({"state": "outgoing"})
        with self.mock_gateway():
            self.assertEqual(self._run_dispatch(), 0)
        self.assertEqual(self.sent_numbers, ["+33612345698"])
        self.assertEqual(mailing.total_count, 0, "tests are not part of the statistics")

    # -- quiet hours ---------------------------------------------------------
    def test_quiet_hours_hold_messages_until_morning(self):
        mailing = self._mailing(quiet_hours=True, quiet_start=21.0, quiet_end=9.0)
        # 22:30 in Paris (UTC+1 in January).
        with freeze_time("2030-01-10 21:30:00"):
            self._launch_and_queue(mailing)
            with self.mock_gateway():
                self._run_dispatch()
            self.assertEqual(self.gateway_calls, [])
            for sms in mailing.sms_ids:
                self.assertEqual(sms.state, "outgoing")
                self.assertEqual(sms.next_attempt_at, datetime(2030, 1, 11, 8, 0))
                self.assertEqual(sms.attempts, 0, "waiting is not an attempt")
        with freeze_time("2030-01-11 08:00:30"):
            with self.mock_gateway():
                self._run_dispatch()
        self.assertEqual(len(self.sent_numbers), 2)
        self.assertEqual(set(mailing.sms_ids.mapped("state")), {"pending"})

    def test_quiet_hours_use_contact_timezone(self):
        self.bob.tz = "Asia/Tokyo"  # 06:30 in Tokyo: quiet; Ann in Paris: 22:30
        mailing = self._mailing(quiet_hours=True, quiet_start=23.0, quiet_end=7.0)
        with freeze_time("2030-01-10 21:30:00"):
            self._launch_and_queue(mailing)
            with self.mock_gateway():
                self._run_dispatch()
        self.assertEqual(self.sent_numbers, ["+33612345601"])
        self.assertEqual(
            self._by_partner(mailing)[self.bob].next_attempt_at,
            datetime(2030, 1, 10, 22, 0),
        )

    # -- refused launches ----------------------------------------------------
    def test_refused_launches(self):
        cases = [
            (dict(group_ids=False), "audience is empty"),
            (dict(body=""), "Write the text"),
            (dict(body="x" * 161 * 9), "at most 8"),
        ]
        for vals, message in cases:
            mailing = self._mailing(**vals)
            with self.assertRaisesRegex(UserError, message):
                mailing.action_launch()
            self.assertEqual(mailing.state, "draft")
        nobody = self.env["res.partner"].create({"name": "No number"})
        mailing = self._mailing(group_ids=False, partner_ids=[(6, 0, nobody.ids)])
        with self.assertRaisesRegex(UserError, "excluded"):
            mailing.action_launch()
        self.provider.active = False
        with self.assertRaisesRegex(UserError, "No active SMS provider"):
            self._mailing().action_launch()

    def test_import_saved_filter_as_group(self):
        saved = self.env["ir.filters"].create(
            {
                "name": "French contacts",
                "model_id": "res.partner",
                "domain": f"[('country_id', '=', {self.country_fr.id})]",
            }
        )
        group = self.env["sms.mailing.group"].create(
            {"name": "FR", "filter_id": saved.id}
        )
        group.action_import_filter()
        self.assertEqual(group.domain, saved.domain)
        self.assertIn(self.ann, self.env["res.partner"].search(group._get_domain()))
