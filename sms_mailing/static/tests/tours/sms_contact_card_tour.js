import { registry } from "@web/core/registry";

// 1300 GSM-7 characters: 9 parts of 153, one more than the provider's 8.
const LONG_TEXT = "a".repeat(1300);

/**
 * A CRM user sends an SMS from a contact card: live counter and cost, the
 * inline "too long" refusal, the SMS in the chatter and the Sent SMS tab, then
 * the warning shown once the contact chose "Do not use SMS".
 * Started by sms_mailing/tests/test_ui_tours.py (provider at 0.05 EUR a part).
 */
registry.category("web_tour.tours").add("sms_mailing_contact_card", {
    steps: () => [
        {
            content: "The contact card is open",
            trigger: ".o_breadcrumb:contains('Lucía Tour')",
        },
        {
            content: "Open our SMS dialog from the card's SMS button",
            trigger: "button[name=action_open_sms_send]",
            run: "click",
        },
        {
            content: "The dialog is titled with the contact and shows the provider",
            trigger: ".modal .modal-title:contains('Send an SMS to Lucía Tour')",
        },
        {
            trigger: ".modal .o_field_widget[name=provider_id]:contains('Tour provider')",
        },
        {
            content: "Type a short text",
            trigger: ".modal div[name=body] textarea",
            run: "edit Hello Lucía, your order is ready.",
        },
        {
            content: "The counter follows the text",
            trigger:
                ".modal .o_sms_segment_info:contains('Characters: 33'):contains('UCS-2'):contains('Parts: 1 (70 characters per part)')",
        },
        {
            content: "The cost agrees with the counter: 1 part at 0.05",
            trigger: ".modal .o_sms_segment_cost[data-synced='1']:contains('Cost: 0.05')",
        },
        {
            trigger: ".modal .o_sms_segment_cost:contains('€')",
        },
        {
            content: "No warning for a text of one part",
            trigger: ".modal:not(:has(.o_sms_too_long))",
        },
        {
            content: "Type a text far too long",
            trigger: ".modal div[name=body] textarea",
            run: `edit ${LONG_TEXT}`,
        },
        {
            content: "Too long is said at once, before Send",
            trigger:
                ".modal .o_sms_too_long:contains('takes 9 SMS parts'):contains('at most 8')",
        },
        {
            trigger: ".modal .o_sms_segment_info:contains('Parts: 9 (153 characters per part)')",
        },
        {
            content: "The cost follows: 9 parts at 0.05",
            trigger: ".modal .o_sms_segment_cost[data-synced='1']:contains('Cost: 0.45')",
        },
        {
            content: "Shorten the text",
            trigger: ".modal div[name=body] textarea",
            run: "edit Hello Lucía, your order is ready.",
        },
        {
            trigger: ".modal .o_sms_segment_cost[data-synced='1']:contains('Cost: 0.05')",
        },
        {
            trigger: ".modal:not(:has(.o_sms_too_long))",
        },
        {
            content: "Send",
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "The user is told it was sent",
            trigger: ".o_notification:contains('SMS sent')",
        },
        {
            content: "The SMS is in the chatter",
            trigger: ".o-mail-Message:contains('Hello Lucía, your order is ready.')",
        },
        {
            content: "Open the Sent SMS tab",
            trigger: ".o_notebook .nav-link:contains('Sent SMS')",
            run: "click",
        },
        {
            content: "The SMS is listed with its number and state",
            trigger:
                ".o_field_widget[name=sms_ids] .o_data_row:contains('Hello Lucía, your order is ready.'):contains('+33612345678')",
        },
        {
            trigger: ".o_field_widget[name=sms_ids] .o_data_row .o_field_badge:contains('Delivered'), .o_field_widget[name=sms_ids] .o_data_row .o_field_badge:contains('Sent')",
        },
        {
            content: "The contact asks not to receive SMS",
            trigger: ".o_field_widget[name=sms_opt_out] input",
            run: "click",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
        {
            trigger: "button[name=action_open_sms_send]",
            run: "click",
        },
        {
            content: "The dialog warns before sending to a contact who opted out",
            trigger:
                ".modal .alert-warning:contains('Lucía Tour asked not to receive SMS (Do not use SMS)')",
        },
        {
            trigger: ".modal .modal-footer button:contains('Cancel')",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "The SMS button of the mobile field opens the same dialog",
            // Shown on hover.
            trigger: ".o_field_widget[name=mobile] .o_field_phone_sms:not(:visible)",
            run: "click",
        },
        {
            trigger:
                ".modal .modal-title:contains('Send an SMS to Lucía Tour'):not(:contains('Send SMS'))",
        },
        {
            trigger: ".modal .o_field_widget[name=number] input:value(+33612345678)",
        },
        {
            trigger: ".modal div[name=body] textarea",
            run: "edit Hi",
        },
        {
            content: "with our counter and cost",
            trigger: ".modal .o_sms_segment_cost[data-synced='1']:contains('Cost: 0.05')",
        },
        {
            trigger: ".modal .modal-footer button:contains('Cancel')",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Action > Send SMS opens it too",
            trigger: ".o_cp_action_menus button",
            run: "click",
        },
        {
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Send SMS')",
            run: "click",
        },
        {
            trigger: ".modal .modal-title:contains('Send an SMS to Lucía Tour')",
        },
        {
            trigger: ".modal .o_sms_segment_info:contains('Characters: 0')",
        },
        {
            trigger: ".modal .modal-footer button:contains('Cancel')",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});
