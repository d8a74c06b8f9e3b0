import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";

/**
 * An administrator adds an SMPP provider: fills the account of the local SMSC
 * (its port, chosen by the test, is read from the system parameter
 * sms_provider_smpp.tour_smsc_port), sees how the sender goes to the SMSC,
 * saves, and checks availability: the form shows the bind and enquire_link
 * times. Started by sms_provider_smpp/tests/test_smpp_tour.py.
 */
registry.category("web_tour.tours").add("sms_provider_smpp_tour", {
    steps: () => [
        {
            content: "Add a provider",
            trigger: ".o_control_panel button.o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=name] input",
            run: "edit Tour SMPP",
        },
        {
            trigger: ".o_field_widget[name=provider_type] select",
            run: 'select "smpp"',
        },
        {
            content: "The sender is the provider's own",
            trigger: ".o_field_widget[name=sender] input",
            run: "edit TourShop",
        },
        {
            trigger: ".o_notebook .nav-link:contains('SMPP')",
            run: "click",
        },
        {
            content: "SMPP's usual port is proposed",
            trigger: ".o_field_widget[name=smpp_port] input:value(2775)",
        },
        {
            content: "The sender goes as an alphanumeric name",
            trigger: ".o_field_widget[name=smpp_source_summary]:contains('TourShop (TON 5, NPI 0)')",
        },
        {
            trigger: ".o_field_widget[name=smpp_host] input",
            run: "edit 127.0.0.1",
        },
        {
            content: "The port of the local SMSC",
            trigger: ".o_field_widget[name=smpp_port] input",
            async run(helpers) {
                const port = await rpc("/web/dataset/call_kw/ir.config_parameter/get_param", {
                    model: "ir.config_parameter",
                    method: "get_param",
                    args: ["sms_provider_smpp.tour_smsc_port"],
                    kwargs: {},
                });
                await helpers.edit(String(port));
            },
        },
        {
            trigger: ".o_field_widget[name=smpp_system_id] input",
            run: "edit tour",
        },
        {
            trigger: ".o_field_widget[name=smpp_password] input",
            run: "edit tourpw",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
        {
            content: "Check availability",
            trigger: "button[name=action_check_availability]",
            run: "click",
        },
        {
            content: "The SMSC answered: bind and enquire_link times are shown",
            trigger:
                ".o_field_widget[name=last_check_message]:contains('as tour in'):contains('enquire_link answered in')",
        },
        {
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Available')",
        },
    ],
});
