from . import sms_provider
