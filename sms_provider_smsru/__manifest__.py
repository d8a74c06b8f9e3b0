{
    "name": "SMS Provider: SMS.ru",
    "summary": "Send SMS through the SMS.ru HTTP API",
    "version": "18.0.1.0.0",
    "category": "Marketing/SMS",
    "website": "https://github.com/sms-mailing/sms-mailing",
    "author": "SMS Mailing Contributors",
    "license": "LGPL-3",
    "depends": ["sms_mailing"],
    "external_dependencies": {"python": ["requests"]},
    "data": ["views/sms_provider_views.xml"],
    "installable": True,
}
