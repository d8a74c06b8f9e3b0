import { registry } from "@web/core/registry";

// The recipient's side of an opt-out link: one click to stop, one to undo.
registry.category("web_tour.tours").add("sms_mailing_stop_page", {
    steps: () => [
        {
            content: "The page names the number, masked",
            trigger: ".o_sms_stop_number:contains('+336 •• •• •• 01')",
        },
        {
            content: "Stop SMS campaigns",
            trigger: "button:contains('Stop SMS campaigns')",
            run: "click",
        },
        {
            content: "The opt-out is confirmed",
            trigger: ".o_sms_stop_done:contains('will no longer receive')",
        },
        {
            content: "Undo",
            trigger: "button:contains('Receive SMS campaigns again')",
            run: "click",
        },
        {
            content: "The undo is confirmed",
            trigger: ".o_sms_stop_undone",
        },
        {
            content: "The stop button is offered again",
            trigger: "button:contains('Stop SMS campaigns')",
        },
    ],
});
