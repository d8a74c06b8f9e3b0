import { patch } from "@web/core/utils/patch";
import { SendSMSButton } from "@sms/components/sms_button/sms_button";
import { status } from "@odoo/owl";

/**
 * The SMS button next to a contact's phone or mobile opens our send dialog
 * (live counter, cost, provider, opt-out warning), the same one as the card's
 * SMS button, instead of Odoo's composer. Other models keep Odoo's composer.
 */
patch(SendSMSButton.prototype, {
    async onClick() {
        const record = this.props.record;
        if (record.resModel !== "res.partner") {
            return super.onClick(...arguments);
        }
        await record.save();
        const action = await this.env.services.orm.call(
            "res.partner",
            "action_open_sms_send",
            [[record.resId]],
            { context: { sms_number: record.data[this.props.name] } }
        );
        await this.action.doAction(action, {
            onClose: () => {
                if (status(this) !== "destroyed") {
                    record.load();
                }
            },
        });
    },
});
