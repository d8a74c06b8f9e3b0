from . import sms_partner_send
