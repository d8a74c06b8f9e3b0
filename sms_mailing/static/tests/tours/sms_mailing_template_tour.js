import { registry } from "@web/core/registry";

// A mailing written from a saved template, with tracked links: the text as
// sent (short link, opt-out line) is shown before launch.
registry.category("web_tour.tours").add("sms_mailing_template_links", {
    steps: () => [
        {
            content: "Name the mailing",
            trigger: ".o_field_widget[name='name'] input",
            run: "edit Tour mailing",
        },
        {
            content: "Pick the template",
            trigger: "div[name='template_id'] input",
            run: "edit Spring template",
        },
        {
            content: "Choose it in the list",
            trigger: ".ui-autocomplete a:contains('Spring template')",
            run: "click",
        },
        {
            content: "The template's text is the mailing's",
            trigger:
                "div[name='body'] textarea:value('Hi {{ object.name }}: https://shop.example/tour')",
        },
        {
            content: "Track links",
            trigger: "div[name='link_tracking'] input",
            run: "click",
        },
        {
            content: "The text as sent has a short link and the opt-out line",
            trigger:
                "div[name='final_body_sample']:contains('/r/xxx/s/'):contains('STOP: ')",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_saved",
        },
    ],
});
