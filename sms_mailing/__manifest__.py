{
    "name": "SMS Mailing",
    "summary": "SMS campaigns, SMS from the contact card, pluggable SMS providers",
    "version": "18.0.1.0.0",
    "category": "Marketing/SMS",
    "website": "https://github.com/sms-mailing/sms-mailing",
    "author": "SMS Mailing Contributors",
    "license": "LGPL-3",
    "depends": ["sms", "contacts", "phone_validation"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "security/sms_mailing_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/sms_provider_views.xml",
        "views/sms_mailing_views.xml",
        "views/sms_sms_views.xml",
        "views/sms_inbound_views.xml",
        "views/sms_conversation_views.xml",
        "views/res_partner_views.xml",
        "wizard/sms_partner_send_views.xml",
        "wizard/sms_mailing_wizard_views.xml",
        "views/sms_mailing_menus.xml",
    ],
    "demo": [
        "demo/sms_provider_demo.xml",
        "demo/sms_mailing_demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "sms_mailing/static/src/components/sms_segment_text/*",
        ],
        "web.assets_tests": [
            "sms_mailing/static/tests/tours/*.js",
        ],
    },
    "installable": True,
    "application": True,
}
