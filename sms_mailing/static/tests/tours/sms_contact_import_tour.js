import { registry } from "@web/core/registry";

// A CSV as Excel saves it in France: ";" and national numbers.
const CSV = [
    "Nom;Portable;Remarque",
    "Marie Tour;06 12 34 56 78;vip",
    "Jean Tour;123;",
    "Marie bis;+33 6 12 34 56 78;",
    "Paul Tour;06 12 34 56 79;",
].join("\r\n");

/**
 * A sales manager imports a CSV into a list from the list form: detected
 * columns and first lines, a column corrected, the summary and the file of
 * refused lines. Started by sms_mailing/tests/test_contact_import.py.
 */
registry.category("web_tour.tours").add("sms_mailing_contact_import", {
    steps: () => [
        {
            content: "The list form is open",
            trigger: ".o_breadcrumb:contains('Fair 2026')",
        },
        {
            content: "Import contacts into this list",
            trigger: "button[name=action_import]",
            run: "click",
        },
        {
            content: "Choose the file",
            trigger: ".modal .o_field_widget[name=file] input[type=file]:not(:visible)",
            run() {
                const transfer = new DataTransfer();
                transfer.items.add(new File([CSV], "fair.csv", { type: "text/csv" }));
                this.anchor.files = transfer.files;
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "The file is uploaded",
            trigger: ".modal .o_field_widget[name=file] .o_clear_file_button",
        },
        {
            content: "Next: read the file",
            trigger: ".modal button[name=action_analyze]",
            run: "click",
        },
        {
            content: "The file is described: 4 lines",
            trigger: ".modal .o_field_widget[name=line_count]:contains('4')",
        },
        {
            content: "Portable is recognised as the mobile, with its first values",
            trigger:
                ".modal .o_data_row:has(td:contains('Portable')):has(td:contains('06 12 34 56 78')) td[name=field]:contains('Mobile')",
        },
        {
            content: "The preview gives the E.164 number of the first line",
            trigger: ".modal .o_sms_import_preview tr:contains('Marie Tour'):contains('+33612345678')",
        },
        {
            content: "... the reason of a refused line",
            trigger: ".modal .o_sms_import_preview tr:contains('Jean Tour'):contains('Invalid number: 123')",
        },
        {
            content: "... and the duplicate",
            trigger: ".modal .o_sms_import_preview tr:contains('Marie bis'):contains('Same number as line 2')",
        },
        {
            content: "Correct a column: Remarque was ignored, import it as the city",
            trigger: ".modal .o_data_row:has(td:contains('Remarque')) td[name=field]",
            run: "click",
        },
        {
            trigger: ".modal .o_data_row.o_selected_row td[name=field] select",
            run: "selectByLabel City",
        },
        {
            content: "The preview follows the mapping",
            trigger: ".modal .o_sms_import_preview th:contains('Remarque'):contains('City')",
        },
        {
            content: "Import",
            trigger: ".modal button[name=action_import]",
            run: "click",
        },
        {
            content: "The summary: 2 created",
            trigger: ".modal .o_field_widget[name=created_count]:contains('2')",
        },
        {
            trigger: ".modal .o_field_widget[name=invalid_count]:contains('1')",
        },
        {
            trigger: ".modal .o_field_widget[name=duplicate_count]:contains('1')",
        },
        {
            content: "The refused lines can be downloaded",
            trigger: ".modal .o_field_widget[name=refused_file]:contains('fair-refused.csv')",
        },
        {
            content: "Open the list",
            trigger: ".modal button[name=action_view_list]",
            run: "click",
        },
        {
            content: "The list's contacts include the imported ones",
            trigger: ".o_list_view .o_data_row:contains('Paul Tour')",
        },
    ],
});
