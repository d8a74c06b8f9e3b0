from . import sms_partner_send
from . import sms_mailing_preview
from . import sms_mailing_test
from . import sms_composer
from . import sms_mailing_list_add
