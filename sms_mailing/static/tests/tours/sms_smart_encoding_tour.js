import { registry } from "@web/core/registry";

// A sales manager ticks Smart encoding on a French mailing: the form says what
// it saves before launch and shows the text as sent.
registry.category("web_tour.tours").add("sms_mailing_smart_encoding", {
    steps: () => [
        {
            content: "Typographic apostrophes, « » and … make the text UCS-2: 3 parts",
            trigger: ".o_field_widget[name=body_parts]:contains('3')",
        },
        { trigger: ".o_field_widget[name=body_encoding]:contains('UCS-2')" },
        { trigger: ".o_field_widget[name=cost_estimate]:contains('0.30')" },
        {
            content: "Tick Smart encoding",
            trigger: "div[name='smart_encoding'] input",
            run: "click",
        },
        {
            content: "What it saves, before launch",
            trigger:
                ".o_sms_smart_saving:contains('3 parts → 2 parts per message; cost 0.30 € → 0.20 €')",
        },
        { trigger: ".o_field_widget[name=body_parts]:contains('2')" },
        { trigger: ".o_field_widget[name=body_encoding]:contains('GSM-7')" },
        {
            content: "The text as sent has plain quotes, dashes and dots; é and à stay",
            trigger:
                "div[name='final_body_sample']:contains(\"l'équipe vous attend\"):contains('\"Plage\"'):contains('dimanche...')",
        },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved" },
    ],
});

// The same form in Russian: the figures the Russian way, a Russian text unchanged.
registry.category("web_tour.tours").add("sms_mailing_ru_smart_encoding", {
    steps: () => [
        { trigger: ".o_form_label:contains('Всего частей')" },
        { trigger: ".o_field_widget[name=body_parts]:contains('3')" },
        {
            content: "Tick Smart encoding",
            trigger: "div[name='smart_encoding'] input",
            run: "click",
        },
        {
            content: "3 parts to 2, the costs written the Russian way (decimal comma)",
            trigger: ".o_sms_smart_saving:contains('3'):contains('2'):contains('0,30'):contains('0,20')",
        },
        { trigger: ".o_field_widget[name=body_parts]:contains('2')" },
        {
            content: "A Russian text with « » and a dash is sent as written",
            trigger: "div[name='body'] textarea",
            run: "edit Здравствуйте! Скидка «20 %» – только сегодня…",
        },
        {
            trigger:
                "div[name='final_body_sample']:contains('Здравствуйте! Скидка «20 %» – только сегодня…')",
        },
        { trigger: ".o_field_widget[name=body_encoding]:contains('UCS-2')" },
        { trigger: ".o_field_widget[name=body_parts]:contains('1')" },
        { trigger: ".o_form_button_save", run: "click" },
        { trigger: ".o_form_saved" },
    ],
});
