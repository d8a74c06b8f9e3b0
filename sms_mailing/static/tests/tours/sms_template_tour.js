import { registry } from "@web/core/registry";

// A saved SMS template picked in the card's SMS dialog fills the message for
// the contact.
registry.category("web_tour.tours").add("sms_mailing_card_template", {
    steps: () => [
        {
            content: "Open the SMS dialog of the contact",
            trigger: ".o_form_view button[name='action_open_sms_send']",
            run: "click",
        },
        {
            content: "Pick the template",
            trigger: ".modal div[name='template_id'] input",
            run: "edit Pickup notice",
        },
        {
            content: "Choose it in the list",
            trigger: ".ui-autocomplete a:contains('Pickup notice')",
            run: "click",
        },
        {
            content: "The message is the template rendered for the contact",
            trigger:
                ".modal div[name='body'] textarea:value('Hello Tour Contact, your order is ready.')",
        },
        {
            content: "The counter follows the text",
            trigger: ".modal .o_sms_segment_counter[data-parts='1']",
        },
        {
            content: "Send it",
            trigger: ".modal button[name='action_send']",
            run: "click",
        },
        {
            content: "Sent, the dialog is closed",
            trigger: "body:not(:has(.modal)) .o_notification:contains('SMS sent')",
        },
    ],
});
