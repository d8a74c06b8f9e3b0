import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { formatMonetary } from "@web/views/fields/formatters";
import { TextField, textField } from "@web/views/fields/text/text_field";
import { onWillUnmount, useEffect, useState } from "@odoo/owl";

import { useSmsFieldPicker } from "./field_picker";
import { analyze } from "./segments";

// Wait this long after the last keystroke before committing the text to the
// record (which recomputes the server-side figures: cost, estimate).
const COMMIT_DELAY = 300;

/**
 * A text field that shows, under the textarea, what the SMS costs while it is
 * typed: characters, encoding, parts and what is left in the last part, with the
 * exact rules of sms_mailing/tools/segments.py (Odoo's `sms_widget` counts any
 * extension character as Unicode and a newline twice).
 *
 * Options:
 * - `max_parts_field`: an integer field holding the most parts the provider
 *   accepts; a longer text is refused inline at once, not at Send/Launch.
 * - `cost_field`: a monetary field, or a char field already formatted by the
 *   server, holding the cost of the record's text; it is
 *   shown next to the counter only when it was computed for the text on screen
 *   ("…" while the server recomputes it), so counter and cost always agree.
 *
 * - `counts_template`: the text holds macros (a mailing): the counter says
 *   that it measures the text as written, not the texts recipients get.
 *
 * - `dynamic_placeholder` (with `dynamic_placeholder_model_reference_field`):
 *   an "Insert a field" button opening Odoo's field picker on every contact
 *   field and related field (see field_picker.js).
 *
 * The typed text is committed to the record shortly after each pause in typing
 * (the usual "change" event of the textarea), so the server-side figures follow.
 */
export class SmsSegmentTextField extends TextField {
    static template = "sms_mailing.SmsSegmentTextField";
    static props = {
        ...TextField.props,
        maxPartsField: { type: String, optional: true },
        costField: { type: String, optional: true },
        fieldPicker: { type: Boolean, optional: true },
        fieldPickerModelField: { type: String, optional: true },
        countsTemplate: { type: Boolean, optional: true },
    };

    setup() {
        super.setup();
        // Text typed but not yet committed, and the record value it was typed over.
        this.typed = useState({ text: null, over: null });
        if (this.props.fieldPicker) {
            this.fieldPicker = useSmsFieldPicker(this.textareaRef);
        }
        let timer = null;
        onWillUnmount(() => clearTimeout(timer));
        useEffect(
            (textarea) => {
                if (!textarea) {
                    return;
                }
                const onInput = () => {
                    this.typed.over = this.recordText;
                    this.typed.text = textarea.value;
                    clearTimeout(timer);
                    timer = setTimeout(() => {
                        if (textarea.isConnected) {
                            textarea.dispatchEvent(new Event("change"));
                        }
                    }, COMMIT_DELAY);
                };
                textarea.addEventListener("input", onInput);
                return () => textarea.removeEventListener("input", onInput);
            },
            () => [this.textareaRef.el]
        );
    }

    /** The "Insert a field" button: Odoo's field picker, on contact fields. */
    onInsertField() {
        const textarea = this.textareaRef.el;
        const data = this.props.record.data;
        const model = data[this.props.fieldPickerModelField] || "res.partner";
        const caret = textarea ? textarea.selectionEnd : 0;
        this.fieldPicker.open(model, caret);
    }

    get recordText() {
        return this.props.record.data[this.props.name] || "";
    }

    /** Whether the text on screen is the one the record (and its cost) holds. */
    get isSynced() {
        const { text, over } = this.typed;
        return text === null || over !== this.recordText || text === this.recordText;
    }

    /** What the counter measures: the typed text until the record changes. */
    get smsText() {
        const { text, over } = this.typed;
        return text !== null && over === this.recordText ? text : this.recordText;
    }

    get segments() {
        return analyze(this.smsText);
    }

    get maxParts() {
        const field = this.props.maxPartsField;
        return (field && this.props.record.data[field]) || 0;
    }

    /** The sentence refusing a text of `info.parts` parts, or "". */
    tooLongText(info) {
        const max = this.maxParts;
        if (!max || info.parts <= max) {
            return "";
        }
        return _t(
            "Too long: this text takes %(parts)s SMS parts and the provider accepts at most %(max)s. Shorten it.",
            { parts: info.parts, max }
        );
    }

    /** "Cost: 0,80 €", "Cost: …" while recomputed, or "" without a cost field. */
    get costText() {
        const field = this.props.costField;
        if (!field) {
            return "";
        }
        if (!this.isSynced) {
            return _t("Cost: %s", "…");
        }
        const record = this.props.record;
        const value = record.data[field];
        // A char field without value reads "" here, a monetary one false.
        if (!this.recordText || [false, undefined, ""].includes(value)) {
            return "";
        }
        const fieldDef = record.fields[field];
        const text =
            fieldDef.type === "monetary"
                ? formatMonetary(value, { data: record.data, field: fieldDef })
                : value;
        return _t("Cost: %s", text);
    }

    /**
     * @param {ReturnType<analyze>} info
     * @returns {string} "Characters: 170 · GSM-7 · Parts: 2 (153 per part) ·
     *  Left in this part: 136" (phrased without plurals, for every language)
     */
    formatSegments(info) {
        const pieces = [_t("Characters: %s", info.chars), info.encoding];
        // The limit is of characters in one part (160 GSM-7, 153 each of
        // several), never of parts.
        pieces.push(
            _t("Parts: %(parts)s (%(limit)s characters per part)", {
                parts: info.parts,
                limit: info.partLimit,
            })
        );
        if (info.parts) {
            pieces.push(_t("Left in this part: %s", info.remaining));
        }
        const figures = pieces.join(" · ");
        if (this.props.countsTemplate) {
            // A mailing's text has macros: the counter measures the text as
            // typed, the estimate beside it the texts recipients get.
            return _t("Text as written, macros not filled in: %(figures)s", {
                figures,
            });
        }
        return figures;
    }
}

export const smsSegmentTextField = {
    ...textField,
    component: SmsSegmentTextField,
    displayName: _t("SMS text with segment counter"),
    supportedTypes: ["text", "char"],
    additionalClasses: [...(textField.additionalClasses || []), "o_field_text"],
    supportedOptions: [
        ...(textField.supportedOptions || []),
        {
            label: _t("Field holding the maximum parts"),
            name: "max_parts_field",
            type: "string",
        },
        { label: _t("Field holding the cost"), name: "cost_field", type: "string" },
        {
            label: _t("The text holds macros (the counter says so)"),
            name: "counts_template",
            type: "boolean",
        },
    ],
    extractProps: (fieldInfo, dynamicInfo) => ({
        ...textField.extractProps(fieldInfo, dynamicInfo),
        // Our own picker replaces Odoo's (and its "#" shortcut: "#" is text here).
        dynamicPlaceholder: false,
        fieldPicker: Boolean(fieldInfo.options.dynamic_placeholder),
        fieldPickerModelField:
            fieldInfo.options.dynamic_placeholder_model_reference_field || "",
        maxPartsField: fieldInfo.options.max_parts_field,
        costField: fieldInfo.options.cost_field,
        countsTemplate: Boolean(fieldInfo.options.counts_template),
    }),
};

registry.category("fields").add("sms_segment_text", smsSegmentTextField);
