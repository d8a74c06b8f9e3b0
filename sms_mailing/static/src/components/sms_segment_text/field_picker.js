import { usePopover } from "@web/core/popover/popover_hook";
import { DynamicPlaceholderPopover } from "@web/views/fields/dynamic_placeholder_popover";

// Field types a macro can print; relations are followed to their own fields.
const PRINTABLE = new Set([
    "char",
    "text",
    "integer",
    "float",
    "monetary",
    "date",
    "datetime",
    "selection",
    "many2one",
]);
const TECHNICAL = /^(id|message_|activity_|website_message|__|create_uid|write_uid|write_date)/;

/**
 * Odoo's field picker, offering every contact field and related field a user
 * who can write a mailing can read (Odoo's own one restricts non template
 * editors to a short allow-list, meant for mail templates; our macros are
 * rendered with the user's rights by sms.mailing). Picking a field inserts
 * `{{ object.path }}` at once, with no extra space, without the default-value
 * step (a macro with a default would leave our simple renderer).
 */
export class SmsFieldPickerPopover extends DynamicPlaceholderPopover {
    filter(fieldDef, path) {
        return PRINTABLE.has(fieldDef.type) && !TECHNICAL.test(fieldDef.name);
    }

    closeFieldSelector(isPathSelected = false) {
        if (isPathSelected) {
            this.validate();
            return;
        }
        this.props.close();
    }
}

/**
 * Opens the picker for `resModel` and inserts the macro in the textarea at the
 * caret, separated by one space from the word before (never two).
 *
 * @param {{el: HTMLTextAreaElement}} textareaRef
 */
export function useSmsFieldPicker(textareaRef) {
    const popover = usePopover(SmsFieldPickerPopover, {
        onClose: () => textareaRef.el?.focus(),
    });

    function insert(path, caret) {
        const textarea = textareaRef.el;
        if (!path || !textarea) {
            return;
        }
        const value = textarea.value;
        const before = value.slice(0, caret);
        const after = value.slice(caret);
        const macro = `{{ object.${path} }}`;
        const lead = before && !/\s$/.test(before) ? " " : "";
        const trail = after && !/^[\s.,;:!?)]/.test(after) ? " " : "";
        textarea.value = before + lead + macro + trail + after;
        const end = (before + lead + macro).length;
        textarea.setSelectionRange(end, end);
        // Let the field (and the counter) see the change, then commit it.
        textarea.dispatchEvent(new InputEvent("input"));
        textarea.dispatchEvent(new Event("change"));
    }

    return {
        /**
         * @param {string} resModel
         * @param {number} caret where to insert
         */
        open(resModel, caret) {
            popover.open(textareaRef.el, {
                resModel,
                validate: (path) => insert(path, caret),
            });
        },
    };
}
