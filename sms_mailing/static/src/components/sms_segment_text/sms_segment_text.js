import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { TextField, textField } from "@web/views/fields/text/text_field";
import { useEffect, useState } from "@odoo/owl";

import { analyze } from "./segments";

/**
 * A text field that shows, under the textarea, what the SMS costs while it is
 * typed: characters, encoding, parts and what is left in the last part, with the
 * exact rules of sms_mailing/tools/segments.py (Odoo's `sms_widget` counts any
 * extension character as Unicode and a newline twice).
 *
 * The record is only written by TextField's usual commit (blur, save); the
 * counter follows the textarea on each input through a local state.
 */
export class SmsSegmentTextField extends TextField {
    static template = "sms_mailing.SmsSegmentTextField";

    setup() {
        super.setup();
        // Text typed but not yet committed, and the record value it was typed over.
        this.typed = useState({ text: null, over: null });
        useEffect(
            (textarea) => {
                if (!textarea) {
                    return;
                }
                const onInput = () => {
                    this.typed.over = this.recordText;
                    this.typed.text = textarea.value;
                };
                textarea.addEventListener("input", onInput);
                return () => textarea.removeEventListener("input", onInput);
            },
            () => [this.textareaRef.el]
        );
    }

    get recordText() {
        return this.props.record.data[this.props.name] || "";
    }

    /** What the counter measures: the typed text until the record changes. */
    get smsText() {
        const { text, over } = this.typed;
        return text !== null && over === this.recordText ? text : this.recordText;
    }

    get segments() {
        return analyze(this.smsText);
    }

    /**
     * @param {ReturnType<analyze>} info
     * @returns {string} "N characters · GSM-7 · 2 parts (153 per part) · 12 left
     *  in this part"
     */
    formatSegments(info) {
        const pieces = [
            info.chars === 1 ? _t("1 character") : _t("%s characters", info.chars),
            info.encoding,
        ];
        if (!info.parts) {
            pieces.push(_t("0 parts"));
        } else if (info.parts === 1) {
            pieces.push(_t("1 part (up to %s)", info.partLimit));
        } else {
            pieces.push(
                _t("%(parts)s parts (%(limit)s per part)", {
                    parts: info.parts,
                    limit: info.partLimit,
                })
            );
        }
        if (info.parts) {
            pieces.push(_t("%s left in this part", info.remaining));
        }
        return pieces.join(" · ");
    }
}

export const smsSegmentTextField = {
    ...textField,
    component: SmsSegmentTextField,
    displayName: _t("SMS text with segment counter"),
    supportedTypes: ["text", "char"],
    additionalClasses: [...(textField.additionalClasses || []), "o_field_text"],
};

registry.category("fields").add("sms_segment_text", smsSegmentTextField);
