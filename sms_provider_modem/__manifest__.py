{
    "name": "SMS Provider: GSM Modem",
    "summary": "Send and receive SMS through a GSM modem on a serial port",
    "version": "18.0.1.1.0",
    "category": "Marketing/SMS",
    "website": "https://github.com/sms-mailing/sms-mailing",
    "author": "SMS Mailing Contributors",
    "license": "LGPL-3",
    "depends": ["sms_mailing"],
    "external_dependencies": {"python": ["pyserial"]},
    "data": [
        "views/sms_provider_views.xml",
    ],
    "installable": True,
}
