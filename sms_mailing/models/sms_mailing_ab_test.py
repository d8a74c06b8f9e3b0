"""A/B tests of a mailing: 2 or 3 text variants sent to a share of the
audience, then the winning text to the rest (as Odoo's Email and SMS
Marketing do)."""

from markupsafe import Markup

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..tools import ab_test, audience, segments


# One concern of the model per file, on purpose (the file list is the map).
# pylint: disable=consider-merging-classes-inherited
class SmsMailingAbTest(models.Model):
    _inherit = "sms.mailing"

    ab_testing_enabled = fields.Boolean(
        "A/B test",
        tracking=True,
        help="Send 2 or 3 variants of the text to a share of the audience, then "
        "the winning text to the rest.",
    )
    variant_ids = fields.One2many(
        "sms.mailing.variant", "mailing_id", "Variants", copy=True
    )
    ab_testing_pc = fields.Integer(
        "Test share (%)",
        default=10,
        tracking=True,
        help="The share of the audience that gets a variant during the test, "
        "split evenly between the variants.",
    )
    ab_testing_schedule_datetime = fields.Datetime(
        "Send the winner on",
        tracking=True,
        copy=False,
        help="When the winning text goes to the rest of the audience.",
    )
    ab_testing_winner_selection = fields.Selection(
        [
            (ab_test.CLICKS, "Most clicks"),
            (ab_test.OPTOUTS, "Fewest opt-outs"),
            (ab_test.MANUAL, "Chosen by hand"),
        ],
        "Winner selection",
        default=ab_test.CLICKS,
        required=True,
        tracking=True,
        help="Most clicks: the highest share of recipients who clicked a tracked "
        "link. Fewest opt-outs: the lowest share of recipients who opted out. "
        "Chosen by hand: press 'Send this variant to the rest' on the variant.",
    )
    ab_testing_winner_id = fields.Many2one(
        "sms.mailing.variant", "Winning variant", readonly=True, copy=False
    )
    ab_testing_completed = fields.Boolean(
        "Winner sent", readonly=True, copy=False, tracking=True
    )
    ab_test_counter = fields.Integer(
        "A/B test split counter", readonly=True, copy=False
    )
    ab_testing_description = fields.Char(
        "A/B test plan", compute="_compute_ab_testing_description"
    )

    _sql_constraints = [
        (
            "ab_testing_pc_range",
            "CHECK(ab_testing_pc IS NULL OR (ab_testing_pc >= 1 "
            "AND ab_testing_pc <= 99))",
            "The test share of an A/B test must be between 1% and 99%.",
        ),
    ]

    @api.constrains("variant_ids", "ab_testing_enabled")
    def _check_variant_count(self):
        for mailing in self:
            if len(mailing.variant_ids) > 3:
                raise ValidationError(_("An A/B test has 2 or 3 variants, not more."))

    @api.depends(
        "ab_testing_enabled",
        "ab_testing_pc",
        "variant_ids",
        "ab_testing_winner_selection",
        "ab_testing_schedule_datetime",
        "ab_testing_completed",
        "ab_testing_winner_id",
    )
    def _compute_ab_testing_description(self):
        for mailing in self:
            mailing.ab_testing_description = False
            count = len(mailing.variant_ids)
            if not mailing.ab_testing_enabled or not count:
                continue
            if mailing.ab_testing_completed:
                mailing.ab_testing_description = _(
                    "%(variant)s won: its text went to the rest of the audience.",
                    variant=mailing.ab_testing_winner_id.name,
                )
                continue
            rule = dict(
                self._fields["ab_testing_winner_selection"]._description_selection(
                    self.env
                )
            )[mailing.ab_testing_winner_selection]
            params = {
                "pc": mailing.ab_testing_pc,
                "count": count,
                "each": round(mailing.ab_testing_pc / count, 1),
                "rule": rule,
            }
            if mailing.ab_testing_schedule_datetime:
                mailing.ab_testing_description = _(
                    "%(pc)s%% of the audience gets one of the %(count)s variants "
                    "(%(each)s%% each); on %(date)s the rest gets the winner "
                    "(%(rule)s).",
                    date=tools.format_datetime(
                        self.env, mailing.ab_testing_schedule_datetime
                    ),
                    **params,
                )
            else:
                mailing.ab_testing_description = _(
                    "%(pc)s%% of the audience gets one of the %(count)s variants "
                    "(%(each)s%% each); then the rest gets the winner (%(rule)s).",
                    **params,
                )

    # ------------------------------------------------------------------
    # The text of each variant
    # ------------------------------------------------------------------
    def _ab_running(self):
        """Whether the mailing's texts are its variants' (test not decided)."""
        self.ensure_one()
        return (
            self.ab_testing_enabled
            and not self.ab_testing_completed
            and not self.env.context.get("sms_ab_variant")
        )

    def _ab_shadow(self, variant):
        """The mailing with ``variant``'s text, in memory: the estimate,
        checks and rendering of a variant are the mailing's own."""
        self.ensure_one()
        return self.with_context(sms_ab_variant=True).new(
            {"body": variant.body}, origin=self._origin or self
        )

    def _check_variants_editable(self):
        launched = self.filtered(lambda m: m.state != "draft")
        if launched:
            raise UserError(
                _(
                    "The mailing %(name)s is no longer a draft: its variants cannot "
                    "change any more. Duplicate it to send a new version.",
                    name=launched[0].name,
                )
            )

    @api.depends(
        "variant_ids.body",
        "ab_testing_enabled",
        "ab_testing_pc",
        "ab_testing_completed",
    )
    def _compute_estimate(self):
        return super()._compute_estimate()

    @api.depends("variant_ids.body", "ab_testing_enabled", "ab_testing_pc")
    def _compute_launch_problem(self):
        return super()._compute_launch_problem()

    @api.model
    def _ab_estimate_totals(self, results, recipients, tested):
        """``(parts, cost)`` of the whole mailing: each variant's share of the
        ``tested`` recipients at its own rate, the rest at the longest
        variant's parts and the dearest variant's cost."""
        count = len(results)
        share = [
            tested // count + (1 if index < tested % count else 0)
            for index in range(count)
        ]
        rest = recipients - tested
        per_recipient = [r.get("parts_estimate", 0) / recipients for r in results]
        cost_per_recipient = [r.get("cost_estimate", 0.0) / recipients for r in results]
        longest = max(range(count), key=lambda i: per_recipient[i])
        parts = sum(n * p for n, p in zip(share, per_recipient, strict=True))
        parts += rest * per_recipient[longest]
        cost = sum(n * c for n, c in zip(share, cost_per_recipient, strict=True))
        cost += rest * max(cost_per_recipient)
        return parts, cost

    def _estimate(self):
        """Each variant's texts counted for its share of the test; the rest
        of the audience counted with the longest variant (the winner is not
        known before the test)."""
        if not self._ab_running():
            return super()._estimate()
        variants = self.variant_ids.filtered(lambda v: (v.body or "").strip())
        if not variants:
            return super()._estimate()
        results = [self._ab_shadow(variant)._estimate() for variant in variants]
        recipients = results[0]["recipient_estimate"]
        values = {"recipient_estimate": recipients}
        if not recipients or not any(r.get("body_parts") for r in results):
            return values
        tested = ab_test.test_size(recipients, self.ab_testing_pc)
        rest = recipients - tested
        parts, cost = self._ab_estimate_totals(results, recipients, tested)
        if any(r.get("cost_unknown") for r in results):
            # A variant's cost unknown: the test's too (Unknown, not a part of it).
            values["cost_unknown"] = True
        notes = []
        for result in results:
            note = result.get("estimate_note")
            if note and note not in notes:
                notes.append(note)
        notes.append(
            _(
                "A/B test: variants to %(tested)s recipients, the winner to the "
                "other %(rest)s (counted with the longest variant).",
                tested=tested,
                rest=rest,
            )
        )
        values.update(
            parts_estimate=-int(-parts // 1),
            cost_estimate=0.0 if values.get("cost_unknown") else cost,
            body_parts=max(r.get("body_parts", 0) for r in results),
            body_encoding=segments.UCS2
            if any(r.get("body_encoding") == segments.UCS2 for r in results)
            else segments.GSM7,
            too_long=next((r["too_long"] for r in results if r.get("too_long")), False),
            estimate_note=" ".join(notes),
        )
        savings = [
            _("%(variant)s: %(saving)s", variant=v.name, saving=r["smart_saving"])
            for v, r in zip(variants, results, strict=True)
            if r.get("smart_saving")
        ]
        if savings:
            values["smart_saving"] = "; ".join(savings)
        return values

    def _check_launchable(self):
        if not self._ab_running():
            return super()._check_launchable()
        self.ensure_one()
        variants = self.variant_ids
        if not 2 <= len(variants) <= 3:
            raise UserError(_("An A/B test needs 2 or 3 variants of the text."))
        for variant in variants:
            if not (variant.body or "").strip():
                raise UserError(
                    _("Write the text of %(variant)s.", variant=variant.name)
                )
        if self.ab_testing_winner_selection != ab_test.MANUAL:
            start = (
                self.start_date
                if self.launch_type == "deferred"
                else fields.Datetime.now()
            )
            if not self.ab_testing_schedule_datetime:
                raise UserError(
                    _(
                        "Choose when the winning text goes to the rest of the "
                        "audience (Send the winner on)."
                    )
                )
            if start and self.ab_testing_schedule_datetime <= start:
                raise UserError(
                    _(
                        "The winner is sent after the test: choose a date after "
                        "the start of the mailing."
                    )
                )
        template = None
        for variant in variants:
            template = self._ab_shadow(variant)._check_launchable()
        recipients = self._audience_stats()["recipients"]
        tested = ab_test.test_size(recipients, self.ab_testing_pc)
        if tested < len(variants):
            raise UserError(
                _(
                    "The test share, %(pc)s%% of %(recipients)s recipients, gives "
                    "%(tested)s recipients for %(count)s variants: raise the share "
                    "or add recipients.",
                    pc=self.ab_testing_pc,
                    recipients=recipients,
                    tested=tested,
                    count=len(variants),
                )
            )
        return template

    def action_launch(self):
        self.filtered("ab_test_counter").write({"ab_test_counter": 0})
        result = super().action_launch()
        cron = self.env.ref("sms_mailing.ir_cron_sms_mailing_process")
        for mailing in self.filtered("ab_testing_enabled"):
            if mailing.ab_testing_schedule_datetime:
                # the winner leaves at the chosen time, not at the next run
                cron._trigger(at=mailing.ab_testing_schedule_datetime)
        return result

    # ------------------------------------------------------------------
    # Queuing the test
    # ------------------------------------------------------------------
    def _plan_batch(self, rows, seen):
        plan, to_render, variant_of = super()._plan_batch(rows, seen)
        if not self._ab_running() or not to_render:
            return plan, to_render, variant_of
        variants = self.variant_ids.sorted(lambda v: (v.sequence, v.id))
        split = ab_test.assign(
            to_render, self.ab_test_counter, self.ab_testing_pc, len(variants)
        )
        self.ab_test_counter = split.counter
        held = set(split.held)
        if held:
            # sudo: the queuing cron's own bookkeeping (see sms.mailing.batch)
            self.env["sms.mailing.held"].sudo().create(
                {
                    "mailing_id": self.id,
                    "partner_ids_text": ",".join(
                        str(pid)
                        for pid in dict.fromkeys(map(audience.partner_of, split.held))
                    ),
                }
            )
        plan = [line for line in plan if line[0] not in held]
        to_render = [key for key in to_render if key not in held]
        variant_of = {key: variants[index].id for key, index in split.tested.items()}
        return plan, to_render, variant_of

    def _batch_texts(self, keys, sms_ids, template, variant_of):
        if not variant_of:
            return super()._batch_texts(keys, sms_ids, template, variant_of)
        texts = {}
        for variant in self.variant_ids:
            own = [key for key in keys if variant_of.get(key) == variant.id]
            if not own:
                continue
            shadow = self._ab_shadow(variant)
            texts.update(
                shadow._batch_texts(
                    own,
                    {key: sms_ids[key] for key in own if key in sms_ids},
                    shadow._template(),
                    {},
                )
            )
        return texts

    def _waits_for_more(self):
        self.ensure_one()
        return (
            self.ab_testing_enabled and not self.ab_testing_completed
        ) or super()._waits_for_more()

    # ------------------------------------------------------------------
    # The winner
    # ------------------------------------------------------------------
    def _ab_variant_stats(self):
        self.ensure_one()
        variants = self.variant_ids.sorted(lambda v: (v.sequence, v.id))
        return variants, [
            ab_test.VariantStats(
                index, variant.sent_count, variant.clicked_count, variant.optout_count
            )
            for index, variant in enumerate(variants)
        ]

    def action_send_winner(self):
        """Send the winning text to the rest of the audience now (the winner by
        the mailing's rule; with "Chosen by hand", the variant chosen)."""
        self.ensure_one()
        variants, stats = self._ab_variant_stats()
        index = ab_test.winner(stats, self.ab_testing_winner_selection)
        if index is None:
            raise UserError(
                _(
                    "Choose the winning variant: press 'Send this variant to the "
                    "rest' on its line."
                )
            )
        return self._ab_send_winner(variants[index])

    def _ab_check_winner(self, variant):
        """Raise when ``variant`` cannot be sent as the winner of this
        mailing's A/B test now."""
        self.ensure_one()
        if not self.ab_testing_enabled or variant.mailing_id != self:
            raise UserError(_("This variant is not part of an A/B test."))
        if self.ab_testing_completed:
            raise UserError(
                _(
                    "The winner of %(mailing)s was already sent: %(variant)s.",
                    mailing=self.name,
                    variant=self.ab_testing_winner_id.name,
                )
            )
        if self.state != "sending" or not self.audience_done:
            raise UserError(
                _(
                    "The test of %(mailing)s is not sent yet: choose the winner "
                    "once its variants are sent.",
                    mailing=self.name,
                )
            )

    def _ab_release_held(self, variant):
        """Make ``variant``'s text the mailing's and queue the recipients held
        during the test as batches."""
        # The text is the mailing's from now on: written as it was launched
        # (a launched mailing's text is otherwise locked), then the held
        # recipients are queued with it by the queuing cron, as the launcher.
        self.env["sms.mailing"].flush_model()
        self.env.cr.execute(
            SQL("UPDATE sms_mailing SET body = %s WHERE id = %s", variant.body, self.id)
        )
        self.invalidate_recordset(["body"])
        self.env["sms.mailing.batch"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO sms_mailing_batch (mailing_id, sequence, partner_ids_text)
                SELECT mailing_id, row_number() OVER (ORDER BY id), partner_ids_text
                  FROM sms_mailing_held WHERE mailing_id = %s
                """,
                self.id,
            )
        )
        self.env.cr.execute(
            SQL("DELETE FROM sms_mailing_held WHERE mailing_id = %s", self.id)
        )

    def _ab_send_winner(self, variant):
        """``variant``'s text becomes the mailing's and goes to the recipients
        held during the test."""
        self._ab_check_winner(variant)
        self.check_access("write")
        self._ab_release_held(variant)
        # sudo: the state of the queuing, written by whoever decides the
        # winner (a manager, or the cron at the chosen time).
        self.sudo().write(
            {
                "ab_testing_completed": True,
                "ab_testing_winner_id": variant.id,
                "audience_done": False,
            }
        )
        self.message_post(
            body=Markup("<p>%s</p><p>%s</p>")
            % (
                _(
                    "%(variant)s won the A/B test: its text goes to the rest of "
                    "the audience.",
                    variant=variant.name,
                ),
                variant.body,
            )
        )
        self.env.ref("sms_mailing.ir_cron_sms_mailing_process")._trigger()
        return True

    @api.model
    def _cron_process(self, time_budget=None):
        self._ab_send_due_winners()
        return super()._cron_process(time_budget=time_budget)

    @api.model
    def _ab_send_due_winners(self):
        due = self.search(
            [
                ("state", "=", "sending"),
                ("audience_done", "=", True),
                ("ab_testing_enabled", "=", True),
                ("ab_testing_completed", "=", False),
                ("ab_testing_winner_selection", "!=", ab_test.MANUAL),
                ("ab_testing_schedule_datetime", "<=", fields.Datetime.now()),
            ]
        )
        for mailing in due:
            # Decided as the user who launched (the queuing cron's rule).
            launcher = mailing.launched_by_id or mailing.user_id or mailing.create_uid
            mailing = mailing.with_user(launcher).with_company(mailing.company_id)
            try:
                mailing.action_send_winner()
            except UserError as err:
                # sudo: the cron records why on the mailing it runs
                mailing.sudo().message_post(body=str(err))
