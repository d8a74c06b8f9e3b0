import { registry } from "@web/core/registry";

// Run by sms_mailing/tests/test_ui_ru.py with the admin speaking Russian: the
// mailing form and the contact's send dialog show Russian labels, the live
// counter's JavaScript strings in Russian and the cost the Russian way
// (space between thousands, decimal comma, the ruble's symbol "руб" after the
// amount; :contains() reads the non-breaking space as a space, test_ui_ru.py
// checks the exact characters of the dialog's cost).

registry.category("web_tour.tours").add("sms_mailing_ru_mailing_form", {
    steps: () => [
        { trigger: ".o_statusbar_buttons button:contains('Запустить рассылку')" },
        { trigger: "button[name=action_check_balance]:contains('Проверка баланса')" },
        { trigger: "button[name=action_check_availability]:contains('Проверка доступности сервера')" },
        { trigger: ".o_statusbar_status button:contains('Черновик')" },
        {
            content: "The whole status bar fits beside the buttons: Done is not folded into '...'",
            trigger: ".o_statusbar_status button:contains('Завершено'):visible",
        },
        { trigger: ".o_form_label:contains('Тип запуска')" },
        { trigger: ".o_field_widget[name=launch_type] label:contains('Мгновенный')" },
        { trigger: ".o_field_widget[name=launch_type] label:contains('Отложенный')" },
        { trigger: ".o_form_label:contains('Всего частей')" },
        { trigger: ".o_field_widget[name=parts_estimate]:contains('2')" },
        {
            content: "Two recipients, one UCS-2 part each at 617.25: the Russian way",
            trigger: ".o_field_widget[name=cost_estimate]:contains('1 234,50 руб')",
        },
        { trigger: ".o_notebook .nav-link:contains('Текст сообщения')" },
        {
            content: "The counter says it counts the text as written, the limit is of characters per part",
            trigger:
                ".o_sms_segment_counter:contains('Текст до подстановки макросов: Символов: 32 · UCS-2 · Частей: 1 (символов в части: 70) · Осталось в этой части: 38')",
        },
    ],
});

registry.category("web_tour.tours").add("sms_mailing_ru_send_dialog", {
    steps: () => [
        {
            content: "Open the send dialog from the contact card",
            trigger: ".o_form_view button[name=action_open_sms_send]",
            run: "click",
        },
        { trigger: ".modal .modal-title:contains('Отправить SMS: Иван Петров')" },
        { trigger: ".modal .o_form_label:contains('Номер в международном формате')" },
        { trigger: ".modal .o_form_label:contains('Оператор')" },
        {
            trigger:
                ".modal .o_sms_segment_counter:contains('Символов: 0 · GSM-7 · Частей: 0 (символов в части: 160)')",
        },
        {
            trigger: ".modal .o_field_widget[name=body] textarea",
            run: "edit Добрый день!",
        },
        {
            content: "The counter follows the typing, in Russian",
            trigger:
                ".modal .o_sms_segment_counter:contains('Символов: 12 · UCS-2 · Частей: 1 (символов в части: 70) · Осталось в этой части: 58')",
        },
        {
            content: "The server's cost follows the typing, the Russian way",
            trigger:
                ".modal .o_sms_segment_cost[data-synced='1']:contains('Стоимость SMS: 617,25 руб')",
        },
        { trigger: ".modal .modal-footer button:contains('Отправить')" },
        {
            trigger: ".modal .modal-footer button:contains('Отмена')",
            run: "click",
        },
        { trigger: "body:not(:has(.modal))" },
    ],
});
