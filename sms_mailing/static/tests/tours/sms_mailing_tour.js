import { registry } from "@web/core/registry";

/**
 * A sales manager (not an administrator) creates a mailing: inserts fields
 * with the picker, follows the estimate live while choosing the audience,
 * previews it, launches it, follows the counters to Done and opens the graph
 * of deliveries. Started by sms_mailing/tests/test_ui_tours.py: the audience
 * group holds Ann Tour and Lucía Tour (France) and one contact who chose
 * "Do not use SMS"; the provider costs 0.05 EUR a part.
 */
registry.category("web_tour.tours").add("sms_mailing_campaign", {
    steps: () => [
        {
            content: "Create a mailing",
            trigger: ".o_control_panel button.o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour spring mailing",
        },
        {
            content: "Start the text",
            trigger: ".o_field_widget[name=body] textarea",
            run: "edit Hello",
        },
        {
            content: "The counter says it measures the text as written, the limit per part",
            trigger:
                ".o_field_widget[name=body] .o_sms_segment_info:contains('Text as written, macros not filled in: Characters: 5 · GSM-7 · Parts: 1 (160 characters per part)')",
        },
        {
            content: "The picker is a visible button next to the counter",
            trigger: ".o_field_widget[name=body] .o_sms_insert_field:contains('Insert a field')",
            run: "click",
        },
        {
            content: "A short list of the usual fields comes first, none technical",
            trigger:
                ".o_sms_field_picker:not(:contains('Color Index')):not(:contains('Self')) .o_sms_field_picker_common:contains('City')",
        },
        {
            content: "One click inserts the first name",
            trigger: ".o_sms_field_picker_common:contains('First name')",
            run: "click",
        },
        {
            content: "The macro is inserted with one space before it",
            trigger: ".o_field_widget[name=body] textarea:value(/^Hello \\{\\{ object\\.sms_first_name \\}\\}$/)",
        },
        {
            content: "Related fields too: the country's name",
            trigger: ".o_field_widget[name=body] .o_sms_insert_field",
            run: "click",
        },
        {
            content: "The other fields are behind More fields, with a search",
            trigger: ".o_sms_field_picker_more",
            run: "click",
        },
        {
            content: "Technical fields are not offered there either",
            trigger:
                ".o_model_field_selector_popover:not(:has([data-name=color])):not(:has([data-name=self])):not(:has([data-name=partner_latitude])):not(:has([data-name=activity_state])):not(:has([data-name=message_bounce])) .o_model_field_selector_popover_search input",
            run: "edit coun",
        },
        {
            content: "Searching 'coun' finds the country (and not the name)",
            trigger:
                ".o_model_field_selector_popover:not(:has([data-name=name])) .o_model_field_selector_popover_item[data-name=country_id] .o_model_field_selector_popover_item_relation",
            run: "click",
        },
        {
            content: "The picker shows the country's fields",
            trigger: ".o_model_field_selector_popover_title:contains('Country')",
        },
        {
            trigger:
                ".o_model_field_selector_popover_item[data-name=name] .o_model_field_selector_popover_item_name",
            run: "click",
        },
        {
            trigger:
                ".o_field_widget[name=body] textarea:value(/^Hello \\{\\{ object\\.sms_first_name \\}\\} \\{\\{ object\\.country_id\\.name \\}\\}$/)",
        },
        {
            content:
                "No opt-out line for this campaign (its link's length would put Lucía's text on the edge of a second part)",
            trigger: ".o_field_widget[name=optout_link] input:checked",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=optout_link] input:not(:checked)",
        },
        {
            content: "Nobody in the audience yet: no estimate",
            trigger: ".o_field_widget[name=recipient_estimate]:contains('0')",
        },
        {
            content: "Choose the audience",
            trigger: ".o_notebook .nav-link:contains('Audience')",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=group_ids] input",
            run: "edit Tour audience",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains('Tour audience')",
            run: "click",
        },
        {
            content: "The estimate follows the unsaved form: 2 of 3 (one opted out)",
            trigger: ".o_field_widget[name=recipient_estimate]:contains('2')",
        },
        {
            content: "Lucía's name makes her text UCS-2: counted from the real texts",
            trigger: ".o_field_widget[name=body_encoding]:contains('UCS-2')",
        },
        {
            trigger: ".o_field_widget[name=parts_estimate]:contains('2')",
        },
        {
            content: "Cost with the provider's currency",
            trigger: ".o_field_widget[name=cost_estimate]:contains('0.10'):contains('€')",
        },
        {
            trigger: ".o_notebook .nav-link:contains('Text')",
            run: "click",
        },
        {
            content: "Text as sent: the first recipient's text, macros filled in",
            trigger: "div[name=final_body_sample]:contains('Hello Ann France')",
        },
        {
            trigger: "div[name=final_body_sample_partner_id]:contains('Ann Tour')",
        },
        {
            content: "The estimate's cost is known",
            trigger: ".o_form_view:not(:has(.o_sms_cost_unknown)) .o_field_widget[name=cost_estimate]",
        },
        {
            content: "Check previews the text of a contact",
            trigger: ".o_form_view button[name=action_preview]",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name=body]:contains('Hello Ann France')",
        },
        {
            trigger: ".modal .o_field_widget[name=encoding]:contains('GSM-7')",
        },
        {
            trigger: ".modal .o_field_widget[name=cost]:contains('0.05'):contains('€')",
        },
        {
            trigger: ".modal .modal-footer button:contains('Close')",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Launch",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_launch]:visible",
            run: "click",
        },
        {
            content: "Confirm, once the launch checks passed",
            trigger: ".modal:contains('Launch this mailing?') .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The launch is confirmed with its figures",
            trigger:
                ".o_notification:contains('Mailing launched. Recipients: 2; parts: 2; cost:'):contains('0.10')",
        },
        {
            content: "The mailing runs to Done",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Done')",
        },
        {
            content: "Counters: recipients, excluded, sent, delivered, failed",
            trigger: "button[name=action_view_all] .o_stat_value:contains('2')",
        },
        {
            trigger: "button[name=action_view_excluded] .o_stat_value:contains('1')",
        },
        {
            trigger: ".o_sms_stat_sent .o_stat_value:contains('2 · 100%')",
        },
        {
            trigger: ".o_sms_stat_delivered .o_stat_value:contains('2 · 100%')",
        },
        {
            trigger: ".o_sms_stat_failed .o_stat_value:contains('0 · 0%')",
        },
        {
            trigger: ".o_field_widget[name=parts_planned]:contains('2')",
        },
        {
            trigger: ".o_field_widget[name=cost_total]:contains('0.10'):contains('€')",
        },
        {
            content: "The excluded contact is listed under its reason",
            trigger: ".o_notebook .nav-link:contains('Exclusions')",
            run: "click",
        },
        {
            trigger: ".o_sms_exclusions td:contains('Do not use SMS') + td:contains('1')",
        },
        {
            content: "The excluded contacts are contacts, with the tab's reason",
            trigger: ".o_notebook button[name=action_view_excluded]",
            run: "click",
        },
        {
            trigger:
                ".o_list_view .o_data_row:contains('Out Tour'):contains('Do not use SMS'):contains('+33612345603')",
        },
        {
            trigger: ".o_breadcrumb a:contains('Tour spring mailing')",
            run: "click",
        },
        {
            content: "Delivered opens the graph of deliveries",
            trigger: ".o_sms_stat_delivered",
            run: "click",
        },
        {
            trigger: ".o_breadcrumb .active:contains('Delivered')",
        },
        {
            trigger: ".o_graph_view .o_graph_renderer canvas",
        },
        {
            content: "As bars: one day of deliveries is a bar, not a dot on a line",
            trigger: ".o_graph_view .o_graph_button.active[data-mode=bar]",
        },
    ],
});
