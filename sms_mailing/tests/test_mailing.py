from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from lxml import etree, html

from odoo import fields, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from ..models import sms_mailing_estimate as estimate_module
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
        self.assertAlmostEqual(mailing.cost_estimate, 0.2)
        self.assertEqual(mailing.currency_id, self.provider.currency_id)
        self.assertFalse(mailing.estimate_note, "exact for a small audience")
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
        self.assertEqual(
            preview.cost,
            tools.format_amount(self.env, 0.1, self.provider.currency_id),
            "in the provider's currency, in the user's language format",
        )

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

    def test_number_longer_than_e164_is_excluded_as_invalid(self):
        # phonenumbers calls it valid, but with +49 it has 16 digits, one more
        # than E.164 allows: no provider would take it.
        long_number = self.env["res.partner"].create(
            {
                "name": "Lang",
                "mobile": "25000000000000",
                "country_id": self.env.ref("base.de").id,
            }
        )
        self.assertFalse(long_number.phone_sanitized, "not sanitized")
        # A valid second number is the one the contact gets SMS on.
        both = self.env["res.partner"].create(
            {
                "name": "Zwei",
                "mobile": "25000000000000",
                "phone": "+49 1512 3456789",
                "country_id": self.env.ref("base.de").id,
            }
        )
        self.assertEqual(both.phone_sanitized, "+4915123456789")
        mailing = self._mailing(
            group_ids=[], partner_ids=[(6, 0, (self.ann | long_number).ids)]
        )
        self.assertEqual(mailing.recipient_estimate, 1, "the estimate agrees")
        self._launch_and_queue(mailing)
        reasons = {
            partner: (sms.state, sms.failure_type)
            for partner, sms in self._by_partner(mailing).items()
        }
        self.assertEqual(reasons[long_number], ("canceled", "sms_number_format"))
        self.assertEqual(reasons[self.ann], ("outgoing", False))

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
        self.assertEqual(mailing.recipient_count, 2, "recipients exclude the excluded")
        self.assertEqual(mailing.queued_count, 2)
        table = html.fromstring(str(mailing.exclusion_summary))
        self.assertEqual(
            [
                [cell.text_content() for cell in row]
                for row in table.xpath("//tbody/tr")
            ],
            [
                ["No phone number", "1"],
                ["Invalid phone number", "1"],
                ["Do not use SMS", "1"],
                ["Blacklisted number", "1"],
                ["Same number as another contact", "1"],
            ],
        )
        with self.mock_gateway():
            self._run_dispatch()
        self.assertEqual(sorted(self.sent_numbers), ["+33612345601", "+33612345602"])

    def test_failure_summary_lists_the_reasons(self):
        """The Failures tab: each reason with its count, the most frequent
        first, with the provider's error; beyond ten, one line for the rest."""
        mailing = self._mailing()
        sms = self._launch_and_queue(mailing).sorted("id")
        sms[0].write(
            {"state": "error", "failure_type": "sms_server", "error_message": "Boom"}
        )
        sms[1].write({"state": "error", "failure_type": "sms_credit"})
        mailing.invalidate_recordset()
        self.assertEqual(mailing.failed_count, 2)
        summary = html.fromstring(str(mailing.failure_summary))
        lines = [" ".join(li.text_content().split()) for li in summary.iter("li")]
        labels = dict(
            self.env["sms.sms"]._fields["failure_type"]._description_selection(self.env)
        )
        self.assertCountEqual(
            lines,
            [f"1: {labels['sms_server']} (Boom)", f"1: {labels['sms_credit']}"],
        )
        rows = [(count, "sms_server", f"Error {count}") for count in range(1, 13)]
        summary = html.fromstring(str(mailing._failure_summary(rows, labels)))
        lines = [" ".join(li.text_content().split()) for li in summary.iter("li")]
        self.assertEqual(len(lines), 11)
        self.assertEqual(lines[0], f"12: {labels['sms_server']} (Error 12)")
        self.assertEqual(lines[-1], "3 more with other reasons")

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

    def test_audience_is_frozen_when_queuing_starts(self):
        Partner = self.env["res.partner"]
        more = Partner.create(
            [
                {
                    "name": f"Tagged {i}",
                    "mobile": f"+3361234561{i}",
                    "category_id": [(4, self.tag.id)],
                }
                for i in range(3)
            ]
        )
        outsider = Partner.create({"name": "Outsider", "mobile": "+33612345620"})
        mailing = self._mailing()
        mailing.action_launch()
        self.assertEqual(mailing._queue_batch(batch_size=2), 2)
        self.assertEqual(mailing.sms_ids.partner_id, self.ann | self.bob)
        # the group changes after the first batch: the launch does not follow
        more[2].category_id = [(3, self.tag.id)]
        outsider.category_id = [(4, self.tag.id)]
        while not mailing.audience_done:
            mailing._queue_batch(batch_size=2)
        self.assertEqual(mailing.sms_ids.partner_id, self.ann | self.bob | more)
        self.assertEqual(set(mailing.sms_ids.mapped("state")), {"outgoing"})
        Batch = self.env["sms.mailing.batch"]
        self.assertFalse(Batch.search([("mailing_id", "=", mailing.id)]))

    def test_audience_emptied_before_queuing_queues_nothing(self):
        mailing = self._mailing()
        mailing.action_launch()
        # A launched mailing's audience cannot change through the ORM any more
        # (issue 9): the groups disappear behind its back.
        field = mailing._fields["group_ids"]
        self.env.cr.execute(
            SQL(
                "DELETE FROM %s WHERE %s = %s",
                SQL.identifier(field.relation),
                SQL.identifier(field.column1),
                mailing.id,
            )
        )
        mailing.invalidate_recordset(["group_ids"])
        self.env["sms.mailing"]._cron_process()
        self.assertTrue(mailing.audience_done)
        self.assertFalse(mailing.sms_ids)
        self.assertEqual(mailing.state, "done")

    def test_error_during_queuing_cancels_and_drops_the_rest(self):
        mailing = self._mailing()
        mailing.action_launch()
        mailing._queue_batch(batch_size=1)
        # The text of a launched mailing cannot change through the ORM any more
        # (issue 9): it is broken behind its back.
        self.env.cr.execute(
            "UPDATE sms_mailing SET body = %s WHERE id = %s",
            ["Hello {{ object.no_such_field }}", mailing.id],
        )
        mailing.invalidate_recordset(["body"])
        self.env["sms.mailing"]._cron_process()
        self.assertEqual(mailing.state, "canceled")
        self.assertIn("no_such_field", mailing.launch_error)
        self.assertEqual(len(mailing.sms_ids), 1)
        Batch = self.env["sms.mailing.batch"]
        self.assertFalse(Batch.search([("mailing_id", "=", mailing.id)]))

    def test_cancel_during_queuing_drops_the_rest_of_the_audience(self):
        Partner = self.env["res.partner"]
        Partner.create(
            [
                {
                    "name": f"Tagged {i}",
                    "mobile": f"+3361234561{i}",
                    "category_id": [(4, self.tag.id)],
                }
                for i in range(3)
            ]
        )
        mailing = self._mailing()
        mailing.action_launch()
        mailing._queue_batch(batch_size=2)
        Batch = self.env["sms.mailing.batch"]
        self.assertEqual(Batch.search_count([("mailing_id", "=", mailing.id)]), 2)
        mailing.action_cancel()
        self.assertFalse(Batch.search([("mailing_id", "=", mailing.id)]))
        self.env["sms.mailing"]._cron_process()
        self.assertEqual(len(mailing.sms_ids), 2)
        self.assertEqual(set(mailing.sms_ids.mapped("state")), {"canceled"})

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
        self.assertEqual(self._visible_retry_buttons(mailing), [None], "no question")
        mailing.action_retry_failed()
        self.assertEqual(mailing.state, "sending")
        self.gateway_calls.clear()
        with self.mock_gateway():
            self._run_dispatch()
        mailing.invalidate_recordset()
        self.assertEqual((mailing.failed_count, mailing.sent_count), (0, 2))
        self.assertEqual(self.sent_numbers, ["+33612345602"])

    def _visible_retry_buttons(self, mailing):
        """The Retry failed buttons the mailing's form shows: ``[confirm]``."""
        arch = mailing.get_views([(False, "form")])["views"]["form"]["arch"]
        values = {
            "state": mailing.state,
            "failed_count": mailing.failed_count,
            "in_doubt_count": mailing.in_doubt_count,
        }
        return [
            button.get("confirm")
            for button in etree.fromstring(arch).iter("button")
            if button.get("name") == "action_retry_failed"
            and not safe_eval(button.get("invisible") or "False", values)
        ]

    def test_messages_in_doubt_are_counted_listed_and_retried_after_a_question(self):
        mailing = self._mailing()
        self._launch_and_queue(mailing)
        # The request of the second message was cut off after it left: the
        # provider may have it.
        with self.mock_gateway(
            outcome=lambda name, m: (
                (api.PERMANENT, api.FAILURE_IN_DOUBT)
                if m.number == "+33612345602"
                else None
            )
        ):
            self._run_dispatch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertEqual((mailing.failed_count, mailing.in_doubt_count), (1, 1))
        action = mailing.action_view_in_doubt()
        self.assertEqual(action["name"], "Maybe sent")
        in_doubt = self.env["sms.sms"].search(action["domain"])
        self.assertEqual(in_doubt.mapped("number"), ["+33612345602"])
        # Retry failed asks first: the recipient may get it twice.
        [question] = self._visible_retry_buttons(mailing)
        self.assertIn("may receive them twice", question)
        self.assertIn("Check with the provider first", question)
        mailing.action_retry_failed()
        with self.mock_gateway():
            self._run_dispatch()
        mailing.invalidate_recordset()
        self.assertEqual((mailing.failed_count, mailing.in_doubt_count), (0, 0))
        self.assertEqual(self.sent_numbers.count("+33612345602"), 2)

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

    # -- what the user sees before launch and while following it ----------
    def test_estimate_from_the_texts_recipients_get(self):
        """A contact's name turning the text into UCS-2 is counted: the
        estimate never understates (issue 12, defect 2)."""
        lucia = self.env["res.partner"].create(
            {
                "name": "Lucía",
                "mobile": "+33612345609",
                "category_id": [(4, self.tag.id)],
            }
        )
        body = "Hello {{ object.name }}, " + "x" * 60  # over 70 with Lucía
        mailing = self._mailing(body=body)
        self.assertEqual(mailing.recipient_estimate, 3)
        self.assertEqual((mailing.body_parts, mailing.body_encoding), (2, "UCS-2"))
        self.assertEqual(mailing.parts_estimate, 4, "1 + 1 + 2 parts (Lucía)")
        self.assertAlmostEqual(mailing.cost_estimate, 0.4)
        sms = self._launch_and_queue(mailing)
        self.assertEqual(sum(sms.mapped("parts")), 4, "as estimated")
        self.assertEqual(mailing.parts_planned, 4, "the real total, at launch")
        self.assertEqual(self._by_partner(mailing)[lucia].encoding, "ucs2")

    def test_estimate_of_a_large_audience_is_labelled_approximate(self):
        self.env["res.partner"].create(
            [
                {
                    "name": f"Many {i}",
                    "mobile": f"+336123450{i:02d}",
                    "category_id": [(4, self.tag.id)],
                }
                for i in range(10, 40)
            ]
        )
        mailing = self._mailing()
        with (
            patch.object(estimate_module, "ESTIMATE_EXACT_LIMIT", 10),
            patch.object(estimate_module, "ESTIMATE_SAMPLE", 5),
        ):
            mailing.invalidate_recordset()
            self.assertEqual(mailing.recipient_estimate, 32)
            self.assertEqual(mailing.parts_estimate, 32)
            self.assertEqual(
                mailing.estimate_note,
                "Approximate: computed on 5 of 32 recipients.",
            )

    def test_estimate_follows_the_unsaved_form(self):
        """Recipients, parts and cost change while the audience is edited,
        before any Save (defect 3)."""
        form = Form(self.env["sms.mailing"])
        form.name = "Live"
        form.body = "Hello"
        self.assertEqual(form.recipient_estimate, 0)
        form.partner_ids.add(self.ann)
        self.assertEqual((form.recipient_estimate, form.parts_estimate), (1, 1))
        form.partner_ids.add(self.bob)
        self.assertEqual((form.recipient_estimate, form.parts_estimate), (2, 2))
        self.assertAlmostEqual(form.cost_estimate, 0.2)
        form.body = "x" * 161
        self.assertEqual((form.body_parts, form.parts_estimate), (2, 4))

    def test_too_long_is_said_on_the_form_and_by_check(self):
        self.provider.max_parts = 2
        mailing = self._mailing(body="x" * 400)
        self.assertEqual(mailing.body_parts, 3)
        self.assertIn("takes 3 SMS parts", mailing.too_long)
        self.assertIn("at most 2", mailing.too_long)
        self.assertIn("at most 2", mailing.launch_problem)
        preview = Form(
            self.env["sms.mailing.preview"].with_context(default_mailing_id=mailing.id)
        )
        self.assertIn("takes 3 SMS parts", preview.too_long)

    def test_check_with_an_empty_text_says_why(self):
        mailing = self._mailing(body="")
        with self.assertRaisesRegex(UserError, "Write the text of the mailing"):
            mailing.action_preview()

    def test_counters_open_their_own_titled_pages(self):
        mailing = self._mailing()
        self._launch_and_queue(mailing)
        with self.mock_gateway():
            self._run_dispatch()
            self.env["sms.sms"]._poll_statuses()
        mailing.invalidate_recordset()
        self.assertEqual(
            (mailing.recipient_count, mailing.delivered_count, mailing.delivered_ratio),
            (2, 2, 100),
        )
        for method, title in (
            ("action_view_all", "Recipients"),
            ("action_view_excluded", "Excluded"),
            ("action_view_sent", "Sent"),
            ("action_view_delivered", "Delivered"),
            ("action_view_failed", "Failed"),
        ):
            action = getattr(mailing, method)()
            self.assertEqual((action["name"], action["display_name"]), (title, title))
        delivered = mailing.action_view_delivered()
        self.assertEqual(delivered["views"][0][1], "graph", "opens on the graph")
        # The graph's group-by is one Odoo 18 knows (no "hour" interval).
        groups = self.env["sms.sms"].read_group(
            delivered["domain"], ["parts:sum"], delivered["context"]["graph_groupbys"]
        )
        self.assertEqual(sum(g["delivered_at_count"] for g in groups), 2)
        recipients = self.env["sms.sms"].search(mailing.action_view_all()["domain"])
        self.assertEqual(len(recipients), mailing.recipient_count)

    def test_test_send_explains_national_numbers(self):
        mailing = self._mailing()
        us_partner = self.env["res.partner"].create(
            {"name": "Render US", "country_id": self.env.ref("base.us").id}
        )
        wizard = self.env["sms.mailing.test"].create(
            {
                "mailing_id": mailing.id,
                "number": "0612345678",
                "partner_id": us_partner.id,
            }
        )
        with self.assertRaisesRegex(UserError, r"of United States.*\+33 6 12 34 56 78"):
            wizard.action_send()
        wizard.partner_id = (
            self.ann
        )  # a French contact: the national number is read in France
        with self.mock_gateway():
            wizard.action_send()
        test_sms = mailing.sms_ids.filtered("is_test")
        self.assertEqual(test_sms.number, "+33612345678")

    def test_done_once_every_message_left_the_queue(self):
        """Done when nothing waits in the queue; delivery counters keep
        updating afterwards (README: same definition)."""
        mailing = self._mailing()
        self._launch_and_queue(mailing)
        with self.mock_gateway():
            self._run_dispatch()
        self.env["sms.mailing"]._cron_process()
        mailing.invalidate_recordset()
        self.assertEqual(mailing.state, "done", "every message was handed over")
        self.assertEqual((mailing.sent_count, mailing.delivered_count), (2, 0))
        with self.mock_gateway():
            self.env["sms.sms"]._poll_statuses()
        mailing.invalidate_recordset()
        self.assertEqual(mailing.state, "done")
        self.assertEqual((mailing.delivered_count, mailing.delivered_ratio), (2, 100))
