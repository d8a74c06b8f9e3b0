import { _t } from "@web/core/l10n/translation";
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
// Technical fields, never put in a text: by prefix, and by name.
const TECHNICAL = /^(id$|message_|activity_|my_activity_|website_message|__|create_uid$|write_uid$|write_date$|signup_|avatar_|image_|partner_latitude$|partner_longitude$)/;
const TECHNICAL_NAMES = new Set([
    "active_lang_count",
    "additional_info",
    "barcode",
    "calendar_last_notif_ack",
    "color",
    "commercial_partner_id",
    "company_registry_label",
    "contact_address_inline",
    "duplicated_bank_account_partners_count",
    "email_formatted",
    "email_normalized",
    "im_status",
    "is_blacklisted",
    "mobile_blacklisted",
    "ocn_token",
    "partner_gid",
    "partner_share",
    "phone_blacklisted",
    "phone_mobile_search",
    "phone_sanitized",
    "phone_sanitized_blacklisted",
    "same_company_registry_partner_id",
    "same_vat_partner_id",
    "self",
    "sms_count",
    "sms_exclusion_reason",
    "type_address_label",
    "tz_offset",
    "vat_label",
]);

/**
 * The fields a sales manager puts in a text, offered first (the rest, with a
 * search, behind "More fields"): `[path, label]` per model.
 */
export const COMMON_FIELDS = {
    "res.partner": () => [
        ["sms_first_name", _t("First name")],
        ["sms_last_name", _t("Last name")],
        ["name", _t("Full name")],
        ["commercial_company_name", _t("Company")],
        ["function", _t("Job position")],
        ["city", _t("City")],
        ["country_id.name", _t("Country")],
        ["mobile", _t("Mobile")],
        ["email", _t("Email")],
    ],
};

/**
 * Odoo's field picker, offering every contact field and related field a user
 * who can write a mailing can read (Odoo's own one restricts non template
 * editors to a short allow-list, meant for mail templates; our macros are
 * rendered with the user's rights by sms.mailing). Picking a field inserts
 * `{{ object.path }}` at once, with no extra space, without the default-value
 * step (a macro with a default would leave our simple renderer).
 */
export class SmsFieldPickerPopover extends DynamicPlaceholderPopover {
    static template = "sms_mailing.SmsFieldPickerPopover";

    setup() {
        super.setup();
        const common = COMMON_FIELDS[this.props.resModel];
        this.commonFields = common ? common() : [];
        this.state.more = !this.commonFields.length;
    }

    /** A field of the short list: inserted at once. */
    pick(path) {
        this.state.path = path;
        this.validate();
    }

    showMore() {
        this.state.more = true;
    }

    filter(fieldDef, path) {
        return (
            PRINTABLE.has(fieldDef.type) &&
            !TECHNICAL.test(fieldDef.name) &&
            !TECHNICAL_NAMES.has(fieldDef.name)
        );
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
