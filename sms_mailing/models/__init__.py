from . import mail_notification
from . import res_partner
from . import sms_provider
from . import sms_mailing_group
from . import sms_mailing
from . import sms_sms
from . import sms_inbound
from . import sms_conversation
