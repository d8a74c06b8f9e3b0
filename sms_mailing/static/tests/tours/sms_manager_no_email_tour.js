import { registry } from "@web/core/registry";

const STOP_CSV = ["Numéro", "+33 6 12 34 00 01", "+33 6 12 34 00 02", "abc"].join("\r\n");

/**
 * An SMS Manager whose login is not an email address and who has no email:
 * sends a test of a draft mailing, cancels a scheduled one and imports
 * numbers into the blacklist. None of it needs an email address or the
 * administrator's rights. Started by sms_mailing/tests/test_ui_tours.py.
 */
registry.category("web_tour.tours").add("sms_mailing_manager_no_email", {
    steps: () => [
        {
            content: "Open the draft mailing",
            trigger: ".o_data_row td:contains('Tour draft mailing')",
            run: "click",
        },
        {
            content: "Send a test",
            trigger: ".o_form_view button[name=action_test]",
            run: "click",
        },
        {
            content: "Type the number",
            trigger: ".modal .o_field_widget[name=number] input",
            run: "edit +33 6 12 34 56 99",
        },
        {
            trigger: ".modal button[name=action_send]",
            run: "click",
        },
        {
            content: "The test is sent",
            trigger: ".o_notification:contains('Test SMS sent to +33612345699.')",
        },
        {
            content: "Back to the mailings",
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li.breadcrumb-item a",
            run: "click",
        },
        {
            content: "Open the scheduled mailing",
            trigger: ".o_data_row td:contains('Tour scheduled mailing')",
            run: "click",
        },
        {
            content: "Cancel it",
            trigger: ".o_form_view button[name=action_cancel]",
            run: "click",
        },
        {
            content: "Confirm",
            trigger: ".modal .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The mailing is canceled",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Canceled')",
        },
        {
            content: "The chatter says so",
            trigger: ".o-mail-Message:contains('Mailing canceled')",
        },
        {
            content: "SMS > Configuration",
            trigger: ".o_main_navbar button:contains('Configuration')",
            run: "click",
        },
        {
            trigger: ".dropdown-item:contains('Import Contacts')",
            run: "click",
        },
        {
            content: "Import into the blacklist",
            trigger: ".modal .o_field_widget[name=to_blacklist] input",
            run: "click",
        },
        {
            content: "Choose the file",
            trigger: ".modal .o_field_widget[name=file] input[type=file]:not(:visible)",
            run() {
                const transfer = new DataTransfer();
                transfer.items.add(new File([STOP_CSV], "stop.csv", { type: "text/csv" }));
                this.anchor.files = transfer.files;
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            trigger: ".modal .o_field_widget[name=file] .o_clear_file_button",
        },
        {
            trigger: ".modal button[name=action_analyze]",
            run: "click",
        },
        {
            trigger: ".modal button[name=action_import]",
            run: "click",
        },
        {
            content: "One number added to the blacklist",
            trigger: ".modal .o_field_widget[name=created_count]:contains('1')",
        },
        {
            content: "One already there",
            trigger: ".modal .o_field_widget[name=updated_count]:contains('1')",
        },
        {
            content: "One refused line",
            trigger: ".modal .o_field_widget[name=invalid_count]:contains('1')",
        },
    ],
});
