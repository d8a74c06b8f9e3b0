import { registry } from "@web/core/registry";

// A sales manager runs an A/B test of two texts on 20 contacts: half of them
// get a variant (5 each), then the chosen variant goes to the other 10.
registry.category("web_tour.tours").add("sms_mailing_ab_test", {
    steps: () => [
        {
            content: "Turn the A/B test on",
            trigger: "div[name='ab_testing_enabled'] input",
            run: "click",
        },
        {
            content: "Open the A/B Test tab",
            trigger: ".o_notebook .nav-link:contains('A/B Test')",
            run: "click",
        },
        {
            content: "Half of the audience takes part in the test",
            trigger: "div[name='ab_testing_pc'] input",
            run: "edit 50",
        },
        {
            content: "Add variant A",
            trigger: "div[name='variant_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger:
                "div[name='variant_ids'] .o_data_row:eq(0).o_selected_row div[name='body'] textarea",
            run: "edit Spring sale: -20% today in our shops",
        },
        {
            content: "Add variant B",
            trigger: "div[name='variant_ids'] .o_field_x2many_list_row_add a",
            run: "click",
        },
        {
            trigger:
                "div[name='variant_ids'] .o_data_row:eq(1).o_selected_row div[name='body'] textarea",
            run:
                "edit Our spring sale starts today: 20% off everything in our shops and online, " +
                "with free delivery and returns, until Sunday evening. Come early, the best " +
                "pieces go first!",
        },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved" },
        {
            content: "The plan of the test",
            trigger:
                ".o_sms_ab_plan:contains('50% of the audience gets one of the 2 variants (25.0% each)')",
        },
        {
            content: "Each variant's parts: A 1, B 2",
            trigger:
                "div[name='variant_ids'] .o_data_row:eq(0) td[name='body_parts']:contains('1')",
        },
        {
            trigger:
                "div[name='variant_ids'] .o_data_row:eq(1) td[name='body_parts']:contains('2')",
        },
        {
            content: "The estimate: 5 x 1 + 5 x 2 parts, the other 10 counted with B's 2",
            trigger: ".o_field_widget[name=parts_estimate]:contains('35')",
        },
        { trigger: ".o_field_widget[name=cost_estimate]:contains('1.75'):contains('€')" },
        {
            content: "Launch",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_launch]:visible",
            run: "click",
        },
        {
            trigger: ".modal:contains('Launch this mailing?') .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The test is sent; the mailing waits for the winner",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Sending')",
        },
        { trigger: ".o_notebook .nav-link:contains('A/B Test')", run: "click" },
        {
            content: "Counters per variant: 5 sent each",
            trigger:
                "div[name='variant_ids'] .o_data_row:eq(0) td[name='sent_count']:contains('5')",
        },
        {
            trigger:
                "div[name='variant_ids'] .o_data_row:eq(1) td[name='sent_count']:contains('5')",
        },
        { trigger: ".o_sms_stat_sent .o_stat_value:contains('10')" },
        {
            content: "Choose variant B by hand",
            trigger:
                "div[name='variant_ids'] .o_data_row:eq(1) button[name=action_select_as_winner]",
            run: "click",
        },
        {
            trigger: ".modal:contains('Send this variant to the rest') .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The rest got B: the mailing runs to Done, 20 sent",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Done')",
        },
        { trigger: ".o_sms_stat_sent .o_stat_value:contains('20 · 100%')" },
        { trigger: ".o_notebook .nav-link:contains('A/B Test')", run: "click" },
        {
            trigger: ".o_sms_ab_plan:contains('Variant B won: its text went to the rest of the audience.')",
        },
    ],
});
