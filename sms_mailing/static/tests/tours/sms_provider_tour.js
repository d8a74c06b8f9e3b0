import { registry } from "@web/core/registry";

/**
 * An administrator adds an SMS.ru provider and a GSM modem provider: no type
 * is chosen for them, SMS.ru bills in roubles from its cost API, the modem has
 * no sender, provider actions appear only once the record exists, and an
 * active simulated provider is flagged. Started by
 * sms_mailing/tests/test_ui_tours.py (needs sms_provider_smsru and
 * sms_provider_modem; "Tour provider" is an active simulated one).
 */
registry.category("web_tour.tours").add("sms_mailing_providers", {
    steps: () => [
        {
            content: "An active simulated provider is flagged",
            trigger: ".o_data_row .o_data_cell:contains('Tour provider')",
            run: "click",
        },
        {
            trigger: ".o_sms_provider_simulated_warning:contains('nobody receives them')",
        },
        {
            trigger: ".o_breadcrumb a:contains('SMS Providers')",
            run: "click",
        },
        {
            content: "Add an SMS.ru provider",
            trigger: ".o_control_panel button.o_list_button_add",
            run: "click",
        },
        {
            content: "No type chosen for the user, no simulated warning",
            trigger:
                ".o_form_view:not(:has(.o_sms_provider_simulated_warning)) .o_field_widget[name=provider_type] select:value(false)",
        },
        {
            content: "Nothing to call on a provider that does not exist yet",
            trigger:
                ".o_form_view:not(:has(button[name=action_check_availability])):not(:has(button[name=action_smsru_register_callback]))",
        },
        {
            content: "The alert recipients are visible with their threshold",
            trigger: ".o_form_label:contains('Warn these users')",
        },
        {
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour SMS.ru",
        },
        {
            trigger: ".o_field_widget[name=provider_type] select",
            run: 'select "smsru"',
        },
        {
            content: "SMS.ru bills in roubles",
            trigger: ".o_field_widget[name=currency_id] input:value(RUB)",
        },
        {
            content: "Costs come from SMS.ru, not from a price per part",
            trigger:
                ".o_form_view:not(:has(.o_field_widget[name=price_per_part])) div:contains('Costs come from SMS.ru itself')",
        },
        {
            content: "An HTTP provider sends requests in parallel",
            trigger:
                ".o_form_view:has(.o_field_widget[name=inflight_requests] input):has(.o_field_widget[name=dispatch_lanes] input)",
        },
        {
            content: "The sender is SMS.ru's own, on its tab",
            trigger: ".o_form_view:not(:has(.o_field_widget[name=sender]))",
        },
        {
            trigger: ".o_notebook .nav-link:contains('SMS.ru')",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=smsru_api_id] input",
            run: "edit tour-api-id",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
        {
            content: "Saved: the SMS.ru actions are offered",
            trigger: "button[name=action_smsru_register_callback]",
        },
        {
            trigger: "button[name=action_check_availability]",
        },
        {
            trigger: ".o_breadcrumb a:contains('SMS Providers')",
            run: "click",
        },
        {
            content: "Add a GSM modem provider",
            trigger: ".o_control_panel button.o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour modem",
        },
        {
            trigger: ".o_field_widget[name=provider_type] select",
            run: 'select "modem"',
        },
        {
            content:
                "A modem sends one message at a time: no requests in flight nor parallel lanes to set",
            trigger:
                ".o_form_view:not(:has(.o_field_widget[name=inflight_requests])):not(:has(.o_field_widget[name=dispatch_lanes])) .o_field_widget[name=max_attempts]",
        },
        {
            content: "A SIM card has no sender to choose",
            trigger:
                ".o_form_view:not(:has(.o_field_widget[name=sender])) .o_notebook .nav-link:contains('GSM modem')",
            run: "click",
        },
        {
            trigger: ".o_form_view:not(:has(button[name=action_modem_poll]))",
        },
        {
            trigger: ".o_field_widget[name=modem_port] input",
            run: "edit socket://127.0.0.1:1",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
        {
            trigger: "button[name=action_modem_poll]",
        },
        {
            trigger: ".o_breadcrumb a:contains('SMS Providers')",
            run: "click",
        },
        {
            trigger: ".o_data_row .o_data_cell:contains('Tour modem')",
        },
    ],
});
