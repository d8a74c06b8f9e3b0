{
    "name": "SMS Provider: SMPP",
    "summary": "Send and receive SMS through any SMSC or SMS gateway over SMPP 3.4",
    "version": "18.0.1.0.0",
    "category": "Marketing/SMS",
    "website": "https://github.com/sms-mailing/sms-mailing",
    "author": "SMS Mailing Contributors",
    "license": "LGPL-3",
    "depends": ["sms_mailing"],
    "external_dependencies": {"python": ["smpplib"]},
    "data": [
        "security/ir.model.access.csv",
        "views/sms_provider_views.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "sms_provider_smpp/static/tests/tours/*.js",
        ],
    },
    "installable": True,
}
