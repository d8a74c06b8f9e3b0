import { registry } from "@web/core/registry";

// A mailing after a crash: two messages may have been sent. The user sees how
// many, opens the list, and Retry failed asks before sending them again.
registry.category("web_tour.tours").add("sms_mailing_in_doubt", {
    steps: () => [
        {
            content: "The mailing says how many messages may have been sent",
            trigger: ".o_sms_in_doubt_alert:contains('Maybe sent: 2')",
        },
        {
            content: "Open them",
            trigger: ".o_sms_in_doubt_alert button:contains('See them')",
            run: "click",
        },
        {
            content: "The list shows the two messages in doubt, and only them",
            trigger:
                ".o_list_view:has(.o_data_row:contains('+33612990001')):has(.o_data_row:contains('+33612990002')):not(:has(.o_data_row:contains('+33612990003')))",
        },
        {
            content: "Back to the mailing",
            trigger: ".o_breadcrumb a:contains('Tour in doubt')",
            run: "click",
        },
        {
            content: "Retry failed",
            trigger: ".o_form_view button:contains('Retry failed')",
            run: "click",
        },
        {
            content: "It asks first: the recipients may get them twice",
            trigger: ".modal:contains('may receive them twice') .btn-primary",
            run: "click",
        },
        {
            content: "Queued again: nothing is in doubt any more",
            trigger: ".o_form_view:not(:has(.o_sms_in_doubt_alert))",
        },
    ],
});
