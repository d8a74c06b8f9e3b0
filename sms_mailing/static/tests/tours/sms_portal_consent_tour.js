import { registry } from "@web/core/registry";

// A portal customer stops marketing SMS on My account, then takes it back.
registry.category("web_tour.tours").add("sms_mailing_portal_consent", {
    steps: () => [
        {
            content: "The page says the customer receives marketing SMS",
            trigger: ".o_sms_consent_state:contains('You receive our marketing SMS')",
        },
        {
            content: "Stop marketing SMS",
            trigger: "button.o_sms_consent_optout",
            run: "click",
        },
        {
            content: "The opt-out is confirmed",
            trigger: ".o_sms_consent_done:contains('You will no longer receive our marketing SMS.')",
        },
        {
            content: "The state says so",
            trigger: ".o_sms_consent_state:contains('You do not receive our marketing SMS.')",
        },
        {
            content: "Undo: receive marketing SMS again",
            trigger: "button.o_sms_consent_optin",
            run: "click",
        },
        {
            content: "The undo is confirmed",
            trigger: ".o_sms_consent_done:contains('You will receive our marketing SMS again.')",
        },
        {
            content: "The stop button is offered again",
            trigger: "button.o_sms_consent_optout",
        },
    ],
});
